//! Times as people read them: in the viewer's time zone, with UTC a hover away.

use chrono::{DateTime, Local, NaiveDate, NaiveTime, TimeZone, Utc};

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

/// An RFC 3339 time in the viewer's zone to the minute (a filter's chip);
/// anything else as it is.
pub fn short(value: &str) -> String {
    DateTime::parse_from_rfc3339(value)
        .map(|at| at.with_timezone(&Local).format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|_| value.to_owned())
}

/// A date input's value (`2026-11-25`) and an optional time input's
/// (`11:15`), read in `tz`, as the RFC 3339 UTC time the API takes; empty
/// when both are. A date alone is the start of that day, or for the end of
/// a range (`end`) the start of the next, so the range holds the whole day.
pub fn from_date_time<Tz: TimeZone>(
    date: &str,
    time: &str,
    tz: &Tz,
    end: bool,
) -> Result<String, &'static str> {
    let (date, time) = (date.trim(), time.trim());
    if date.is_empty() {
        return if time.is_empty() { Ok(String::new()) } else { Err("Pick a date for this time.") };
    }
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| "Not a date.")?;
    let naive = if time.is_empty() {
        let start = day.and_time(NaiveTime::MIN);
        if end { start + chrono::Duration::days(1) } else { start }
    } else {
        let at = NaiveTime::parse_from_str(time, "%H:%M")
            .or_else(|_| NaiveTime::parse_from_str(time, "%H:%M:%S"))
            .map_err(|_| "Not a time.")?;
        day.and_time(at)
    };
    let at = tz.from_local_datetime(&naive).earliest().ok_or("That time does not exist here.")?;
    Ok(at.with_timezone(&Utc).format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// The reverse of [`from_date_time`]: an RFC 3339 time as the `(date,
/// time)` inputs' values in `tz`. Midnight shows as the date alone (for an
/// `end`, the day before), as a date alone was typed; anything that is not
/// a time shows as empty inputs.
pub fn to_date_time<Tz: TimeZone>(value: &str, tz: &Tz, end: bool) -> (String, String)
where
    Tz::Offset: std::fmt::Display,
{
    let Ok(at) = DateTime::parse_from_rfc3339(value) else {
        return (String::new(), String::new());
    };
    let local = at.with_timezone(tz).naive_local();
    if local.time() == NaiveTime::MIN {
        let day = if end { local.date() - chrono::Duration::days(1) } else { local.date() };
        return (day.format("%Y-%m-%d").to_string(), String::new());
    }
    (local.format("%Y-%m-%d").to_string(), local.format("%H:%M").to_string())
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
    fn dates_and_times_round_trip_through_utc() {
        let tz = berlin_winter();
        let from = |date, time| from_date_time(date, time, &tz, false);
        assert_eq!(from("2026-11-25", "11:15").as_deref(), Ok("2026-11-25T10:15:00Z"));
        assert_eq!(
            to_date_time("2026-11-25T10:15:00Z", &tz, false),
            ("2026-11-25".into(), "11:15".into())
        );
        assert_eq!(from("", ""), Ok(String::new()));
        assert_eq!(to_date_time("nonsense", &tz, false), (String::new(), String::new()));
    }

    #[test]
    fn a_date_alone_is_a_whole_day() {
        let tz = berlin_winter();
        // From the start of the day; until (exclusive) the start of the next.
        assert_eq!(
            from_date_time("2026-11-25", "", &tz, false).as_deref(),
            Ok("2026-11-24T23:00:00Z")
        );
        assert_eq!(
            from_date_time("2026-11-25", "", &tz, true).as_deref(),
            Ok("2026-11-25T23:00:00Z")
        );
        // And shows again as the date alone.
        assert_eq!(
            to_date_time("2026-11-24T23:00:00Z", &tz, false),
            ("2026-11-25".into(), String::new())
        );
        assert_eq!(
            to_date_time("2026-11-25T23:00:00Z", &tz, true),
            ("2026-11-25".into(), String::new())
        );
    }

    #[test]
    fn what_is_not_a_date_or_a_time_is_named() {
        let tz = berlin_winter();
        assert_eq!(from_date_time("", "10:00", &tz, false), Err("Pick a date for this time."));
        assert_eq!(from_date_time("yesterday", "", &tz, false), Err("Not a date."));
        assert_eq!(from_date_time("2026-11-25", "noon", &tz, false), Err("Not a time."));
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
