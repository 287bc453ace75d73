//! Bearer tokens: verifying them into a [`Caller`], and minting them.
//!
//! Tokens are JWTs from one of two issuers, told apart by their `iss`:
//! termaudit's own ([`tokens`]: HS256 with its secret, or RS256/EdDSA with
//! one configured public key) and, when configured, the organisation's
//! OpenID Connect provider ([`oidc`]: its published, rotating keys). Each
//! issuer is only ever checked with its own keys and algorithms, so a token
//! cannot choose how it is verified (no `alg: none`, no HS256 signed with a
//! public key, no provider token checked with termaudit's secret).

pub mod claims;
pub mod oidc;
pub(crate) mod sign_in;
mod tokens;

use std::{collections::BTreeMap, sync::Arc};

use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use futures_util::future::LocalBoxFuture;
use jsonwebtoken::{Header, errors::ErrorKind};
use serde::Deserialize;
use termaudit_domain::{Permission, PermissionSet};
use termaudit_storage::Actor;

pub use claims::{ClaimGrant, ClaimMapping};
pub use oidc::{OidcConfig, OidcVerifier};
pub use tokens::{Claims, TokenIssuer};

use crate::{AppState, error::ApiError};

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
    /// The organisation's OpenID Connect provider, when configured.
    pub oidc: Option<OidcConfig>,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("the public key is neither an RSA nor an Ed25519 key in PEM form")]
    UnsupportedPublicKey,
    #[error("the JWT secret must be at least 32 bytes long")]
    WeakSecret,
    #[error("the OpenID Connect configuration is invalid: {0}")]
    Oidc(String),
}

/// Verifies tokens of either issuer.
pub struct Authenticator {
    own: tokens::TokenVerifier,
    oidc: Option<Arc<OidcVerifier>>,
}

impl Authenticator {
    pub fn new(config: &AuthConfig) -> Result<Self, KeyError> {
        let own = tokens::TokenVerifier::new(config)?;
        let oidc = match &config.oidc {
            Some(oidc) if oidc.issuer == config.issuer => {
                return Err(KeyError::Oidc(format!(
                    "TERMAUDIT_OIDC_ISSUER must differ from TERMAUDIT_JWT_ISSUER ({:?}): the \
                     issuer decides how a token is verified",
                    config.issuer
                )));
            }
            Some(oidc) => Some(Arc::new(OidcVerifier::new(oidc.clone())?)),
            None => None,
        };
        Ok(Self { own, oidc })
    }

    /// The OpenID Connect verifier, whose keys the server keeps fresh.
    pub fn oidc(&self) -> Option<&Arc<OidcVerifier>> {
        self.oidc.as_ref()
    }

    /// The token's holder, verified by the issuer its `iss` names. Keys of
    /// the OpenID provider may have to be fetched first.
    pub async fn verify(&self, token: &str) -> Result<Caller, ApiError> {
        let header = checked_header(token)?;
        if let Some(oidc) = &self.oidc {
            // Which verification applies; the signature is checked next.
            let issuer = jsonwebtoken::dangerous::insecure_decode_claims::<UnverifiedIssuer>(token)
                .ok()
                .and_then(|claims| claims.iss);
            if issuer.as_deref() == Some(oidc.issuer()) {
                return oidc.verify(token, &header).await;
            }
        }
        self.own.verify(token, &header)
    }
}

#[derive(Deserialize)]
struct UnverifiedIssuer {
    #[serde(default)]
    iss: Option<String>,
}

/// The token's header, refused when malformed or when it marks an
/// extension critical.
fn checked_header(token: &str) -> Result<Header, ApiError> {
    let header = jsonwebtoken::decode_header(token)
        .map_err(|err| ApiError::unauthorized(format!("the bearer token is malformed: {err}")))?;
    // RFC 7515 4.1.11: a header parameter marked critical that is not
    // understood makes the token invalid. termaudit understands none.
    if let Some(critical) = &header.crit {
        return Err(ApiError::unauthorized(format!(
            "the token's header marks {critical:?} as critical (crit); no extension is supported"
        )));
    }
    Ok(header)
}

/// Why the validation refused a token, in words for the 401.
fn refusal(err: &jsonwebtoken::errors::Error) -> ApiError {
    let why = match err.kind() {
        ErrorKind::ExpiredSignature => "the token has expired".to_owned(),
        ErrorKind::ImmatureSignature => "the token is not valid yet".to_owned(),
        ErrorKind::InvalidSignature => "the token's signature is invalid".to_owned(),
        ErrorKind::InvalidAudience => "the token is meant for another audience".to_owned(),
        ErrorKind::InvalidIssuer => "the token comes from an unknown issuer".to_owned(),
        ErrorKind::InvalidAlgorithm => {
            "the token's algorithm does not match its signing key".to_owned()
        }
        ErrorKind::MissingRequiredClaim(claim) => format!("the token lacks the claim {claim}"),
        other => format!("the token is invalid: {other:?}"),
    };
    ApiError::unauthorized(why)
}

/// The caller a verified token describes: `grants` from its `projects`
/// claim (and, for provider tokens, the claim mapping).
fn caller(
    subject: String,
    name: Option<String>,
    grants: BTreeMap<String, PermissionSet>,
) -> Result<Caller, ApiError> {
    if subject.trim().is_empty() {
        return Err(ApiError::unauthorized("the token's subject is empty"));
    }
    Ok(Caller {
        name: name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| subject.clone()),
        subject,
        grants,
    })
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
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = bearer_token(req);
        Box::pin(async move {
            let (state, token) = found?;
            state.authenticator.verify(&token).await
        })
    }
}

/// The app's state and the request's bearer token.
fn bearer_token(req: &HttpRequest) -> Result<(web::Data<AppState>, String), ApiError> {
    let state = req.app_data::<web::Data<AppState>>().cloned().ok_or_else(|| {
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
    Ok((state, token.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(issuer: &str) -> AuthConfig {
        AuthConfig {
            secret: vec![7; MIN_SECRET_BYTES],
            public_key_pem: None,
            issuer: "termaudit".into(),
            audience: "termaudit".into(),
            oidc: Some(OidcConfig {
                issuer: issuer.into(),
                client_id: "termaudit-web".into(),
                audience: "termaudit-web".into(),
                scopes: "openid".into(),
                claims: None,
                refresh_interval: std::time::Duration::from_secs(3600),
            }),
        }
    }

    #[test]
    fn the_provider_must_be_another_issuer_over_https_or_on_loopback() {
        assert!(Authenticator::new(&config("https://login.example.com")).is_ok());
        assert!(Authenticator::new(&config("http://127.0.0.1:5556/dex")).is_ok());
        let same = Authenticator::new(&config("termaudit")).err().map(|e| e.to_string());
        assert!(same.is_some_and(|e| e.contains("must differ")));
        assert!(Authenticator::new(&config("http://login.example.com")).is_err());
    }
}
