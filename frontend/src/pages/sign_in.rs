use gloo::net::http::Method;
use termaudit_api_types::{DemoToken, DemoUser, DemoUserList, Me, SignInConfig};
use web_sys::HtmlTextAreaElement;
use yew::platform::spawn_local;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError, Token};
use crate::components::ErrorNotice;
use crate::routes::{Route, go_after_sign_in};
use crate::session::{Session, SessionAction, use_session};

/// Checks `candidate` with `GET /me` and keeps it when the server accepts it.
async fn check_and_store(candidate: &str) -> Result<Me, ApiError> {
    let me = api::request::<Me>(Method::GET, "/me", None, Token::Candidate(candidate)).await?;
    api::store_token(candidate)?;
    Ok(me)
}

/// Paste a token; it is checked with `GET /me` and kept only if the server
/// accepts it.
#[component]
pub fn SignIn() -> Html {
    let session = use_session();
    let navigator = use_navigator();
    let token = use_state(String::new);
    let checking = use_state(|| false);
    let error = use_state(|| None::<ApiError>);

    let on_input = {
        let token = token.clone();
        Callback::from(move |event: InputEvent| {
            token.set(event.target_unchecked_into::<HtmlTextAreaElement>().value());
        })
    };

    let on_submit = {
        let (token, checking, error) = (token.clone(), checking.clone(), error.clone());
        let session = session.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            // People paste tokens with the "Bearer " prefix or a trailing newline.
            let candidate = token.trim();
            let candidate = candidate.strip_prefix("Bearer ").unwrap_or(candidate).trim();
            if candidate.is_empty() || *checking {
                return;
            }
            let candidate = candidate.to_owned();
            checking.set(true);
            error.set(None);
            let (checking, error) = (checking.clone(), error.clone());
            let session = session.clone();
            let navigator = navigator.clone();
            spawn_local(async move {
                let result = check_and_store(&candidate).await;
                checking.set(false);
                match result {
                    Ok(me) => {
                        session.dispatch(SessionAction::SignedIn(me));
                        go_after_sign_in(navigator.as_ref());
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        })
    };

    // Why the browser was signed out, when the server said so.
    let reason = match &*session {
        Session::SignedOut { reason: Some(reason) } if error.is_none() => Some(html! {
            <div class="notice notice-info" role="status">
                <p class="notice-title">{ "You were signed out" }</p>
                <p class="notice-detail">{ reason }</p>
            </div>
        }),
        _ => None,
    };

    html! {
        <section class="card sign-in">
            <h1>{ "Sign in" }</h1>
            <p class="muted">
                { "Paste the access token your administrator gave you. It is checked with the \
                   server, then kept in this browser's local storage and sent with every request \
                   until you sign out." }
            </p>
            { for reason }
            <ProviderSignIn />
            <DemoUsers />
            <form onsubmit={on_submit}>
                <label for="token" class="label">{ "Access token" }</label>
                <textarea
                    id="token"
                    class="token-input"
                    rows="6"
                    spellcheck="false"
                    autocomplete="off"
                    placeholder="eyJhbGciOi…"
                    value={(*token).clone()}
                    oninput={on_input}
                    disabled={*checking}
                />
                if let Some(failure) = &*error {
                    <ErrorNotice error={failure.clone()} />
                }
                <div class="form-actions">
                    <button
                        type="submit"
                        class="button button-primary"
                        disabled={*checking || token.trim().is_empty()}
                    >
                        { if *checking { "Checking…" } else { "Sign in" } }
                    </button>
                </div>
            </form>
        </section>
    }
}

/// In demo mode (`GET /demo/users` answers), the demo users as buttons: one
/// click asks for that user's token and signs in with it. Otherwise nothing.
#[component]
fn DemoUsers() -> Html {
    let session = use_session();
    let navigator = use_navigator();
    let users = use_state(|| None::<Vec<DemoUser>>);
    let busy = use_state(|| None::<String>);
    let error = use_state(|| None::<ApiError>);
    {
        let users = users.clone();
        use_effect_with((), move |()| {
            spawn_local(async move {
                // 404 outside demo mode; any other failure also means no demo
                // sign-in, and the token form still works.
                let listed = api::request::<DemoUserList>(
                    Method::GET,
                    "/demo/users",
                    None,
                    Token::Anonymous,
                )
                .await;
                if let Ok(list) = listed {
                    users.set(Some(list.items));
                }
            });
        });
    }
    let Some(list) = &*users else { return html! {} };

    let pick = |subject: String| {
        let (busy, error, session, navigator) =
            (busy.clone(), error.clone(), session.clone(), navigator.clone());
        Callback::from(move |_: MouseEvent| {
            if busy.is_some() {
                return;
            }
            busy.set(Some(subject.clone()));
            error.set(None);
            let (busy, error, session, navigator) =
                (busy.clone(), error.clone(), session.clone(), navigator.clone());
            let body = serde_json::json!({ "subject": subject });
            spawn_local(async move {
                let result = async {
                    let granted = api::request::<DemoToken>(
                        Method::POST,
                        "/demo/token",
                        Some(&body),
                        Token::Anonymous,
                    )
                    .await?;
                    check_and_store(&granted.token).await
                }
                .await;
                busy.set(None);
                match result {
                    Ok(me) => {
                        session.dispatch(SessionAction::SignedIn(me));
                        go_after_sign_in(navigator.as_ref());
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        })
    };

    html! {
        <div class="demo-users" data-testid="demo-users">
            <h2>{ "Try it as a demo user" }</h2>
            <p class="muted">{ "This server runs with demo data. Pick a user to sign in with their token." }</p>
            <ul class="demo-list">
                { for list.iter().map(|user| html! {
                    <li key={user.subject.clone()}>
                        <button type="button" class="button demo-user" data-subject={user.subject.clone()}
                            onclick={pick(user.subject.clone())} disabled={busy.is_some()}>
                            <span class="demo-name">{ &user.name }</span>
                            <span class="demo-role muted small">{ &user.role }</span>
                            <span class="demo-permissions">
                                { for user.permissions.iter().map(|permission| html! {
                                    <span class="chip small">{ permission }</span>
                                }) }
                            </span>
                            if busy.as_deref() == Some(user.subject.as_str()) {
                                <span class="muted small">{ "Signing in…" }</span>
                            }
                        </button>
                    </li>
                }) }
            </ul>
            if let Some(failure) = &*error {
                <ErrorNotice error={failure.clone()} />
            }
            <p class="muted small">{ "Or paste a token:" }</p>
        </div>
    }
}

/// When the server names an OpenID provider (`GET /auth/config`), a button
/// that signs in through it. Otherwise nothing.
#[component]
fn ProviderSignIn() -> Html {
    let config = use_state(|| None::<SignInConfig>);
    let busy = use_state(|| false);
    let error = use_state(|| None::<ApiError>);
    {
        let config = config.clone();
        use_effect_with((), move |()| {
            spawn_local(async move {
                let answer = api::request::<SignInConfig>(
                    Method::GET,
                    "/auth/config",
                    None,
                    Token::Anonymous,
                )
                .await;
                if let Ok(answer) = answer {
                    config.set(Some(answer));
                }
            });
        });
    }
    let Some(provider) = config.as_ref().and_then(|c| c.oidc.clone()) else {
        return html! {};
    };
    let host = provider
        .issuer
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(&provider.issuer)
        .to_owned();
    let on_click = {
        let (busy, error) = (busy.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            busy.set(true);
            error.set(None);
            let (busy, error, provider) = (busy.clone(), error.clone(), provider.clone());
            spawn_local(async move {
                // On success the browser leaves for the provider's page.
                if let Err(failure) = crate::oidc::start(&provider).await {
                    busy.set(false);
                    error.set(Some(failure));
                }
            });
        })
    };
    html! {
        <div class="provider-sign-in" data-testid="provider-sign-in">
            <button type="button" class="button button-primary" onclick={on_click} disabled={*busy}>
                { format!("Sign in with {host}") }
            </button>
            if let Some(failure) = &*error {
                <ErrorNotice error={failure.clone()} />
            }
            <p class="muted small">{ "Or paste a token:" }</p>
        </div>
    }
}

/// `/auth/callback`: the provider sent the browser back with a code; it is
/// redeemed for the ID token, checked with `GET /me`, kept for this tab,
/// and the person lands where they were going.
#[component]
pub fn AuthCallback() -> Html {
    let session = use_session();
    let navigator = use_navigator();
    let error = use_state(|| None::<ApiError>);
    {
        let error = error.clone();
        use_effect_with((), move |()| {
            let search = gloo::utils::window().location().search().unwrap_or_default();
            spawn_local(async move {
                let result = async {
                    let held = crate::oidc::finish(&search).await?;
                    let me = api::request::<Me>(
                        Method::GET,
                        "/me",
                        None,
                        Token::Candidate(&held.id_token),
                    )
                    .await?;
                    crate::oidc::keep(&held)?;
                    Ok::<_, ApiError>((me, held))
                }
                .await;
                match result {
                    Ok((me, _)) => {
                        session.dispatch(SessionAction::SignedIn(me));
                        go_after_sign_in(navigator.as_ref());
                    }
                    Err(failure) => error.set(Some(failure)),
                }
            });
        });
    }
    html! {
        <section class="card sign-in">
            <h1>{ "Signing in…" }</h1>
            if let Some(failure) = &*error {
                <ErrorNotice error={failure.clone()} />
                <p><Link<Route> to={Route::SignIn}>{ "Back to sign-in" }</Link<Route>></p>
            }
        </section>
    }
}
