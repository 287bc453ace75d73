use std::fmt;

use crate::error::{DomainError, parse_bounded};

/// A project's URL name: 1 to 63 characters of lowercase ASCII letters, digits
/// and inner hyphens, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectSlug(String);

impl ProjectSlug {
    pub const MAX_LEN: usize = 63;

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        let valid_chars =
            raw.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if raw.is_empty() || raw.len() > Self::MAX_LEN {
            return Err(DomainError::invalid(
                "slug",
                format!("must be 1 to {} characters", Self::MAX_LEN),
            ));
        }
        if !valid_chars || raw.starts_with('-') || raw.ends_with('-') {
            return Err(DomainError::invalid(
                "slug",
                "may contain only lowercase letters, digits and inner hyphens",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ProjectSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A project's display name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectName(String);

impl ProjectName {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        parse_bounded("name", raw, 200).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        for ok in ["demo", "a", "team-42", &"x".repeat(63)] {
            assert_eq!(ProjectSlug::parse(ok).map(|s| s.0), Ok(ok.to_owned()));
        }
        for bad in ["", "Demo", "-a", "a-", "a_b", "a b", "ä", &"x".repeat(64)] {
            assert!(ProjectSlug::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(ProjectName::parse("  Demo  ").map(|n| n.0), Ok("Demo".to_owned()));
        assert!(ProjectName::parse("   ").is_err());
        assert!(ProjectName::parse("a\u{7}b").is_err());
        assert!(ProjectName::parse(&"x".repeat(201)).is_err());
    }
}
