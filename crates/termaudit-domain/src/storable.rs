//! What termaudit can keep, whichever field a value arrives in: text without
//! U+0000 (PostgreSQL's `text` cannot hold it) and times within the range
//! PostgreSQL's `timestamptz` holds. Every text and time taken from a request
//! passes here, so that such input is a 400 naming the field, never a
//! database error.

use chrono::{DateTime, Utc};

use crate::DomainError;

/// Text that can be stored: any characters but U+0000.
pub fn check_text(field: &str, value: &str) -> Result<(), DomainError> {
    if value.contains('\0') {
        return Err(DomainError::invalid(field, "must not contain U+0000 (a NUL character)"));
    }
    Ok(())
}

/// [`check_text`] for an optional value.
pub fn check_optional_text(field: &str, value: Option<&str>) -> Result<(), DomainError> {
    value.map_or(Ok(()), |v| check_text(field, v))
}

/// The span of times a field accepts. [`TimeBounds::STORABLE`] is what
/// PostgreSQL can hold; rules that know more (how far an event time may lie
/// from `now`, say) narrow it with [`TimeBounds::within`] and check against
/// the result, so every time field keeps one check and one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeBounds {
    pub earliest: DateTime<Utc>,
    pub latest: DateTime<Utc>,
}

/// 4714-11-24T00:00:00Z BC (proleptic Gregorian, ISO year -4713): the
/// earliest `timestamptz` PostgreSQL accepts, as seconds since 1970.
const POSTGRES_EARLIEST_SECONDS: i64 = -210_866_803_200;

impl TimeBounds {
    /// PostgreSQL's `timestamptz` range. Its end (year 294276) lies beyond
    /// chrono's own (year 262143), so only the start excludes anything.
    pub const STORABLE: TimeBounds = TimeBounds {
        earliest: match DateTime::from_timestamp(POSTGRES_EARLIEST_SECONDS, 0) {
            Some(t) => t,
            None => panic!("PostgreSQL's earliest time is a valid chrono time"),
        },
        latest: DateTime::<Utc>::MAX_UTC,
    };

    /// The part of these bounds that also lies within `earliest ..= latest`.
    pub fn within(self, earliest: DateTime<Utc>, latest: DateTime<Utc>) -> TimeBounds {
        TimeBounds { earliest: self.earliest.max(earliest), latest: self.latest.min(latest) }
    }

    /// `time` when it lies within the bounds; otherwise an error naming `field`.
    pub fn check(self, field: &str, time: DateTime<Utc>) -> Result<DateTime<Utc>, DomainError> {
        if time < self.earliest || time > self.latest {
            return Err(DomainError::invalid(
                field,
                format!(
                    "must be between {} and {}",
                    self.earliest.to_rfc3339(),
                    self.latest.to_rfc3339()
                ),
            ));
        }
        Ok(time)
    }

    /// [`TimeBounds::check`] for an optional value.
    pub fn check_optional(
        self,
        field: &str,
        time: Option<DateTime<Utc>>,
    ) -> Result<Option<DateTime<Utc>>, DomainError> {
        time.map(|t| self.check(field, t)).transpose()
    }
}

/// A time PostgreSQL can store, or an error naming `field`.
pub fn check_storable_time(field: &str, time: DateTime<Utc>) -> Result<DateTime<Utc>, DomainError> {
    TimeBounds::STORABLE.check(field, time)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    #[test]
    fn text_with_a_nul_is_refused_naming_the_field() {
        assert_eq!(check_text("items[0].text", "ls -l"), Ok(()));
        assert_eq!(check_text("q", "tab\tand \u{1} pass"), Ok(()));
        let err = check_text("items[3].text", "mark\0er").unwrap_err();
        assert_eq!(err.field_errors()[0].field, "items[3].text");
        assert!(err.field_errors()[0].message.contains("U+0000"));
        assert_eq!(check_optional_text("database", None), Ok(()));
        assert!(check_optional_text("database", Some("\0")).is_err());
    }

    #[test]
    fn postgres_earliest_time_is_4714_bc_november_24() {
        let earliest = TimeBounds::STORABLE.earliest;
        assert_eq!(earliest, Utc.with_ymd_and_hms(-4713, 11, 24, 0, 0, 0).unwrap());
        assert_eq!(check_storable_time("occurred_at", earliest), Ok(earliest));
        let before = earliest - Duration::microseconds(1);
        let err = check_storable_time("occurred_at", before).unwrap_err();
        assert_eq!(err.field_errors()[0].field, "occurred_at");
        let far = Utc.with_ymd_and_hms(262_000, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(check_storable_time("to", far), Ok(far));
        assert!(check_storable_time("to", DateTime::<Utc>::MIN_UTC).is_err());
    }

    #[test]
    fn narrower_bounds_keep_the_storable_ones() {
        let now = Utc.with_ymd_and_hms(2026, 11, 25, 10, 0, 0).unwrap();
        let bounds = TimeBounds::STORABLE.within(DateTime::<Utc>::MIN_UTC, now);
        assert_eq!(bounds.earliest, TimeBounds::STORABLE.earliest);
        assert_eq!(bounds.latest, now);
        assert!(bounds.check("occurred_at", now + Duration::seconds(1)).is_err());
        assert_eq!(bounds.check_optional("from", None), Ok(None));
    }
}
