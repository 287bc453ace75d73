//! Tokens from the organisation's OpenID Connect provider.
//!
//! The provider publishes its signing keys (the JWKS named by its discovery
//! document) and rotates them. termaudit caches them, refreshes them on a
//! schedule ([`OidcVerifier::keep_fresh`]) and when a token names a key it
//! does not know (at most once per [`UNKNOWN_KID_REFETCH`], so forged `kid`s
//! cannot make it hammer the provider), and accepts RS256, ES256 and EdDSA,
//! each only with a key of its own family. A plain `http://` issuer is taken
//! only on loopback, for tests and development.

use std::{
    net::IpAddr,
    sync::{Arc, RwLock},
    time::{Duration, Instant},
};

use jsonwebtoken::{
    Algorithm, DecodingKey, Header, Validation,
    jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm, PublicKeyUse},
};
use reqwest::Url;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{Caller, ClaimMapping, KeyError, caller, claims::provider_grants, refusal};
use crate::error::ApiError;

/// The shortest time between two fetches caused by unknown `kid`s.
pub const UNKNOWN_KID_REFETCH: Duration = Duration::from_secs(10);
/// How long a fetch of the discovery document or the JWKS may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// The algorithms accepted from the provider.
const ALGORITHMS: [Algorithm; 3] = [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA];

/// The provider and what its tokens must say.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// `TERMAUDIT_OIDC_ISSUER`, exactly as the tokens' `iss` spells it.
    pub issuer: String,
    /// `TERMAUDIT_OIDC_CLIENT_ID`: the web app's client at the provider.
    pub client_id: String,
    /// `TERMAUDIT_OIDC_AUDIENCE`, else the client id: the ID token's `aud`.
    pub audience: String,
    /// `TERMAUDIT_OIDC_SCOPES`: what the web app asks the provider for.
    pub scopes: String,
    /// `[oidc.claims]` of the configuration file.
    pub claims: Option<ClaimMapping>,
    /// How often the keys are fetched again.
    pub refresh_interval: Duration,
}

/// Verifies provider tokens with the provider's published keys.
pub struct OidcVerifier {
    config: OidcConfig,
    http: reqwest::Client,
    keys: RwLock<Arc<Vec<ProviderKey>>>,
    /// Serializes fetches; when the last one an unknown `kid` caused ran.
    refetch: tokio::sync::Mutex<Option<Instant>>,
}

struct ProviderKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

#[derive(Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

#[derive(Deserialize)]
struct KeySet {
    keys: Vec<Value>,
}

/// The issuer URL, when it may be one: `https://`, or `http://` on loopback.
pub fn allowed_url(url: &str) -> Result<Url, String> {
    let parsed = Url::parse(url).map_err(|err| format!("{url:?} is not a URL: {err}"))?;
    let loopback = parsed.host_str().is_some_and(|host| {
        host == "localhost"
            || host.trim_matches(['[', ']']).parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    });
    match parsed.scheme() {
        "https" if parsed.host().is_some() => Ok(parsed),
        "http" if loopback => Ok(parsed),
        "http" => Err(format!("{url:?} must be https:// (http:// is taken on loopback only)")),
        _ => Err(format!("{url:?} must be an https:// URL")),
    }
}

impl OidcVerifier {
    pub fn new(config: OidcConfig) -> Result<Self, KeyError> {
        allowed_url(&config.issuer).map_err(KeyError::Oidc)?;
        if config.audience.trim().is_empty() {
            return Err(KeyError::Oidc("the client id (or audience) is empty".into()));
        }
        if let Some(mapping) = &config.claims {
            mapping.validate().map_err(KeyError::Oidc)?;
        }
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|err| KeyError::Oidc(format!("no HTTP client: {err}")))?;
        Ok(Self {
            config,
            http,
            keys: RwLock::new(Arc::new(Vec::new())),
            refetch: tokio::sync::Mutex::new(None),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    pub fn config(&self) -> &OidcConfig {
        &self.config
    }

    /// Fetches the keys now and then every `refresh_interval` (sooner again
    /// after a failure), for as long as the server runs.
    pub async fn keep_fresh(self: Arc<Self>) {
        loop {
            let wait = {
                let _serialized = self.refetch.lock().await;
                match self.fetch().await {
                    Ok(count) => {
                        tracing::info!(issuer = %self.config.issuer, keys = count, "fetched the OpenID provider's keys");
                        self.config.refresh_interval
                    }
                    Err(err) => {
                        tracing::warn!(issuer = %self.config.issuer, error = %err, "cannot fetch the OpenID provider's keys; retrying");
                        self.config.refresh_interval.min(Duration::from_secs(30))
                    }
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// The discovery document, then the keys it names: the new key set.
    async fn fetch(&self) -> Result<usize, String> {
        let discovery = self.discovery().await?;
        allowed_url(&discovery.jwks_uri)?;
        let set: KeySet = self.get_json(&discovery.jwks_uri).await?;
        let keys: Vec<ProviderKey> = set.keys.iter().filter_map(provider_key).collect();
        let count = keys.len();
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
        Ok(count)
    }

    async fn discovery(&self) -> Result<Discovery, String> {
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.config.issuer.trim_end_matches('/')
        );
        let discovery: Discovery = self.get_json(&url).await?;
        // OpenID Connect Discovery 1.0, 4.3: the document names its issuer.
        if discovery.issuer != self.config.issuer {
            return Err(format!(
                "the discovery document names the issuer {:?}, not {:?}",
                discovery.issuer, self.config.issuer
            ));
        }
        Ok(discovery)
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let response = self.http.get(url).send().await.map_err(|err| format!("{url}: {err}"))?;
        if !response.status().is_success() {
            return Err(format!("{url}: {}", response.status()));
        }
        response.json().await.map_err(|err| format!("{url}: {err}"))
    }

    fn find(&self, header: &Header) -> Option<(Algorithm, DecodingKey)> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner()).clone();
        let matching: Vec<&ProviderKey> = keys
            .iter()
            .filter(|k| k.algorithm == header.alg)
            .filter(|k| header.kid.is_none() || k.kid == header.kid)
            .collect();
        // A token without a `kid` is taken only when one key could sign it.
        match matching.as_slice() {
            [one] => Some((one.algorithm, one.key.clone())),
            _ => None,
        }
    }

    /// Fetches the keys again for a token naming an unknown key, unless
    /// that was done less than [`UNKNOWN_KID_REFETCH`] ago.
    async fn refetch_for_unknown_kid(&self) {
        let mut last = self.refetch.lock().await;
        if last.is_some_and(|at| at.elapsed() < UNKNOWN_KID_REFETCH) {
            return;
        }
        *last = Some(Instant::now());
        if let Err(err) = self.fetch().await {
            tracing::warn!(issuer = %self.config.issuer, error = %err, "cannot fetch the OpenID provider's keys");
        }
    }

    pub(super) async fn verify(&self, token: &str, header: &Header) -> Result<Caller, ApiError> {
        if !ALGORITHMS.contains(&header.alg) {
            return Err(ApiError::unauthorized(format!(
                "tokens from {} must be signed with RS256, ES256 or EdDSA, not {:?}",
                self.config.issuer, header.alg
            )));
        }
        let found = match self.find(header) {
            Some(found) => Some(found),
            None => {
                self.refetch_for_unknown_kid().await;
                self.find(header)
            }
        };
        if found.is_none() && self.keys.read().unwrap_or_else(|e| e.into_inner()).is_empty() {
            // Never reached the provider: its tokens cannot be judged, not refused.
            return Err(ApiError::new(
                crate::ProblemKind::Unavailable,
                format!(
                    "the identity provider {} cannot be reached for its keys",
                    self.config.issuer
                ),
            ));
        }
        let (algorithm, key) = found.ok_or_else(|| {
            ApiError::unauthorized(format!(
                "the token's signing key (kid {:?}, {:?}) is not among {}'s keys",
                header.kid.as_deref().unwrap_or("none"),
                header.alg,
                self.config.issuer
            ))
        })?;
        let mut validation = Validation::new(algorithm);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = 30;
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
            .map_err(|err| refusal(&err))?
            .claims;
        if !claims.get("iss").is_some_and(Value::is_string) {
            return Err(ApiError::unauthorized("the token's issuer (iss) must be one string"));
        }
        let text = |name: &str| claims.get(name).and_then(Value::as_str).map(ToOwned::to_owned);
        let subject = text("sub")
            .ok_or_else(|| ApiError::unauthorized("the token's subject (sub) must be a string"))?;
        let name = text("name").or_else(|| text("preferred_username")).or_else(|| text("email"));
        let grants = provider_grants(&claims, self.config.claims.as_ref())
            .map_err(ApiError::unauthorized)?;
        caller(subject, name, grants)
    }
}

/// A usable signing key of the set: RSA, P-256 or Ed25519, for signatures,
/// with the algorithm it is for. Other keys (encryption, other curves,
/// symmetric) are skipped.
fn provider_key(value: &Value) -> Option<ProviderKey> {
    let jwk: Jwk = serde_json::from_value(value.clone()).ok()?;
    if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
        return None;
    }
    let algorithm = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        AlgorithmParameters::OctetKeyPair(okp) if okp.curve == EllipticCurve::Ed25519 => {
            Algorithm::EdDSA
        }
        _ => return None,
    };
    // A key published for another algorithm (PS256, RS512) is not used for this one.
    let declared = jwk.common.key_algorithm;
    let fits = match declared {
        None => true,
        Some(KeyAlgorithm::RS256) => algorithm == Algorithm::RS256,
        Some(KeyAlgorithm::ES256) => algorithm == Algorithm::ES256,
        Some(KeyAlgorithm::EdDSA) => algorithm == Algorithm::EdDSA,
        Some(_) => false,
    };
    if !fits {
        return None;
    }
    let key = DecodingKey::from_jwk(&jwk).ok()?;
    Some(ProviderKey { kid: jwk.common.key_id, algorithm, key })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_taken_on_loopback_only() {
        assert!(allowed_url("https://login.example.com/realms/x").is_ok());
        assert!(allowed_url("http://127.0.0.1:8080").is_ok());
        assert!(allowed_url("http://[::1]:8080").is_ok());
        assert!(allowed_url("http://localhost:5556/dex").is_ok());
        assert!(allowed_url("http://login.example.com").is_err());
        assert!(allowed_url("http://10.0.0.1").is_err());
        assert!(allowed_url("ftp://login.example.com").is_err());
        assert!(allowed_url("login.example.com").is_err());
    }

    #[test]
    fn keys_for_other_uses_or_algorithms_are_skipped() {
        let ed = serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "a"});
        assert!(provider_key(&ed).is_some_and(|k| k.algorithm == Algorithm::EdDSA));
        let mut encryption = ed.clone();
        encryption["use"] = "enc".into();
        assert!(provider_key(&encryption).is_none());
        let mut other = ed.clone();
        other["alg"] = "RS256".into();
        assert!(provider_key(&other).is_none());
        assert!(provider_key(&serde_json::json!({"kty": "oct", "k": "c2VjcmV0"})).is_none());
        assert!(provider_key(&serde_json::json!({"kty": "weird"})).is_none());
    }
}
