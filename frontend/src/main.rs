//! termaudit's web app: operators' terminal session history and recordings,
//! in the browser. It talks only to termaudit's own API (`/api/v1`), with the
//! token the caller pasted on the sign-in page.

mod api;
mod audit;
mod components;
mod filters;
mod gateway_socket;
mod hooks;
mod live;
mod oidc;
mod pages;
mod player;
mod routes;
mod session;
mod terminal;
mod time;

use termaudit_api_types::Me;
use yew::platform::spawn_local;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::ApiError;
use crate::components::Layout;
use crate::routes::Route;
use crate::session::{Session, SessionAction, SessionHandle};

#[component]
fn App() -> Html {
    let session = use_reducer(|| {
        if api::stored_token().is_some() {
            Session::Checking
        } else {
            routes::remember_here();
            Session::SignedOut { reason: None }
        }
    });

    {
        let session = session.clone();
        use_effect_with((), move |()| {
            // Whichever page's request the server rejects with 401, the
            // browser is then signed out (api::request forgot the token).
            let on_signed_out = session.clone();
            api::set_signed_out_listener(Callback::from(move |reason| {
                routes::remember_here();
                on_signed_out.dispatch(SessionAction::SignedOut { reason: Some(reason) });
            }));
            // A token from an earlier visit: find out whose it is, or that it
            // no longer works (a 401 reaches the listener above).
            if api::stored_token().is_some() {
                spawn_local(async move {
                    match api::get::<Me>("/me").await {
                        Ok(me) => session.dispatch(SessionAction::SignedIn(me)),
                        Err(ApiError::SignedOut { .. }) => {}
                        Err(error) => session.dispatch(SessionAction::Unavailable(error)),
                    }
                });
            }
        });
    }

    {
        // A provider sign-in ends with its ID token: ask to sign in again
        // half a minute before, coming back to the page shown then.
        let signed_in = matches!(*session, Session::SignedIn(_));
        let session = session.clone();
        use_effect_with(signed_in, move |signed_in| {
            let timer = signed_in.then(oidc::signed_in).flatten().map(|held| {
                let now = (js_sys::Date::now() / 1000.0) as i64;
                let left = (held.expires_at - now - 30).clamp(0, 86_400) as u32;
                gloo::timers::callback::Timeout::new(left * 1000, move || {
                    routes::remember_here();
                    api::forget_token();
                    session.dispatch(SessionAction::SignedOut {
                        reason: Some(
                            "Your sign-in through the identity provider has expired; sign in \
                             again to continue."
                                .into(),
                        ),
                    });
                })
            });
            move || drop(timer)
        });
    }

    let render = {
        let session = session.clone();
        Callback::from(move |route: Route| routes::switch(route, &session))
    };

    html! {
        <ContextProvider<SessionHandle> context={session}>
            <BrowserRouter>
                <Layout>
                    <Switch<Route> {render} />
                </Layout>
            </BrowserRouter>
        </ContextProvider<SessionHandle>>
    }
}

fn main() {
    // index.html shows a "Loading…" line in #app until the app replaces it.
    let document = gloo::utils::document();
    match document.get_element_by_id("app") {
        Some(root) => {
            root.set_inner_html("");
            yew::Renderer::<App>::with_root(root).render();
        }
        None => {
            yew::Renderer::<App>::new().render();
        }
    };
}
