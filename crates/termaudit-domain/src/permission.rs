use std::{collections::BTreeSet, fmt, str::FromStr};

use crate::DomainError;

/// What a caller may do inside one project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Read session history, activity and audit events; export them.
    ViewHistory,
    /// Play recordings in the browser.
    ViewRecording,
    /// Download recordings as `.cast` files.
    DownloadRecording,
    /// Change the terminal policy, revoke sessions, place legal holds.
    ManagePolicy,
    /// The terminal gateway's service permission: open sessions, append
    /// activity and recordings.
    Ingest,
    /// Open shells on the project's targets through termaudit's own
    /// gateway, and reattach to one's own dropped shell.
    Connect,
}

impl Permission {
    pub const ALL: [Permission; 6] = [
        Permission::ViewHistory,
        Permission::ViewRecording,
        Permission::DownloadRecording,
        Permission::ManagePolicy,
        Permission::Ingest,
        Permission::Connect,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Permission::ViewHistory => "terminal.view_history",
            Permission::ViewRecording => "terminal.view_recording",
            Permission::DownloadRecording => "terminal.download_recording",
            Permission::ManagePolicy => "terminal.manage_policy",
            Permission::Ingest => "terminal.ingest",
            Permission::Connect => "terminal.connect",
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Permission {
    type Err = DomainError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Permission::ALL.into_iter().find(|p| p.as_str() == s).ok_or_else(|| {
            DomainError::invalid(
                "permission",
                format!(
                    "unknown permission {s:?}; known: {}",
                    Permission::ALL.map(Permission::as_str).join(", ")
                ),
            )
        })
    }
}

/// The permissions a caller holds in one project.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionSet(BTreeSet<Permission>);

impl PermissionSet {
    /// Parses the permission names of a token, ignoring names this version
    /// does not know (an identity provider may grant permissions of other
    /// products in the same claim).
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Self(names.into_iter().filter_map(|n| n.parse().ok()).collect())
    }

    pub fn contains(&self, permission: Permission) -> bool {
        self.0.contains(&permission)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        self.0.iter().copied()
    }
}

impl FromIterator<Permission> for PermissionSet {
    fn from_iter<T: IntoIterator<Item = Permission>>(iter: T) -> Self {
        Self(iter.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Permission::ALL {
            assert_eq!(p.as_str().parse::<Permission>(), Ok(p));
        }
        assert!("terminal.delete".parse::<Permission>().is_err());
    }

    #[test]
    fn unknown_names_in_a_token_are_ignored() {
        let set = PermissionSet::from_names(["terminal.view_history", "billing.admin"]);
        assert!(set.contains(Permission::ViewHistory));
        assert_eq!(set.iter().count(), 1);
    }
}
