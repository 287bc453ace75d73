//! A project's terminal policy and the decisions it drives.

use crate::{DomainError, EnvironmentClass, FieldError};

/// What a project decides about its terminal sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalPolicy {
    pub retention_days_production: u32,
    pub retention_days_non_production: u32,
    pub record_non_production: bool,
    pub require_reason_non_production: bool,
    pub reconnect_grace_seconds: u32,
    /// Non-production sessions may be watched live (production always may).
    pub watch_non_production: bool,
}

impl Default for TerminalPolicy {
    fn default() -> Self {
        Self {
            retention_days_production: 365,
            retention_days_non_production: 90,
            record_non_production: false,
            require_reason_non_production: false,
            reconnect_grace_seconds: 300,
            watch_non_production: true,
        }
    }
}

/// The bounds of each setting.
pub const RETENTION_DAYS: std::ops::RangeInclusive<u32> = 1..=3650;
pub const GRACE_SECONDS: std::ops::RangeInclusive<u32> = 0..=86_400;

impl TerminalPolicy {
    /// Checks every field, naming each one out of bounds.
    pub fn validate(self) -> Result<Self, DomainError> {
        let mut errors = Vec::new();
        for (field, value) in [
            ("retention_days_production", self.retention_days_production),
            ("retention_days_non_production", self.retention_days_non_production),
        ] {
            if !RETENTION_DAYS.contains(&value) {
                errors.push(FieldError::new(field, "must be 1 to 3650 days"));
            }
        }
        if !GRACE_SECONDS.contains(&self.reconnect_grace_seconds) {
            errors.push(FieldError::new("reconnect_grace_seconds", "must be 0 to 86400 seconds"));
        }
        if errors.is_empty() { Ok(self) } else { Err(DomainError::Invalid(errors)) }
    }

    /// Production sessions are always recorded; others when the policy says so.
    pub fn must_record(&self, class: EnvironmentClass) -> bool {
        match class {
            EnvironmentClass::Production => true,
            EnvironmentClass::NonProduction => self.record_non_production,
        }
    }

    /// Production sessions always need a reason; others when the policy says so.
    pub fn requires_reason(&self, class: EnvironmentClass) -> bool {
        match class {
            EnvironmentClass::Production => true,
            EnvironmentClass::NonProduction => self.require_reason_non_production,
        }
    }

    /// Production sessions can always be watched live; others when the
    /// policy says so.
    pub fn may_watch(&self, class: EnvironmentClass) -> bool {
        match class {
            EnvironmentClass::Production => true,
            EnvironmentClass::NonProduction => self.watch_non_production,
        }
    }

    pub fn retention_days(&self, class: EnvironmentClass) -> u32 {
        match class {
            EnvironmentClass::Production => self.retention_days_production,
            EnvironmentClass::NonProduction => self.retention_days_non_production,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_can_always_be_watched_live() {
        let closed = TerminalPolicy { watch_non_production: false, ..TerminalPolicy::default() };
        assert!(closed.may_watch(EnvironmentClass::Production));
        assert!(!closed.may_watch(EnvironmentClass::NonProduction));
        assert!(TerminalPolicy::default().may_watch(EnvironmentClass::NonProduction));
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(TerminalPolicy::default().validate(), Ok(TerminalPolicy::default()));
    }

    #[test]
    fn every_bad_field_is_named() {
        let policy = TerminalPolicy {
            retention_days_production: 0,
            retention_days_non_production: 3651,
            reconnect_grace_seconds: 86_401,
            ..TerminalPolicy::default()
        };
        let err = policy.validate().unwrap_err();
        let fields: Vec<_> = err.field_errors().iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "retention_days_production",
                "retention_days_non_production",
                "reconnect_grace_seconds"
            ]
        );
        let edge = TerminalPolicy {
            retention_days_production: 1,
            retention_days_non_production: 3650,
            reconnect_grace_seconds: 0,
            ..TerminalPolicy::default()
        };
        assert!(edge.validate().is_ok());
    }

    #[test]
    fn production_is_always_recorded_and_needs_a_reason() {
        let lax = TerminalPolicy::default();
        assert!(lax.must_record(EnvironmentClass::Production));
        assert!(lax.requires_reason(EnvironmentClass::Production));
        assert!(!lax.must_record(EnvironmentClass::NonProduction));
        assert!(!lax.requires_reason(EnvironmentClass::NonProduction));
        let strict = TerminalPolicy {
            record_non_production: true,
            require_reason_non_production: true,
            ..lax
        };
        assert!(strict.must_record(EnvironmentClass::NonProduction));
        assert!(strict.requires_reason(EnvironmentClass::NonProduction));
    }
}
