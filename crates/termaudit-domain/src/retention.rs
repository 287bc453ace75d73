//! How long recordings are kept.

use chrono::{DateTime, Duration, Utc};

use crate::{EnvironmentClass, TerminalPolicy};

/// When the recording of a session that ended at `ended_at` in an environment
/// of `class` is purged: whole days of the policy's retention for that class
/// after the end, to the microsecond.
pub fn recording_expires_at(
    ended_at: DateTime<Utc>,
    class: EnvironmentClass,
    policy: &TerminalPolicy,
) -> DateTime<Utc> {
    ended_at + Duration::days(i64::from(policy.retention_days(class)))
}

/// Whether a recording that expires at `expires_at` is due for purging at
/// `now`: from the expiry instant on, not a microsecond before.
pub fn recording_is_expired(expires_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= expires_at
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, min, s).single().expect("a valid time")
    }

    #[test]
    fn defaults_keep_production_a_year_and_the_rest_ninety_days() {
        let policy = TerminalPolicy::default();
        let ended = at(2024, 3, 1, 12, 30, 15);
        assert_eq!(
            recording_expires_at(ended, EnvironmentClass::Production, &policy),
            // 2024 is a leap year: 365 days after 1 March 2024 is 1 March 2025.
            at(2025, 3, 1, 12, 30, 15)
        );
        assert_eq!(
            recording_expires_at(ended, EnvironmentClass::NonProduction, &policy),
            at(2024, 5, 30, 12, 30, 15)
        );
    }

    #[test]
    fn days_are_whole_days_across_a_leap_day() {
        let policy = TerminalPolicy {
            retention_days_production: 1,
            retention_days_non_production: 3650,
            ..TerminalPolicy::default()
        };
        let ended = at(2024, 2, 28, 23, 59, 59);
        assert_eq!(
            recording_expires_at(ended, EnvironmentClass::Production, &policy),
            at(2024, 2, 29, 23, 59, 59)
        );
        let far = recording_expires_at(ended, EnvironmentClass::NonProduction, &policy);
        assert_eq!(far - ended, Duration::days(3650));
    }

    #[test]
    fn sub_second_precision_is_kept() {
        let ended = at(2024, 6, 1, 0, 0, 0) + Duration::microseconds(123_456);
        let policy = TerminalPolicy::default();
        let expires = recording_expires_at(ended, EnvironmentClass::NonProduction, &policy);
        assert_eq!(expires - ended, Duration::days(90));
        assert_eq!(expires.timestamp_subsec_micros(), 123_456);
    }

    #[test]
    fn expiry_is_inclusive_of_its_instant() {
        let expires = at(2025, 1, 1, 0, 0, 0);
        assert!(!recording_is_expired(expires, expires - Duration::microseconds(1)));
        assert!(recording_is_expired(expires, expires));
        assert!(recording_is_expired(expires, expires + Duration::days(1)));
    }
}

/// Property tests of the retention rules over any policy, class and times.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    fn policy() -> impl Strategy<Value = TerminalPolicy> {
        (crate::RETENTION_DAYS, crate::RETENTION_DAYS).prop_map(|(production, non_production)| {
            TerminalPolicy {
                retention_days_production: production,
                retention_days_non_production: non_production,
                ..TerminalPolicy::default()
            }
        })
    }

    fn class() -> impl Strategy<Value = EnvironmentClass> {
        prop_oneof![Just(EnvironmentClass::Production), Just(EnvironmentClass::NonProduction)]
    }

    fn time() -> impl Strategy<Value = DateTime<Utc>> {
        // 1970 to about 2096, to the microsecond.
        (0i64..4_000_000_000_000_000)
            .prop_map(|micros| DateTime::<Utc>::from_timestamp_micros(micros).unwrap_or_default())
    }

    proptest! {
        #[test]
        fn a_recording_expires_exactly_its_class_retention_after_the_end(
            ended in time(), class in class(), policy in policy(),
        ) {
            let expires = recording_expires_at(ended, class, &policy);
            prop_assert_eq!(expires - ended, Duration::days(i64::from(policy.retention_days(class))));
            prop_assert!(!recording_is_expired(expires, expires - Duration::microseconds(1)));
            prop_assert!(recording_is_expired(expires, expires));
        }

        #[test]
        fn expiry_is_monotonic_in_time_and_in_the_retention(
            ended in time(), class in class(), policy in policy(), now in time(), later in 0i64..10_000_000_000,
            longer in 0u32..100,
        ) {
            let expires = recording_expires_at(ended, class, &policy);
            // Once expired, always expired.
            if recording_is_expired(expires, now) {
                prop_assert!(recording_is_expired(expires, now + Duration::microseconds(later)));
            }
            // A longer retention never expires a recording sooner.
            let mut kept = policy;
            kept.retention_days_production = (policy.retention_days_production + longer).min(3650);
            kept.retention_days_non_production = (policy.retention_days_non_production + longer).min(3650);
            let kept_until = recording_expires_at(ended, class, &kept);
            prop_assert!(kept_until >= expires);
            if !recording_is_expired(expires, now) {
                prop_assert!(!recording_is_expired(kept_until, now));
            }
        }
    }
}
