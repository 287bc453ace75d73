//! Tokens from a real OpenID Connect provider (npm's oidc-provider, see
//! `termaudit_tests::oidc`): ID tokens from its sign-in flow, its rotating
//! keys, the tokens it must not be able to pass off, and the claim mapping.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use termaudit_api::{ClaimGrant, ClaimMapping};

use crate::auth::assert_rejected;
use termaudit_tests::{
    TEST_SECRET, TestApp, json, oidc::OidcProvider, oidc::ProviderOptions, problem,
};

/// `groups: sre-oncall` may read payments' history and play its
/// recordings; `groups: dba` may only play them.
fn mapping() -> ClaimMapping {
    ClaimMapping {
        claim: "groups".into(),
        grant: vec![
            ClaimGrant {
                value: "sre-oncall".into(),
                project: "payments".into(),
                permissions: vec!["terminal.view_history".into(), "terminal.view_recording".into()],
            },
            ClaimGrant {
                value: "dba".into(),
                project: "payments".into(),
                permissions: vec!["terminal.view_recording".into()],
            },
        ],
    }
}

async fn app_with(provider: &OidcProvider) -> TestApp {
    let app = TestApp::spawn_with(Box::new(provider.configure(Some(mapping())))).await;
    app.create_project("payments").await;
    app.create_project("demo").await;
    app
}

/// The projects and permissions `/me` lists for `token`.
async fn held(app: &TestApp, token: &str) -> Vec<(String, Vec<String>)> {
    let me: Value = json(app.get("/api/v1/me", token).await, 200).await;
    let mut held: Vec<(String, Vec<String>)> = me["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .map(|p| {
            let mut permissions: Vec<String> = p["permissions"]
                .as_array()
                .expect("permissions")
                .iter()
                .map(|n| n.as_str().expect("a name").to_owned())
                .collect();
            permissions.sort();
            (p["slug"].as_str().expect("a slug").to_owned(), permissions)
        })
        .collect();
    held.sort();
    held
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test]
async fn id_tokens_from_the_sign_in_flow_grant_exactly_what_the_mapping_says() {
    let provider = OidcProvider::start();
    let app = app_with(&provider).await;

    let alice = provider.id_token("alice").await;
    let me: Value = json(app.get("/api/v1/me", &alice).await, 200).await;
    assert_eq!(me["subject"], "alice");
    assert_eq!(me["name"], "Alice Martin");
    assert_eq!(
        held(&app, &alice).await,
        vec![("payments".to_owned(), names(&["terminal.view_history", "terminal.view_recording"]))]
    );
    json::<Value>(app.get("/api/v1/projects/payments/sessions", &alice).await, 200).await;
    problem(app.get("/api/v1/projects/demo/sessions", &alice).await, 404, "not-found").await;
    problem(app.get("/api/v1/projects/payments/retention/preview", &alice).await, 403, "forbidden")
        .await;

    // A single string matches as well; `dba` grants playing only.
    let bob = provider.id_token("bob").await;
    assert_eq!(
        held(&app, &bob).await,
        vec![("payments".to_owned(), names(&["terminal.view_recording"]))]
    );
    problem(app.get("/api/v1/projects/payments/sessions", &bob).await, 403, "forbidden").await;

    // termaudit's own `projects` claim works unchanged.
    let carol = provider.id_token("carol").await;
    assert_eq!(
        held(&app, &carol).await,
        vec![("demo".to_owned(), names(&["terminal.view_history"]))]
    );

    // A value the mapping does not name grants nothing.
    let dave = provider.id_token("dave").await;
    assert!(held(&app, &dave).await.is_empty());
    problem(app.get("/api/v1/projects/payments/sessions", &dave).await, 404, "not-found").await;

    // termaudit's own tokens still work beside the provider's.
    let own = app.token("erin", "demo", &[termaudit_domain::Permission::ViewHistory]);
    json::<Value>(app.get("/api/v1/projects/demo/sessions", &own).await, 200).await;
}

#[tokio::test]
async fn keys_rotate_without_restarting_and_unknown_kids_refetch_at_most_once_in_a_while() {
    let provider = OidcProvider::start();
    let app = app_with(&provider).await;
    // The server fetches the keys once at start-up.
    provider.wait_for_jwks_requests(1).await;
    let fetched = provider.jwks_requests().await;

    let before = provider.id_token("alice").await;
    json::<Value>(app.get("/api/v1/me", &before).await, 200).await;
    assert_eq!(provider.jwks_requests().await, fetched, "a known key needs no fetch");

    let kid = provider.rotate().await;
    let after = provider.id_token("alice").await;
    let header = jsonwebtoken::decode_header(&after).expect("a header");
    assert_eq!(header.kid.as_deref(), Some(kid.as_str()), "the new key signs");
    json::<Value>(app.get("/api/v1/me", &after).await, 200).await;
    assert_eq!(provider.jwks_requests().await, fetched + 1, "the new kid was fetched once");
    // The old key is still published: tokens it signed stay valid.
    json::<Value>(app.get("/api/v1/me", &before).await, 200).await;

    // Right after that fetch, a kid nobody published is refused without another.
    let unknown =
        provider.sign("RS256", Some("never-published"), &provider.claims("alice", json!({})));
    assert_rejected(&app, &unknown, "not among").await;
    assert_eq!(provider.jwks_requests().await, fetched + 1, "rate-limited");
}

#[tokio::test]
async fn tokens_the_provider_did_not_issue_as_they_are_are_401() {
    let provider = OidcProvider::start();
    let app = app_with(&provider).await;
    // Alice's groups, then `overrides` (a null removes a claim).
    let claims = |overrides: Value| {
        let mut all = json!({"groups": ["sre-oncall"]});
        all.as_object_mut()
            .expect("an object")
            .extend(overrides.as_object().cloned().expect("an object"));
        provider.claims("alice", all)
    };

    // Each algorithm the provider may use, with its own key, is accepted.
    for alg in ["RS256", "ES256", "EdDSA"] {
        let token = provider.sign(alg, None, &claims(json!({})));
        json::<Value>(app.get("/api/v1/projects/payments/sessions", &token).await, 200).await;
    }

    let now = chrono::Utc::now().timestamp();
    let expired =
        provider.sign("RS256", None, &claims(json!({"iat": now - 7200, "exp": now - 3600})));
    assert_rejected(&app, &expired, "expired").await;
    let audience = provider.sign("RS256", None, &claims(json!({"aud": "another-client"})));
    assert_rejected(&app, &audience, "audience").await;
    let unknown_kid = provider.sign("ES256", Some("es256-unknown"), &claims(json!({})));
    assert_rejected(&app, &unknown_kid, "not among").await;
    // Another issuer is verified as termaudit's own, which the provider's keys cannot sign.
    let issuer = provider.sign("RS256", None, &claims(json!({"iss": "https://evil.example"})));
    assert_rejected(&app, &issuer, "not accepted").await;
    let no_subject = provider.sign("RS256", None, &claims(json!({"sub": null})));
    assert_rejected(&app, &no_subject, "sub").await;

    // alg confusion: an RS256 key's kid on an ES256 signature, HS256 with
    // termaudit's secret or with the provider's public key.
    let keys = provider.keys();
    let rsa = keys.iter().find(|k| k.alg == "RS256").expect("an RSA key");
    let mixed = provider.sign("ES256", Some(&rsa.kid), &claims(json!({})));
    assert_rejected(&app, &mixed, "not among").await;
    let with_secret = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims(json!({})),
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .expect("a token");
    assert_rejected(&app, &with_secret, "must be signed with RS256, ES256 or EdDSA").await;
    let mut hs_header = Header::new(Algorithm::HS256);
    hs_header.kid = Some(rsa.kid.clone());
    let with_public_pem = jsonwebtoken::encode(
        &hs_header,
        &claims(json!({})),
        &EncodingKey::from_secret(rsa.pem.as_bytes()),
    )
    .expect("a token");
    assert_rejected(&app, &with_public_pem, "must be signed with RS256, ES256 or EdDSA").await;

    // A payload swapped under a valid signature.
    let valid = provider.sign("RS256", None, &claims(json!({})));
    let more = provider.sign(
        "RS256",
        None,
        &claims(json!({"projects": {"demo": ["terminal.manage_policy"]}})),
    );
    let mut parts: Vec<&str> = valid.split('.').collect();
    parts[1] = more.split('.').nth(1).expect("a payload");
    assert_rejected(&app, &parts.join("."), "signature").await;

    // A projects claim of another shape is refused rather than half-read.
    let shape = provider.sign("RS256", None, &claims(json!({"projects": ["demo"]})));
    assert_rejected(&app, &shape, "projects").await;
}

#[tokio::test]
async fn the_sign_in_configuration_names_the_methods_offered() {
    let plain = TestApp::spawn().await;
    let response = plain.client.get(plain.url("/api/v1/auth/config")).send().await.expect("sent");
    let config: Value = json(response, 200).await;
    assert_eq!(config, json!({"methods": ["token"]}));

    let demo = TestApp::spawn_with(Box::new(|s| s.demo = true)).await;
    let response = demo.client.get(demo.url("/api/v1/auth/config")).send().await.expect("sent");
    let config: Value = json(response, 200).await;
    assert_eq!(config, json!({"methods": ["token", "demo"]}));

    let provider = OidcProvider::start_with(ProviderOptions::default());
    let app = app_with(&provider).await;
    let response = app.client.get(app.url("/api/v1/auth/config")).send().await.expect("sent");
    // The content security policy lets the web app reach the provider.
    let csp = response.headers()["content-security-policy"].to_str().expect("text").to_owned();
    assert!(csp.contains(&provider.issuer), "{csp}");
    let config: Value = json(response, 200).await;
    assert_eq!(
        config,
        json!({
            "methods": ["token", "oidc"],
            "oidc": {
                "issuer": provider.issuer,
                "client_id": "termaudit-web",
                "scopes": "openid profile groups termaudit",
            },
        })
    );
}

#[tokio::test]
async fn while_the_provider_cannot_be_reached_its_tokens_are_503_not_401() {
    let provider = OidcProvider::start();
    let token = provider.sign("RS256", None, &provider.claims("alice", json!({})));
    let configure = provider.configure(Some(mapping()));
    drop(provider);
    let app = TestApp::spawn_with(Box::new(configure)).await;
    let response = app.get("/api/v1/me", &token).await;
    assert_eq!(response.headers()["retry-after"], "5");
    problem(response, 503, "service-unavailable").await;
    // termaudit's own tokens do not depend on it.
    let own = app.token("erin", "demo", &[termaudit_domain::Permission::ViewHistory]);
    json::<Value>(app.get("/api/v1/me", &own).await, 200).await;
}
