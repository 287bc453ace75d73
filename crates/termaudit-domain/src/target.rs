use std::{fmt, str::FromStr};

use crate::error::{DomainError, parse_bounded};

/// Every target lives in an environment classified as one of these; the class
/// decides whether sessions are always recorded and how long recordings stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentClass {
    Production,
    NonProduction,
}

/// What kind of shell a target offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Application,
    Database,
}

macro_rules! str_enum {
    ($ty:ty, $field:literal, { $($variant:path => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($variant => $name),+ }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $ty {
            type Err = DomainError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($name => Ok($variant),)+
                    _ => Err(DomainError::invalid(
                        $field,
                        format!("must be one of: {}", [$($name),+].join(", ")),
                    )),
                }
            }
        }
    };
}
pub(crate) use str_enum;

str_enum!(EnvironmentClass, "environment_class", {
    EnvironmentClass::Production => "production",
    EnvironmentClass::NonProduction => "non_production",
});

str_enum!(TargetKind, "kind", {
    TargetKind::Application => "application",
    TargetKind::Database => "database",
});

/// A target's name, unique within its project.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TargetName(String);

impl TargetName {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        parse_bounded("name", raw, 200).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The name of a target's environment (`prod-eu`, `staging`, ...).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EnvironmentName(String);

impl EnvironmentName {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        parse_bounded("environment", raw, 100).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_parse_from_their_names_only() {
        for class in EnvironmentClass::ALL {
            assert_eq!(class.as_str().parse::<EnvironmentClass>(), Ok(*class));
        }
        let err = "prod".parse::<EnvironmentClass>().unwrap_err();
        assert_eq!(err.field_errors()[0].field, "environment_class");
        assert!(err.field_errors()[0].message.contains("non_production"));
    }
}
