//! When a gateway's event may say it happened. Gateways time what they
//! report with their own clocks, so the time is untrusted input: an event
//! of a session lies between the session's opening and the server's now,
//! give or take [`CLOCK_SKEW_ALLOWANCE`] for clocks that disagree a little.
//! (Without a bound, an event of year 0000 or +262142 sat forever at one
//! end of the newest-first audit log, and one marker gave a recording a
//! duration of 8.2e12 s.)
//!
//! And an ended session is final: what its gateway still had queued when
//! it ended is taken only if it happened at or before the end
//! ([`happened_after_end`]); the storage decides how long such late reports
//! are taken (until the recording is finalized).

use chrono::{DateTime, Duration, SecondsFormat, Utc};

use crate::DomainError;

/// How far a gateway's clock may be off the server's: an event may be timed
/// this much before its session opened or after the server's now.
pub const CLOCK_SKEW_ALLOWANCE: Duration = Duration::minutes(5);

/// The times an event of a session may carry, judged at a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventWindow {
    pub earliest: DateTime<Utc>,
    pub latest: DateTime<Utc>,
}

impl EventWindow {
    /// For a session opened at `opened_at`, judged at the server's `now`.
    pub fn new(opened_at: DateTime<Utc>, now: DateTime<Utc>) -> Self {
        Self { earliest: opened_at - CLOCK_SKEW_ALLOWANCE, latest: now + CLOCK_SKEW_ALLOWANCE }
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        self.earliest <= at && at <= self.latest
    }

    /// `at` if it lies in the window; otherwise an error naming `field` and
    /// the range.
    pub fn check(&self, field: &str, at: DateTime<Utc>) -> Result<DateTime<Utc>, DomainError> {
        if self.contains(at) {
            return Ok(at);
        }
        let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Micros, true);
        Err(DomainError::invalid(
            field,
            format!(
                "{} is outside the allowed range {} to {} (the session's opening and the \
                 server's time, each give or take {} minutes of clock skew)",
                time(at),
                time(self.earliest),
                time(self.latest),
                CLOCK_SKEW_ALLOWANCE.num_minutes()
            ),
        ))
    }
}

/// Whether an event timed `at` happened after its session's end (`None`:
/// the session has not ended). Such an event is refused: an ended session
/// takes only what its gateway had queued before the end.
pub fn happened_after_end(ended_at: Option<DateTime<Utc>>, at: DateTime<Utc>) -> bool {
    ended_at.is_some_and(|end| at > end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + seconds, 0).unwrap_or_default()
    }

    #[test]
    fn the_window_is_the_opening_to_now_give_or_take_the_allowance() {
        let window = EventWindow::new(t(0), t(3600));
        assert!(window.contains(t(-300)) && window.contains(t(3900)));
        assert!(!window.contains(t(-301)) && !window.contains(t(3901)));
        assert_eq!(window.check("occurred_at", t(10)), Ok(t(10)));
    }

    #[test]
    fn a_time_outside_names_the_field_and_the_range() {
        let window = EventWindow::new(t(0), t(60));
        let far = DateTime::<Utc>::MAX_UTC;
        let err = window.check("items[2].occurred_at", far).unwrap_err();
        let field = &err.field_errors()[0];
        assert_eq!(field.field, "items[2].occurred_at");
        assert!(field.message.contains("2027-01-15T07:55:00.000000Z"), "{}", field.message);
        assert!(field.message.contains("2027-01-15T08:06:00.000000Z"), "{}", field.message);
        assert!(field.message.contains("5 minutes"), "{}", field.message);
        assert!(window.check("x", DateTime::<Utc>::MIN_UTC).is_err());
    }

    #[test]
    fn only_what_happened_after_the_end_is_late() {
        assert!(!happened_after_end(None, t(10)));
        assert!(!happened_after_end(Some(t(10)), t(10)));
        assert!(!happened_after_end(Some(t(10)), t(9)));
        assert!(happened_after_end(Some(t(10)), t(10) + Duration::microseconds(1)));
    }
}
