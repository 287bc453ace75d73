use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use termaudit_domain::Permission;
use termaudit_tests::{AUDIENCE, ISSUER, TestApp, fixture, json, problem, with_overrides};

fn claims(overrides: serde_json::Value) -> serde_json::Value {
    let now = Utc::now().timestamp();
    let claims = json!({
        "sub": "alice",
        "name": "Alice",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "projects": { "demo": ["terminal.view_history"] },
    });
    with_overrides(claims, overrides)
}

async fn demo_app() -> TestApp {
    let app = TestApp::spawn().await;
    app.create_project("demo").await;
    app
}

/// Asserts a 401 whose detail says `why`.
pub(crate) async fn assert_rejected(app: &TestApp, token: &str, why: &str) {
    let body = problem(app.get("/api/v1/projects", token).await, 401, "unauthorized").await;
    let detail = body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains(why), "expected {why:?} in {detail:?}");
}

#[tokio::test]
async fn a_valid_token_is_accepted() {
    let app = demo_app().await;
    let token = app.sign(&claims(json!({})));
    let body: serde_json::Value = json(app.get("/api/v1/me", &token).await, 200).await;
    assert_eq!(body["subject"], "alice");
    assert_eq!(body["name"], "Alice");
    assert_eq!(body["projects"][0]["slug"], "demo");
}

#[tokio::test]
async fn a_missing_or_malformed_header_is_401() {
    let app = demo_app().await;
    let response = app.client.get(app.url("/api/v1/projects")).send().await.expect("sent");
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    problem(response, 401, "unauthorized").await;

    let response = app
        .client
        .get(app.url("/api/v1/projects"))
        .header("Authorization", "Basic YWxpY2U6c2VjcmV0")
        .send()
        .await
        .expect("sent");
    problem(response, 401, "unauthorized").await;
    assert_rejected(&app, "not-a-jwt", "malformed").await;
}

#[tokio::test]
async fn a_tampered_token_is_401() {
    let app = demo_app().await;
    let token = app.sign(&claims(json!({})));
    let mut parts: Vec<String> = token.split('.').map(ToOwned::to_owned).collect();
    // Grant more than was signed: swap in another payload, keep the signature.
    let forged = app.sign(&claims(json!({"projects": {"demo": ["terminal.manage_policy"]}})));
    parts[1] = forged.split('.').nth(1).expect("a payload").to_owned();
    assert_rejected(&app, &parts.join("."), "signature").await;
}

#[tokio::test]
async fn expired_and_not_yet_valid_tokens_are_401() {
    let app = demo_app().await;
    let now = Utc::now().timestamp();
    let expired =
        app.sign(&claims(json!({"iat": now - 7200, "nbf": now - 7200, "exp": now - 3600})));
    assert_rejected(&app, &expired, "expired").await;
    let early = app.sign(&claims(json!({"nbf": now + 3600, "exp": now + 7200})));
    assert_rejected(&app, &early, "not valid yet").await;
}

#[tokio::test]
async fn wrong_audience_issuer_or_missing_claims_are_401() {
    let app = demo_app().await;
    assert_rejected(&app, &app.sign(&claims(json!({"aud": "another-service"}))), "audience").await;
    assert_rejected(&app, &app.sign(&claims(json!({"iss": "https://evil.example"}))), "issuer")
        .await;
    assert_rejected(&app, &app.sign(&claims(json!({"exp": null}))), "exp").await;
    assert_rejected(&app, &app.sign(&claims(json!({"aud": null}))), "aud").await;
    let other_secret = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(json!({})),
        &EncodingKey::from_secret(b"another-secret-another-secret-another"),
    )
    .expect("a token");
    assert_rejected(&app, &other_secret, "signature").await;
}

#[tokio::test]
async fn alg_none_is_401() {
    let app = demo_app().await;
    use base64_url as b64;
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = b64(claims(json!({})).to_string().as_bytes());
    assert_rejected(&app, &format!("{header}.{payload}."), "malformed").await;
}

/// Unpadded URL-safe base64, as JWTs (and history cursors) use.
pub(crate) fn base64_url(bytes: &[u8]) -> String {
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

#[tokio::test]
async fn identity_provider_tokens_verify_with_the_public_key_only() {
    let app = TestApp::spawn_with(Box::new(|s| {
        s.jwt_public_key_file = Some(fixture("keys/rsa-public.pem"));
    }))
    .await;
    app.create_project("demo").await;
    let private = std::fs::read(fixture("keys/rsa-private.pem")).expect("the key");
    let rs256 = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &claims(json!({})),
        &EncodingKey::from_rsa_pem(&private).expect("an RSA key"),
    )
    .expect("a token");
    json::<serde_json::Value>(app.get("/api/v1/projects", &rs256).await, 200).await;

    // Algorithm confusion: HS256 "signed" with the public key as the secret.
    let public = std::fs::read(fixture("keys/rsa-public.pem")).expect("the key");
    let confused = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(json!({})),
        &EncodingKey::from_secret(&public),
    )
    .expect("a token");
    assert_rejected(&app, &confused, "signature").await;

    // An algorithm with no configured key.
    let ed_private = std::fs::read(fixture("keys/ed25519-private.pem")).expect("the key");
    let eddsa = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims(json!({})),
        &EncodingKey::from_ed_pem(&ed_private).expect("an Ed25519 key"),
    )
    .expect("a token");
    assert_rejected(&app, &eddsa, "not accepted").await;
}

#[tokio::test]
async fn eddsa_tokens_verify_with_an_ed25519_public_key() {
    let app = TestApp::spawn_with(Box::new(|s| {
        s.jwt_public_key_file = Some(fixture("keys/ed25519-public.pem"));
    }))
    .await;
    app.create_project("demo").await;
    let private = std::fs::read(fixture("keys/ed25519-private.pem")).expect("the key");
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::EdDSA),
        &claims(json!({})),
        &EncodingKey::from_ed_pem(&private).expect("an Ed25519 key"),
    )
    .expect("a token");
    let body: serde_json::Value = json(app.get("/api/v1/me", &token).await, 200).await;
    assert_eq!(body["projects"][0]["permissions"], json!(["terminal.view_history"]));
}

#[tokio::test]
async fn unknown_permission_names_grant_nothing() {
    let app = demo_app().await;
    let token = app.sign(&claims(json!({"projects": {"demo": ["terminal.delete_everything"]}})));
    let body: serde_json::Value = json(app.get("/api/v1/projects", &token).await, 200).await;
    assert_eq!(body["items"], json!([]));
    let _ = Permission::ALL;
}

/// A token with a hand-written header and `claims`, signed with the test
/// server's secret.
fn signed_with_header(header: &str, claims: &serde_json::Value) -> String {
    let message =
        format!("{}.{}", base64_url(header.as_bytes()), base64_url(claims.to_string().as_bytes()));
    let key = EncodingKey::from_secret(termaudit_tests::TEST_SECRET.as_bytes());
    let signature =
        jsonwebtoken::crypto::sign(message.as_bytes(), &key, Algorithm::HS256).expect("signed");
    format!("{message}.{signature}")
}

#[tokio::test]
async fn a_header_with_critical_extensions_is_401() {
    let app = demo_app().await;
    // The same header without `crit` is accepted: the signing is right.
    let plain = signed_with_header(r#"{"alg":"HS256","typ":"JWT"}"#, &claims(json!({})));
    json::<serde_json::Value>(app.get("/api/v1/me", &plain).await, 200).await;
    for crit in [r#"["exp"]"#, r#"["urn:example:unknown"]"#, r#"["b64"]"#, "[]"] {
        let header = format!(r#"{{"alg":"HS256","typ":"JWT","crit":{crit},"b64":true}}"#);
        let token = signed_with_header(&header, &claims(json!({})));
        assert_rejected(&app, &token, "crit").await;
    }
    // `crit` that is not a list of names is a malformed header.
    let token =
        signed_with_header(r#"{"alg":"HS256","typ":"JWT","crit":"exp"}"#, &claims(json!({})));
    assert_rejected(&app, &token, "malformed").await;
}

#[tokio::test]
async fn an_issuer_that_is_not_one_string_is_401() {
    let app = demo_app().await;
    for iss in [json!([ISSUER]), json!([ISSUER, "another"]), json!({"iss": ISSUER}), json!(7)] {
        let token = app.sign(&claims(json!({ "iss": iss })));
        let body = problem(app.get("/api/v1/me", &token).await, 401, "unauthorized").await;
        let detail = body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("iss"), "{iss}: {detail}");
    }
}
