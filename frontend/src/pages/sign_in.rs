use gloo::net::http::Method;
use termaudit_api_types::Me;
use web_sys::HtmlTextAreaElement;
use yew::platform::spawn_local;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError, Token};
use crate::components::ErrorNotice;
use crate::routes::Route;
use crate::session::{Session, SessionAction, use_session};

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
                let result =
                    api::request::<Me>(Method::GET, "/me", None, Token::Candidate(&candidate))
                        .await
                        .and_then(|me| api::store_token(&candidate).map(|()| me));
                checking.set(false);
                match result {
                    Ok(me) => {
                        session.dispatch(SessionAction::SignedIn(me));
                        if let Some(navigator) = navigator {
                            navigator.push(&Route::Projects);
                        }
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
