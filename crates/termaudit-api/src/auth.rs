//! Bearer tokens: verifying them into a [`Caller`], and minting them.
//!
//! Tokens are JWTs. termaudit verifies HS256 tokens with its own secret and,
//! when a public key is configured, RS256 or EdDSA tokens minted by an
//! external identity provider. Each algorithm is only ever checked with its
//! own key, so a token cannot choose how it is verified (no `alg: none`, no
//! HS256 signed with the public key).

use std::collections::BTreeMap;

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use termaudit_domain::{Permission, PermissionSet};
use termaudit_storage::Actor;

use crate::{AppState, error::ApiError};

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

/// The shortest HS256 secret accepted, wherever it comes from.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Clone)]
pub struct AuthConfig {
    /// The HS256 secret termaudit itself signs with.
    pub secret: Vec<u8>,
    /// An identity provider's public key (PEM, RSA or Ed25519).
    pub public_key_pem: Option<Vec<u8>>,
    pub issuer: String,
    pub audience: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the public key is neither an RSA nor an Ed25519 key in PEM form")]
    UnsupportedPublicKey,
    #[error("the JWT secret must be at least 32 bytes long")]
    WeakSecret,
}

/// Verifies tokens.
pub struct Authenticator {
    keys: Vec<(Algorithm, DecodingKey)>,
    issuer: String,
    audience: String,
}

impl Authenticator {
    pub fn new(config: &AuthConfig) -> Result<Self, KeyError> {
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

    pub fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        let header = jsonwebtoken::decode_header(token).map_err(|err| {
            ApiError::unauthorized(format!("the bearer token is malformed: {err}"))
        })?;
        // RFC 7515 4.1.11: a header parameter marked critical that is not
        // understood makes the token invalid. termaudit understands none.
        if let Some(critical) = &header.crit {
            return Err(ApiError::unauthorized(format!(
                "the token's header marks {critical:?} as critical (crit); no extension is supported"
            )));
        }
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
        let data =
            jsonwebtoken::decode::<VerifiedClaims>(token, key, &validation).map_err(|err| {
                use jsonwebtoken::errors::ErrorKind;
                let why = match err.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
                    ErrorKind::ImmatureSignature => "the token is not valid yet".to_owned(),
                    ErrorKind::InvalidSignature => "the token's signature is invalid".to_owned(),
                    ErrorKind::InvalidAudience => {
                        "the token is meant for another audience".to_owned()
                    }
                    ErrorKind::InvalidIssuer => "the token comes from an unknown issuer".to_owned(),
                    ErrorKind::MissingRequiredClaim(claim) => {
                        format!("the token lacks the claim {claim}")
                    }
                    other => format!("the token is invalid: {other:?}"),
                };
                ApiError::unauthorized(why)
            })?;
        let claims = data.claims;
        if !claims.iss.is_string() {
            return Err(ApiError::unauthorized("the token's issuer (iss) must be one string"));
        }
        if claims.sub.trim().is_empty() {
            return Err(ApiError::unauthorized("the token's subject is empty"));
        }
        Ok(Caller {
            name: claims
                .name
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| claims.sub.clone()),
            subject: claims.sub,
            grants: claims
                .projects
                .iter()
                .map(|(slug, names)| {
                    (slug.clone(), PermissionSet::from_names(names.iter().map(String::as_str)))
                })
                .collect(),
        })
    }
}

/// Mints HS256 tokens (the CLI, demo sign-in, tests).
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

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub subject: String,
    pub name: String,
    grants: BTreeMap<String, PermissionSet>,
}

impl Caller {
    /// The caller as the actor of a change (a revoke, a policy, a hold).
    pub fn actor(&self) -> Actor {
        Actor { subject: self.subject.clone(), name: self.name.clone() }
    }

    /// The projects the token names, with the permissions it grants there.
    pub fn grants(&self) -> impl Iterator<Item = (&str, &PermissionSet)> {
        self.grants.iter().filter(|(_, p)| !p.is_empty()).map(|(slug, p)| (slug.as_str(), p))
    }

    /// The caller's permissions in `project`; a project the caller holds
    /// nothing in does not exist for them (404, not 403).
    pub fn member_of(&self, project: &str) -> Result<&PermissionSet, ApiError> {
        self.grants
            .get(project)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| ApiError::not_found(format!("there is no project {project:?}")))
    }

    /// Requires one of `permissions` (403 naming them when none is held).
    pub fn require_any(&self, project: &str, permissions: &[Permission]) -> Result<(), ApiError> {
        let held = self.member_of(project)?;
        match permissions {
            _ if permissions.iter().any(|p| held.contains(*p)) => Ok(()),
            [one] => Err(ApiError::forbidden(*one, project)),
            _ => {
                let names: Vec<&str> = permissions.iter().map(|p| p.as_str()).collect();
                Err(ApiError::new(
                    crate::ProblemKind::Forbidden,
                    format!(
                        "this operation needs one of the permissions {} in project {project}",
                        names.join(", ")
                    ),
                ))
            }
        }
    }

    pub fn require(&self, project: &str, permission: Permission) -> Result<(), ApiError> {
        if self.member_of(project)?.contains(permission) {
            Ok(())
        } else {
            Err(ApiError::forbidden(permission, project))
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(caller_from(req))
    }
}

fn caller_from(req: &HttpRequest) -> Result<Caller, ApiError> {
    let state = req.app_data::<web::Data<AppState>>().ok_or_else(|| {
        tracing::error!("AppState is missing from the app");
        ApiError::internal()
    })?;
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("this operation needs a bearer token"))?;
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
        })?;
    state.authenticator.verify(token)
}
