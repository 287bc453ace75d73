//! Signing in through the organisation's OpenID Connect provider: the
//! authorization code flow with PKCE, run by the browser (the app is a
//! public client; no secret). [`start`] sends the browser to the provider,
//! whose answer comes back to `/auth/callback`, where [`finish`] redeems the
//! code for the ID token the API accepts.
//!
//! What the flow needs between the two page loads (the PKCE verifier, the
//! state, the nonce, the provider's endpoints) and the ID token itself live
//! in this tab's session storage: never in local storage, so a provider
//! token ends with the tab and is not shared with other tabs.

use gloo::net::http::Request;
use gloo::storage::{SessionStorage, Storage};
use js_sys::Uint8Array;
use serde::{Deserialize, Serialize};
use termaudit_api_types::OidcSignIn;
use wasm_bindgen_futures::JsFuture;

use crate::api::ApiError;

/// The flow in progress, kept across the provider's pages.
const FLOW_KEY: &str = "termaudit.oidc.flow";
/// The provider's end-session endpoint and the ID token, after sign-in.
pub const SIGNED_IN_KEY: &str = "termaudit.oidc.signed_in";

/// Where the provider sends the browser back to (register it at the provider).
pub const CALLBACK_PATH: &str = "/auth/callback";

#[derive(Debug, Deserialize)]
struct Discovery {
    authorization_endpoint: String,
    token_endpoint: String,
    #[serde(default)]
    end_session_endpoint: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Flow {
    verifier: String,
    state: String,
    nonce: String,
    client_id: String,
    token_endpoint: String,
    end_session_endpoint: Option<String>,
}

/// A provider sign-in this tab holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedIn {
    pub id_token: String,
    pub client_id: String,
    pub end_session_endpoint: Option<String>,
    /// When the ID token expires (seconds since the epoch).
    pub expires_at: i64,
}

fn origin() -> String {
    gloo::utils::window().location().origin().unwrap_or_default()
}

fn redirect_uri() -> String {
    format!("{}{CALLBACK_PATH}", origin())
}

/// Unpadded URL-safe base64 (RFC 4648 section 5), as PKCE and JWTs use.
fn base64_url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn base64_url_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        bits = bits << 6 | u32::from(v);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

/// A JWT's payload, unverified (the server verifies; the app reads `exp`
/// and `nonce` from a token it just got from the provider).
fn payload(token: &str) -> Option<serde_json::Value> {
    let part = token.split('.').nth(1)?;
    serde_json::from_slice(&base64_url_decode(part)?).ok()
}

fn random(len: usize) -> Result<String, ApiError> {
    let mut bytes = vec![0u8; len];
    gloo::utils::window()
        .crypto()
        .and_then(|crypto| crypto.get_random_values_with_u8_array(&mut bytes).map(|_| ()))
        .map_err(|_| ApiError::Client("this browser offers no secure random numbers".into()))?;
    Ok(base64_url(&bytes))
}

async fn sha256(text: &str) -> Result<Vec<u8>, ApiError> {
    let failed = |_| ApiError::Client("this browser cannot hash (SubtleCrypto)".into());
    let subtle = gloo::utils::window().crypto().map_err(failed)?.subtle();
    let promise =
        subtle.digest_with_str_and_u8_array("SHA-256", text.as_bytes()).map_err(failed)?;
    let digest = JsFuture::from(promise).await.map_err(failed)?;
    Ok(Uint8Array::new(&digest).to_vec())
}

async fn discover(issuer: &str) -> Result<Discovery, ApiError> {
    let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let response =
        Request::get(&url).send().await.map_err(|err| ApiError::Network(err.to_string()))?;
    if !response.ok() {
        return Err(ApiError::Status { status: response.status(), text: response.status_text() });
    }
    response.json().await.map_err(|err| {
        ApiError::Client(format!("the provider's discovery document is unreadable: {err}"))
    })
}

/// Sends the browser to the provider's sign-in page.
pub async fn start(provider: &OidcSignIn) -> Result<(), ApiError> {
    let discovery = discover(&provider.issuer).await?;
    let flow = Flow {
        verifier: random(32)?,
        state: random(16)?,
        nonce: random(16)?,
        client_id: provider.client_id.clone(),
        token_endpoint: discovery.token_endpoint,
        end_session_endpoint: discovery.end_session_endpoint,
    };
    let challenge = base64_url(&sha256(&flow.verifier).await?);
    let query = [
        ("response_type", "code"),
        ("client_id", &provider.client_id),
        ("redirect_uri", &redirect_uri()),
        ("scope", &provider.scopes),
        ("state", &flow.state),
        ("nonce", &flow.nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", String::from(js_sys::encode_uri_component(v))))
        .collect();
    SessionStorage::set(FLOW_KEY, &flow)
        .map_err(|err| ApiError::Client(format!("this tab would not keep the sign-in ({err})")))?;
    let separator = if discovery.authorization_endpoint.contains('?') { '&' } else { '?' };
    let url = format!("{}{separator}{}", discovery.authorization_endpoint, query.join("&"));
    gloo::utils::window()
        .location()
        .assign(&url)
        .map_err(|_| ApiError::Client("the browser would not open the provider".into()))
}

#[derive(Deserialize)]
struct TokenResponse {
    id_token: String,
}

/// Redeems the code the provider sent back (`search` is the callback's
/// query string) for the ID token, and keeps it in this tab.
pub async fn finish(search: &str) -> Result<SignedIn, ApiError> {
    let params = web_sys::UrlSearchParams::new_with_str(search)
        .map_err(|_| ApiError::Client("the provider's answer is unreadable".into()))?;
    let flow: Flow = SessionStorage::get(FLOW_KEY).map_err(|_| {
        ApiError::Client("this tab did not start a sign-in (or it was already used)".into())
    })?;
    SessionStorage::delete(FLOW_KEY);
    if let Some(error) = params.get("error") {
        let description = params.get("error_description").unwrap_or_default();
        return Err(ApiError::Client(format!("the provider refused: {error} {description}")));
    }
    if params.get("state").as_deref() != Some(flow.state.as_str()) {
        return Err(ApiError::Client("the provider's answer is not for this sign-in".into()));
    }
    let code = params
        .get("code")
        .ok_or_else(|| ApiError::Client("the provider's answer holds no code".into()))?;
    let form = web_sys::UrlSearchParams::new()
        .map_err(|_| ApiError::Client("the browser cannot build a form".into()))?;
    form.append("grant_type", "authorization_code");
    form.append("code", &code);
    form.append("redirect_uri", &redirect_uri());
    form.append("client_id", &flow.client_id);
    form.append("code_verifier", &flow.verifier);
    let response = Request::post(&flow.token_endpoint)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(String::from(form.to_string()))
        .map_err(|err| ApiError::Client(err.to_string()))?
        .send()
        .await
        .map_err(|err| ApiError::Network(err.to_string()))?;
    if !response.ok() {
        let text = response.text().await.unwrap_or_default();
        return Err(ApiError::Client(format!("the provider would not give a token: {text}")));
    }
    let tokens: TokenResponse = response
        .json()
        .await
        .map_err(|err| ApiError::Client(format!("the provider's token answer: {err}")))?;
    let claims = payload(&tokens.id_token)
        .ok_or_else(|| ApiError::Client("the provider's ID token is unreadable".into()))?;
    if claims["nonce"].as_str() != Some(flow.nonce.as_str()) {
        return Err(ApiError::Client("the provider's ID token is not for this sign-in".into()));
    }
    Ok(SignedIn {
        id_token: tokens.id_token,
        client_id: flow.client_id,
        end_session_endpoint: flow.end_session_endpoint,
        expires_at: claims["exp"].as_i64().unwrap_or_default(),
    })
}

/// The provider sign-in this tab holds, if any.
pub fn signed_in() -> Option<SignedIn> {
    SessionStorage::get(SIGNED_IN_KEY).ok()
}

/// Keeps the provider sign-in for this tab.
pub fn keep(signed_in: &SignedIn) -> Result<(), ApiError> {
    SessionStorage::set(SIGNED_IN_KEY, signed_in)
        .map_err(|err| ApiError::Client(format!("this tab would not keep the sign-in ({err})")))
}

/// Forgets the provider sign-in; returns where the provider ends its own
/// session, when it offers that, for the browser to go to.
pub fn sign_out() -> Option<String> {
    let held = signed_in()?;
    SessionStorage::delete(SIGNED_IN_KEY);
    let endpoint = held.end_session_endpoint?;
    let query = [
        ("id_token_hint", held.id_token),
        ("client_id", held.client_id),
        ("post_logout_redirect_uri", format!("{}/", origin())),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", String::from(js_sys::encode_uri_component(v))))
    .collect::<Vec<_>>()
    .join("&");
    let separator = if endpoint.contains('?') { '&' } else { '?' };
    Some(format!("{endpoint}{separator}{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_url_round_trips() {
        for text in ["", "a", "ab", "abc", "abcd", "\u{ff}\u{fe}?>"] {
            let encoded = base64_url(text.as_bytes());
            assert!(!encoded.contains(['+', '/', '=']));
            assert_eq!(base64_url_decode(&encoded).as_deref(), Some(text.as_bytes()));
        }
        // RFC 7636 appendix B's verifier and challenge are base64url of these bytes.
        assert_eq!(base64_url(&[3, 236, 255, 224, 193]), "A-z_4ME");
    }

    #[test]
    fn a_jwt_payload_is_read_without_padding() {
        let token = format!("x.{}.y", base64_url(br#"{"exp":1700000000,"nonce":"n"}"#));
        let claims = payload(&token).expect("a payload");
        assert_eq!(claims["exp"], 1_700_000_000);
        assert_eq!(claims["nonce"], "n");
        assert!(payload("no-dots").is_none());
    }
}
