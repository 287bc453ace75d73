//! Times as people read them: in the viewer's time zone, with UTC a hover away.

use chrono::{DateTime, Local, NaiveDateTime, TimeZone, Utc};

/// `2026-11-25 11:15:00` in `tz`.
pub fn format_in<Tz: TimeZone>(at: DateTime<Utc>, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    at.with_timezone(tz).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `at` in the viewer's time zone.
pub fn local(at: DateTime<Utc>) -> String {
    format_in(at, &Local)
}

/// `at` in UTC, for a `title` attribute.
pub fn utc(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A `datetime-local` input's value (`2026-11-25T11:15`, in `tz`) as the
/// RFC 3339 UTC time the API takes; `None` when it is not one.
pub fn from_input<Tz: TimeZone>(value: &str, tz: &Tz) -> Option<String> {
    let naive = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    let at = tz.from_local_datetime(&naive).earliest()?;
    Some(at.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// The reverse of [`from_input`]: an RFC 3339 time as a `datetime-local` value in `tz`.
pub fn to_input<Tz: TimeZone>(value: &str, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    DateTime::parse_from_rfc3339(value)
        .map(|at| at.with_timezone(tz).format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

/// A span of seconds as `4 min 05 s`, `1 h 02 min`, `12 s`.
pub fn span(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {s:02} s")
    } else {
        format!("{s} s")
    }
}

/// A duration in milliseconds as `840 ms` or `2.4 s`.
pub fn millis(ms: i64) -> String {
    if ms < 1000 { format!("{ms} ms") } else { format!("{:.1} s", ms as f64 / 1000.0) }
}

#[cfg(test)]
mod tests {
    use chrono::FixedOffset;

    use super::*;

    fn berlin_winter() -> FixedOffset {
        FixedOffset::east_opt(3600).expect("an offset")
    }

    #[test]
    fn times_show_in_the_zone_given() {
        let at = DateTime::parse_from_rfc3339("2026-11-25T10:15:00Z").expect("a time").to_utc();
        assert_eq!(format_in(at, &berlin_winter()), "2026-11-25 11:15:00");
        assert_eq!(utc(at), "2026-11-25 10:15:00 UTC");
    }

    #[test]
    fn inputs_round_trip_through_utc() {
        let tz = berlin_winter();
        assert_eq!(from_input("2026-11-25T11:15", &tz).as_deref(), Some("2026-11-25T10:15:00Z"));
        assert_eq!(to_input("2026-11-25T10:15:00Z", &tz), "2026-11-25T11:15");
        assert_eq!(from_input("yesterday", &tz), None);
        assert_eq!(to_input("nonsense", &tz), "");
    }

    #[test]
    fn spans_read_naturally() {
        assert_eq!(span(-3), "0 s");
        assert_eq!(span(12), "12 s");
        assert_eq!(span(245), "4 min 05 s");
        assert_eq!(span(3720), "1 h 02 min");
        assert_eq!(millis(840), "840 ms");
        assert_eq!(millis(2400), "2.4 s");
    }
}
