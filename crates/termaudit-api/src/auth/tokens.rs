//! termaudit's own tokens: HS256 with its secret (the CLI, demo sign-in, the
//! gateway's service token) and, when a public key is configured, RS256 or
//! EdDSA tokens an identity provider minted with the matching private key.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use termaudit_domain::{Permission, PermissionSet};

use super::{AuthConfig, Caller, KeyError, MIN_SECRET_BYTES, caller, refusal};
use crate::error::ApiError;

/// What a token says of its holder. Permissions are granted per project slug.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    /// Project slug to permission names.
    #[serde(default)]
    pub projects: BTreeMap<String, Vec<String>>,
}

/// The part of the claims verification reads; `aud` and the times are
/// checked by the validation itself, whatever their JSON shape.
#[derive(Debug, Deserialize)]
struct VerifiedClaims {
    /// The validation checks the issuer, but takes an array of issuers too;
    /// RFC 7519 has one string.
    iss: serde_json::Value,
    sub: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    projects: BTreeMap<String, Vec<String>>,
}

/// Verifies termaudit's own tokens.
pub(super) struct TokenVerifier {
    keys: Vec<(Algorithm, DecodingKey)>,
    issuer: String,
    audience: String,
}

impl TokenVerifier {
    pub(super) fn new(config: &AuthConfig) -> Result<Self, KeyError> {
        if config.secret.len() < MIN_SECRET_BYTES {
            return Err(KeyError::WeakSecret);
        }
        let mut keys = vec![(Algorithm::HS256, DecodingKey::from_secret(&config.secret))];
        if let Some(pem) = &config.public_key_pem {
            let key = if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
                (Algorithm::RS256, key)
            } else if let Ok(key) = DecodingKey::from_ed_pem(pem) {
                (Algorithm::EdDSA, key)
            } else {
                return Err(KeyError::UnsupportedPublicKey);
            };
            keys.push(key);
        }
        Ok(Self { keys, issuer: config.issuer.clone(), audience: config.audience.clone() })
    }

    pub(super) fn verify(&self, token: &str, header: &Header) -> Result<Caller, ApiError> {
        let (algorithm, key) =
            self.keys.iter().find(|(alg, _)| *alg == header.alg).ok_or_else(|| {
                ApiError::unauthorized(format!(
                    "tokens signed with {:?} are not accepted",
                    header.alg
                ))
            })?;
        let mut validation = Validation::new(*algorithm);
        validation.set_required_spec_claims(&["exp", "nbf", "sub", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let claims = jsonwebtoken::decode::<VerifiedClaims>(token, key, &validation)
            .map_err(|err| refusal(&err))?
            .claims;
        if !claims.iss.is_string() {
            return Err(ApiError::unauthorized("the token's issuer (iss) must be one string"));
        }
        let grants = claims
            .projects
            .iter()
            .map(|(slug, names)| {
                (slug.clone(), PermissionSet::from_names(names.iter().map(String::as_str)))
            })
            .collect();
        caller(claims.sub, claims.name, grants)
    }
}

/// Mints HS256 tokens (the CLI, demo sign-in, tests).
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
    issuer: String,
    audience: String,
}

impl TokenIssuer {
    pub fn new(config: &AuthConfig) -> Self {
        Self {
            key: EncodingKey::from_secret(&config.secret),
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
        }
    }

    pub fn issue(
        &self,
        subject: &str,
        name: Option<&str>,
        projects: BTreeMap<String, Vec<Permission>>,
        now: DateTime<Utc>,
        valid_for: Duration,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = Claims {
            sub: subject.to_owned(),
            name: name.map(ToOwned::to_owned),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: (now + valid_for).timestamp(),
            projects: projects
                .into_iter()
                .map(|(slug, perms)| (slug, perms.iter().map(|p| p.as_str().to_owned()).collect()))
                .collect(),
        };
        self.sign(&claims)
    }

    /// Signs arbitrary claims as they are (tests use it for bad tokens).
    pub fn sign(&self, claims: &impl Serialize) -> Result<String, jsonwebtoken::errors::Error> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.key)
    }
}
