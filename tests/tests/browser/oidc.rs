//! Signing in through a real OpenID provider (npm's oidc-provider, see
//! `termaudit_tests::oidc`): a deep link opened while signed out survives
//! the provider's login page, and signing out ends the provider's session.

use std::time::{Duration, Instant};

use serde_json::json;
use termaudit_api::{ClaimGrant, ClaimMapping};
use termaudit_tests::{
    TestApp,
    axe::assert_accessible,
    browser::{Browser, require_built_frontend},
    oidc::{OidcProvider, ProviderOptions},
};

use crate::PROJECT;

/// The server with the web app, signing in through `provider`, where
/// alice's group may read the project's history.
async fn app_with(provider: &OidcProvider) -> TestApp {
    let mapping = ClaimMapping {
        claim: "groups".into(),
        grant: vec![ClaimGrant {
            value: "sre-oncall".into(),
            project: PROJECT.into(),
            permissions: vec!["terminal.view_history".into(), "terminal.view_recording".into()],
        }],
    };
    let configure = provider.configure(Some(mapping));
    let dist = require_built_frontend();
    let app = TestApp::spawn_with(Box::new(move |settings| {
        settings.web_dir = Some(dist);
        configure(settings);
    }))
    .await;
    app.create_project(PROJECT).await;
    provider.allow_redirect(&app.url("/auth/callback")).await;
    app
}

/// Opens `deep_link` signed out and signs alice in through the provider's
/// login page.
async fn sign_in_through_the_provider(
    browser: &Browser,
    app: &TestApp,
    provider: &OidcProvider,
    deep_link: &str,
) {
    browser.goto(&app.url(deep_link)).await;
    browser.wait_for_url("/sign-in").await;
    browser.wait_for("[data-testid=provider-sign-in] button").await;
    assert_accessible(browser, "the sign-in page with a provider").await;
    browser.click_on("[data-testid=provider-sign-in] button").await;

    // The provider's own login page.
    let login = browser.wait_for("input[name=login]").await;
    assert!(browser.current_url().await.starts_with(&provider.issuer));
    browser.type_into(&login, "alice").await;
    let password = browser.wait_for("input[name=password]").await;
    browser.type_into(&password, "any password").await;
    browser.click_on("button[type=submit]").await;
}

#[tokio::test]
async fn the_provider_signs_in_and_the_deep_link_is_where_one_lands() {
    let provider = OidcProvider::start();
    let app = app_with(&provider).await;
    let browser = Browser::start().await;
    let deep_link = format!("/projects/{PROJECT}/sessions?status=closed");
    sign_in_through_the_provider(&browser, &app, &provider, &deep_link).await;

    let landed = browser.wait_for_url(&deep_link).await;
    assert_eq!(landed, app.url(&deep_link));
    let name = browser.wait_for_text(".nav-user-name", "Alice Martin").await;
    assert_eq!(name, "Alice Martin");
    // The provider's token is this tab's: session storage, not local storage.
    let kept = browser
        .execute(
            "return [sessionStorage.getItem('termaudit.oidc.signed_in') !== null, \
             localStorage.getItem('termaudit.token')];",
            vec![],
        )
        .await;
    assert_eq!(kept, json!([true, null]));

    // Signing out ends the provider's session too, then comes back.
    browser.click_on(".nav-user button").await;
    browser.wait_for_url("/session/end").await;
    browser.click_on("button[name=logout][value=yes]").await;
    browser.wait_for_url("/sign-in").await;
    let kept =
        browser.execute("return sessionStorage.getItem('termaudit.oidc.signed_in');", vec![]).await;
    assert_eq!(kept, json!(null));
}

#[tokio::test]
async fn before_the_id_token_expires_the_app_asks_again_and_comes_back() {
    // Asked again half a minute before expiry: some 30 s after signing in.
    let provider = OidcProvider::start_with(ProviderOptions {
        id_token_ttl: Some(Duration::from_secs(60)),
        ..ProviderOptions::default()
    });
    let app = app_with(&provider).await;
    let browser = Browser::start().await;
    let deep_link = format!("/projects/{PROJECT}/sessions?status=closed");
    sign_in_through_the_provider(&browser, &app, &provider, &deep_link).await;
    browser.wait_for_url(&deep_link).await;

    // The page it showed is kept while the app asks to sign in again.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !browser.current_url().await.contains("/sign-in") {
        assert!(Instant::now() < deadline, "the app did not ask to sign in again");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    browser.wait_for_text(".notice-info", "expired").await;
    // The provider's session still stands: no password this time.
    browser.click_on("[data-testid=provider-sign-in] button").await;
    assert_eq!(browser.wait_for_url(&deep_link).await, app.url(&deep_link));
    browser.wait_for_text(".nav-user-name", "Alice Martin").await;
}
