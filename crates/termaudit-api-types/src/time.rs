//! Timestamps as the API writes them, for the bodies that carry many.
//!
//! chrono's own `Serialize` writes RFC 3339 in UTC (`Z`, as many fraction
//! digits as the value needs: 0, 3, 6 or 9) through `collect_str`, which
//! serde_json escapes one formatted piece at a time: a dozen calls per
//! timestamp, and a page of the history carries 250 timestamps. These write
//! the very same text, formatted first and escaped once.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serializer;

/// `t` as chrono's `Serialize` writes it.
pub(crate) fn rfc3339<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// `t` as chrono's `Serialize` writes it, or `null`.
pub(crate) fn rfc3339_or_null<S: Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => rfc3339(t, s),
        None => s.serialize_none(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Ours(#[serde(serialize_with = "rfc3339")] DateTime<Utc>);

    #[test]
    fn the_text_is_chronos_own() {
        let seconds = [
            0,
            1_767_225_600,
            -62_135_596_800,  // 0001-01-01
            253_402_300_799,  // 9999-12-31T23:59:59
            253_402_300_800,  // 10000-01-01
            -210_866_760_000, // 4713 BC
            DateTime::<Utc>::MIN_UTC.timestamp(),
            DateTime::<Utc>::MAX_UTC.timestamp() - 1,
        ];
        let nanos = [0, 1, 123_000_000, 123_456_000, 123_456_789, 999_999_999];
        for s in seconds {
            for n in nanos {
                let t = DateTime::from_timestamp(s, n).unwrap();
                assert_eq!(
                    serde_json::to_string(&Ours(t)).unwrap(),
                    serde_json::to_string(&t).unwrap(),
                    "{s} s {n} ns"
                );
            }
        }
    }
}
