//! Time as PostgreSQL stores it, in one place.
//!
//! Two different jobs, two names: [`truncate_to_micros`] cuts a wall-clock
//! instant to the precision of a `timestamptz` column, so what a call
//! returns equals what is read back later; [`micros_from_db`] and
//! [`micros_to_db`] carry a recording's [`Micros`] through a `bigint`
//! column. (`Micros::as_seconds` is how a recording time appears in JSON.)

use chrono::{DateTime, Duration, DurationRound, Utc};
use termaudit_domain::asciicast::Micros;

/// `at` as PostgreSQL stores it (microseconds), so what is returned equals
/// what is read back later.
pub(crate) fn truncate_to_micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.duration_trunc(Duration::microseconds(1)).unwrap_or(at)
}

/// A recording time read from a `bigint` column (never negative as stored).
pub(crate) fn micros_from_db(value: i64) -> Micros {
    Micros(u64::try_from(value).unwrap_or(0))
}

/// A recording time for a `bigint` column.
pub(crate) fn micros_to_db(time: Micros) -> i64 {
    i64::try_from(time.0).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_times_round_trip() {
        assert_eq!(micros_from_db(micros_to_db(Micros(42))), Micros(42));
        assert_eq!(micros_from_db(-1), Micros::ZERO);
        assert_eq!(micros_to_db(Micros(u64::MAX)), i64::MAX);
    }

    #[test]
    fn instants_are_cut_to_microseconds() {
        let at = DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap_or_default();
        let cut = truncate_to_micros(at);
        assert_eq!(cut.timestamp_subsec_nanos(), 123_456_000);
    }
}
