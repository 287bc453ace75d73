//! What a provider token grants: its `projects` claim when the provider can
//! add one, and the `[oidc.claims]` mapping of the configuration file for
//! providers that cannot (a group, a role, an app role → a project and
//! permissions).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::{Map, Value};
use termaudit_domain::{Permission, PermissionSet, ProjectSlug};

/// `[oidc.claims]`: which claim to read, and what each of its values grants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimMapping {
    /// The claim (a string or an array of strings in the token), e.g. `groups`.
    pub claim: String,
    #[serde(default)]
    pub grant: Vec<ClaimGrant>,
}

/// `[[oidc.claims.grant]]`: a token whose claim holds `value` gets
/// `permissions` in `project`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimGrant {
    pub value: String,
    pub project: String,
    pub permissions: Vec<String>,
}

impl ClaimMapping {
    /// Refuses a mapping that names an unknown permission or an invalid
    /// project slug, so a typo fails at start-up rather than granting less.
    pub fn validate(&self) -> Result<(), String> {
        if self.claim.trim().is_empty() {
            return Err("[oidc.claims] claim must name a claim".into());
        }
        for (i, grant) in self.grant.iter().enumerate() {
            ProjectSlug::parse(&grant.project)
                .map_err(|err| format!("[[oidc.claims.grant]] #{}: {err}", i + 1))?;
            for name in &grant.permissions {
                name.parse::<Permission>()
                    .map_err(|err| format!("[[oidc.claims.grant]] #{}: {err}", i + 1))?;
            }
        }
        Ok(())
    }

    /// What the mapping grants a token with `claims`.
    fn grants(&self, claims: &Map<String, Value>) -> Vec<(&str, Permission)> {
        let values: BTreeSet<&str> = match claims.get(&self.claim) {
            Some(Value::String(one)) => BTreeSet::from([one.as_str()]),
            Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
            _ => BTreeSet::new(),
        };
        self.grant
            .iter()
            .filter(|grant| values.contains(grant.value.as_str()))
            .flat_map(|grant| {
                grant
                    .permissions
                    .iter()
                    .filter_map(|name| name.parse().ok())
                    .map(|permission| (grant.project.as_str(), permission))
            })
            .collect()
    }
}

/// The grants of a verified provider token: its `projects` claim (project
/// slug → permission names, as in termaudit's own tokens) joined with what
/// `mapping` grants. A `projects` claim of another shape is refused.
pub(super) fn provider_grants(
    claims: &Map<String, Value>,
    mapping: Option<&ClaimMapping>,
) -> Result<BTreeMap<String, PermissionSet>, String> {
    let mut held: BTreeMap<String, BTreeSet<Permission>> = BTreeMap::new();
    match claims.get("projects") {
        None | Some(Value::Null) => {}
        Some(Value::Object(projects)) => {
            for (slug, names) in projects {
                let names = names.as_array().ok_or_else(|| {
                    format!("the token's projects claim must map {slug:?} to an array of names")
                })?;
                held.entry(slug.clone()).or_default().extend(
                    names
                        .iter()
                        .filter_map(Value::as_str)
                        .filter_map(|n| n.parse::<Permission>().ok()),
                );
            }
        }
        Some(_) => {
            return Err("the token's projects claim must map project slugs to permissions".into());
        }
    }
    for (project, permission) in mapping.map(|m| m.grants(claims)).unwrap_or_default() {
        held.entry(project.to_owned()).or_default().insert(permission);
    }
    Ok(held.into_iter().map(|(slug, set)| (slug, set.into_iter().collect())).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn mapping() -> ClaimMapping {
        ClaimMapping {
            claim: "groups".into(),
            grant: vec![
                ClaimGrant {
                    value: "sre-oncall".into(),
                    project: "payments".into(),
                    permissions: vec!["terminal.view_history".into()],
                },
                ClaimGrant {
                    value: "dba".into(),
                    project: "payments".into(),
                    permissions: vec!["terminal.view_recording".into()],
                },
            ],
        }
    }

    fn grants(claims: Value) -> BTreeMap<String, Vec<&'static str>> {
        let claims = claims.as_object().cloned().unwrap_or_default();
        provider_grants(&claims, Some(&mapping()))
            .unwrap_or_default()
            .into_iter()
            .map(|(slug, set)| (slug, set.iter().map(Permission::as_str).collect()))
            .collect()
    }

    #[test]
    fn a_string_or_an_array_of_strings_matches_whole_values_only() {
        assert_eq!(
            grants(json!({"groups": "sre-oncall"})),
            BTreeMap::from([("payments".into(), vec!["terminal.view_history"])])
        );
        assert_eq!(
            grants(json!({"groups": ["dba", "sre-oncall", 7]})),
            BTreeMap::from([(
                "payments".into(),
                vec!["terminal.view_history", "terminal.view_recording"]
            )])
        );
        assert!(grants(json!({"groups": ["sre"]})).is_empty());
        assert!(grants(json!({"groups": {"sre-oncall": true}})).is_empty());
        assert!(grants(json!({})).is_empty());
    }

    #[test]
    fn the_projects_claim_joins_the_mapping() {
        assert_eq!(
            grants(json!({"groups": "dba", "projects": {"demo": ["terminal.connect", "bogus"]}})),
            BTreeMap::from([
                ("demo".into(), vec!["terminal.connect"]),
                ("payments".into(), vec!["terminal.view_recording"]),
            ])
        );
        let claims = json!({"projects": ["demo"]}).as_object().cloned().unwrap_or_default();
        assert!(provider_grants(&claims, None).is_err());
    }

    #[test]
    fn typos_in_the_mapping_are_refused() {
        assert_eq!(mapping().validate(), Ok(()));
        let mut bad = mapping();
        bad.grant[0].permissions.push("terminal.view_histroy".into());
        assert!(bad.validate().is_err_and(|e| e.contains("view_histroy")));
        let mut bad = mapping();
        bad.grant[1].project = "Not A Slug".into();
        assert!(bad.validate().is_err());
    }
}
