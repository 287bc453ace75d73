//! Time as PostgreSQL stores it, in one place.
//!
//! Two different jobs, two names: [`truncate_to_micros`] cuts a wall-clock
//! instant to the precision of a `timestamptz` column, so what a call
//! returns equals what is read back later; [`micros_from_db`] and
//! [`micros_to_db`] carry a recording's [`Micros`] through a `bigint`
//! column. [`seconds`] is how a recording time appears in JSON.

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

/// `time` in seconds: the `f64` nearest to its exact decimal value, which is
/// what parsing its text (`12.000003`) gives, computed without the text.
pub(crate) fn seconds(time: Micros) -> f64 {
    // Up to 2^53 the count is exact as an `f64` and one correctly rounded
    // division gives the nearest value.
    const EXACT: u64 = 1 << 53;
    if time.0 <= EXACT {
        return time.0 as f64 / 1e6;
    }
    // Beyond that (285 years), divide by 5^6 in two exact parts and then by
    // 2^6, which is exact: the fraction's rounding (below 2^-53) cannot move
    // the sum across a halfway point, which is at least 2^-28 away from any
    // b / 15625 with 0 < b < 15625 once the whole part passes 2^39.
    let (whole, rest) = (time.0 / 15_625, time.0 % 15_625);
    (whole as f64 + rest as f64 / 15_625.0) / 64.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `seconds` replaces: the text of the time, parsed.
    fn through_text(time: Micros) -> f64 {
        time.to_string().parse().unwrap_or(f64::NAN)
    }

    #[test]
    fn seconds_equal_the_parsed_text() {
        let mut samples = vec![
            0,
            1,
            5,
            100_000,
            300_000,
            1_000_000,
            1_250_000,
            12_000_003,
            123_456_789,
            3_600_000_000,
            (1 << 53) - 1,
            1 << 53,
            (1 << 53) + 1,
            (1 << 53) + 15_625,
            u64::MAX / 2,
            u64::MAX - 1,
            u64::MAX,
        ];
        // A deterministic spread over every magnitude (xorshift).
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            samples.push(x >> (x % 64));
        }
        for m in samples {
            let time = Micros(m);
            assert_eq!(seconds(time).to_bits(), through_text(time).to_bits(), "{m} µs");
        }
    }

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
