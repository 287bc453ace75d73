//! A real OpenID Connect provider: npm's `oidc-provider` (pinned in
//! `tests/tools/package-lock.json`), run by `tests/tools/oidc-provider.mjs`
//! on a free loopback port with the test client [`CLIENT_ID`] and the test
//! users `alice` (groups `["sre-oncall"]`), `bob` (groups `"dba"`), `carol`
//! (a `projects` claim: `demo` → view history) and `dave` (groups
//! `["nobody"]`). Any password signs them in.
//!
//! [`OidcProvider::id_token`] signs a user in through the provider's real
//! authorization code flow with PKCE, as the web app does; [`OidcProvider::sign`]
//! forges tokens with the provider's own private keys (expired, for another
//! audience, ...); [`OidcProvider::rotate`] makes a new key sign from then on.
//! The process ends when the provider is dropped.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Deserialize;
use serde_json::Value;
use sha2::Digest as _;
use termaudit_server::Settings;

/// The web app's client at the test provider (public, PKCE).
pub const CLIENT_ID: &str = "termaudit-web";
/// Where the flow of [`OidcProvider::id_token`] is sent back to.
const CALLBACK: &str = "http://127.0.0.1/callback";

pub struct OidcProvider {
    /// `http://127.0.0.1:PORT`, as its tokens' `iss` says.
    pub issuer: String,
    child: Child,
    state_dir: PathBuf,
    http: reqwest::Client,
}

/// One of the provider's private keys, as `keys.json` lists them.
#[derive(Debug, Clone, Deserialize)]
pub struct ProviderKey {
    pub kid: String,
    pub alg: String,
    pub pem: String,
}

/// How the provider starts.
#[derive(Debug, Clone, Default)]
pub struct ProviderOptions {
    /// Redirect URIs of the test client besides the API tests' callback
    /// (the web app's own).
    pub redirect_uris: Vec<String>,
    /// ID tokens' lifetime (default one hour).
    pub id_token_ttl: Option<Duration>,
}

impl OidcProvider {
    pub fn start() -> Self {
        Self::start_with(ProviderOptions::default())
    }

    pub fn start_with(options: ProviderOptions) -> Self {
        let state_dir =
            std::env::temp_dir().join(format!("termaudit-oidc-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&state_dir).expect("a temp dir");
        let stderr = std::fs::File::create(state_dir.join("stderr.log")).expect("a log file");
        let mut redirect_uris = vec![CALLBACK.to_owned()];
        redirect_uris.extend(options.redirect_uris);
        let script = crate::repo_root().join("tests/tools/oidc-provider.mjs");
        let mut child = Command::new("node")
            .arg(&script)
            .env("OIDC_NODE_MODULES", crate::axe::node_modules())
            .env("OIDC_STATE_DIR", &state_dir)
            .env("OIDC_PORT", "0")
            .env("OIDC_REDIRECT_URIS", redirect_uris.join(","))
            .env(
                "OIDC_ID_TOKEN_TTL",
                options.id_token_ttl.unwrap_or(Duration::from_secs(3600)).as_secs().to_string(),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|err| panic!("cannot run node {} ({err})", script.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        // Its first line, or a failure that says why rather than a hang.
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = receiver.recv_timeout(Duration::from_secs(120)).unwrap_or_else(|_| {
            let _ = child.kill();
            let log = std::fs::read_to_string(state_dir.join("stderr.log")).unwrap_or_default();
            panic!("the OpenID provider did not start within two minutes:\n{log}")
        });
        #[derive(Deserialize)]
        struct Started {
            issuer: String,
        }
        let started: Started = serde_json::from_str(&line).unwrap_or_else(|err| {
            let log = std::fs::read_to_string(state_dir.join("stderr.log")).unwrap_or_default();
            panic!("the OpenID provider did not start ({err}): {line:?}\n{log}")
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        Self { issuer: started.issuer, child, state_dir, http }
    }

    /// Points a test server's settings at this provider, with `claims`.
    pub fn configure(
        &self,
        claims: Option<termaudit_api::ClaimMapping>,
    ) -> impl FnOnce(&mut Settings) + 'static {
        let issuer = self.issuer.clone();
        move |settings| {
            settings.oidc_issuer = Some(issuer);
            settings.oidc_client_id = Some(CLIENT_ID.into());
            settings.oidc_scopes = "openid profile groups termaudit".into();
            settings.oidc_claims = claims;
        }
    }

    /// The provider's private keys, the signing one (per algorithm) first.
    pub fn keys(&self) -> Vec<ProviderKey> {
        let text = std::fs::read_to_string(self.state_dir.join("keys.json")).expect("keys.json");
        serde_json::from_str(&text).expect("the keys")
    }

    /// `claims` signed with the provider's current key for `alg` (`RS256`,
    /// `ES256`, `EdDSA`), its `kid` in the header unless `kid` names another.
    pub fn sign(&self, alg: &str, kid: Option<&str>, claims: &Value) -> String {
        let key = self.keys().into_iter().find(|k| k.alg == alg).expect("a key for the alg");
        let (algorithm, encoding) = match alg {
            "RS256" => (Algorithm::RS256, EncodingKey::from_rsa_pem(key.pem.as_bytes())),
            "ES256" => (Algorithm::ES256, EncodingKey::from_ec_pem(key.pem.as_bytes())),
            "EdDSA" => (Algorithm::EdDSA, EncodingKey::from_ed_pem(key.pem.as_bytes())),
            other => panic!("no key for {other}"),
        };
        let mut header = Header::new(algorithm);
        header.kid = Some(kid.unwrap_or(&key.kid).to_owned());
        jsonwebtoken::encode(&header, claims, &encoding.expect("a PEM key")).expect("a token")
    }

    /// Claims as the provider's ID tokens carry them, for `sub`, valid now;
    /// `overrides` replace (or, when null, remove) claims.
    pub fn claims(&self, sub: &str, overrides: Value) -> Value {
        let now = chrono::Utc::now().timestamp();
        let claims = serde_json::json!({
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "sub": sub,
            "iat": now,
            "exp": now + 600,
        });
        crate::with_overrides(claims, overrides)
    }

    /// The JSON answer of one of the script's `/test/` routes.
    async fn test_route(&self, method: reqwest::Method, route: &str) -> Value {
        self.http
            .request(method, format!("{}/test/{route}", self.issuer))
            .send()
            .await
            .expect("the provider answers")
            .json()
            .await
            .expect("JSON")
    }

    /// A new RS256 key signs from now on (the old ones stay published);
    /// returns its `kid`.
    pub async fn rotate(&self) -> String {
        let answer = self.test_route(reqwest::Method::POST, "rotate").await;
        answer["kid"].as_str().expect("a kid").to_owned()
    }

    /// The test client also takes `uri` as a redirect URI (a web app's
    /// callback, known once its server runs), and its origin after sign-out.
    pub async fn allow_redirect(&self, uri: &str) {
        let response = self
            .http
            .post(format!("{}/test/redirect-uri", self.issuer))
            .query(&[("uri", uri)])
            .send()
            .await
            .expect("the provider answers");
        assert!(response.status().is_success(), "{}", response.status());
    }

    /// How many times the JWKS was fetched.
    pub async fn jwks_requests(&self) -> u64 {
        let stats = self.test_route(reqwest::Method::GET, "stats").await;
        stats["jwks_requests"].as_u64().expect("a count")
    }

    /// Waits (up to a minute) until the JWKS was fetched `count` times.
    pub async fn wait_for_jwks_requests(&self, count: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while self.jwks_requests().await < count {
            assert!(tokio::time::Instant::now() < deadline, "the JWKS was not fetched {count}×");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Signs `login` in through the provider's authorization code flow with
    /// PKCE (its login form, any password) and returns the ID token.
    pub async fn id_token(&self, login: &str) -> String {
        let verifier =
            format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(verifier.as_bytes()));
        let mut url = reqwest::Url::parse(&format!("{}/auth", self.issuer)).expect("a URL");
        url.query_pairs_mut()
            .append_pair("client_id", CLIENT_ID)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid profile groups termaudit")
            .append_pair("redirect_uri", CALLBACK)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("state", "test-state")
            .append_pair("nonce", "test-nonce");
        let mut cookies = BTreeMap::<String, String>::new();
        let mut request = self.http.get(url.clone());
        let code = loop {
            let cookie = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>();
            if !cookie.is_empty() {
                request = request.header("cookie", cookie.join("; "));
            }
            let response = request.send().await.expect("the provider answers");
            for set in response.headers().get_all("set-cookie") {
                let pair = set.to_str().unwrap_or_default().split(';').next().unwrap_or_default();
                if let Some((name, value)) = pair.split_once('=') {
                    if value.is_empty() {
                        cookies.remove(name.trim());
                    } else {
                        cookies.insert(name.trim().to_owned(), value.to_owned());
                    }
                }
            }
            let here = response.url().clone();
            let status = response.status();
            if status.is_redirection() {
                let location = response.headers()["location"].to_str().expect("a location");
                let next = here.join(location).expect("a URL");
                if next.as_str().starts_with(CALLBACK) {
                    let query: BTreeMap<_, _> = next.query_pairs().into_owned().collect();
                    assert_eq!(query.get("state").map(String::as_str), Some("test-state"));
                    break query
                        .get("code")
                        .cloned()
                        .unwrap_or_else(|| panic!("the provider refused the sign-in: {query:?}"));
                }
                request = self.http.get(next);
            } else if status.is_success() && here.path().starts_with("/interaction/") {
                // The login form: any login, any password.
                request = self.http.post(here).form(&[
                    ("prompt", "login"),
                    ("login", login),
                    ("password", "any"),
                ]);
            } else {
                let body = response.text().await.unwrap_or_default();
                panic!("unexpected answer {status} at {here}: {body}");
            }
        };
        let tokens: Value = self
            .http
            .post(format!("{}/token", self.issuer))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", CALLBACK),
                ("client_id", CLIENT_ID),
                ("code_verifier", &verifier),
            ])
            .send()
            .await
            .expect("the provider answers")
            .json()
            .await
            .expect("JSON");
        tokens["id_token"].as_str().unwrap_or_else(|| panic!("no ID token: {tokens}")).to_owned()
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}
