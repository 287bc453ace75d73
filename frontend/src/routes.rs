//! Every page's URL. The server answers unknown non-API paths with
//! index.html, so each of these can be loaded directly or bookmarked.

use yew::prelude::*;
use yew_router::prelude::*;

use gloo::storage::{SessionStorage, Storage};

use crate::components::{ErrorNotice, Loading};
use crate::pages::{
    AuthCallback, NotFound, PolicyPage, Projects, SessionDetail, Sessions, SignIn, TerminalPage,
};
use crate::session::Session;

#[derive(Debug, Clone, PartialEq, Routable)]
pub enum Route {
    #[at("/")]
    Home,
    #[at("/sign-in")]
    SignIn,
    /// Where the OpenID provider sends the browser back to.
    #[at("/auth/callback")]
    AuthCallback,
    #[at("/projects")]
    Projects,
    #[at("/projects/:slug/sessions")]
    Sessions { slug: String },
    #[at("/projects/:slug/policy")]
    Policy { slug: String },
    #[at("/projects/:slug/terminal")]
    Terminal { slug: String },
    #[at("/projects/:slug/sessions/:id")]
    SessionDetail { slug: String, id: String },
    #[not_found]
    #[at("/404")]
    NotFound,
}

/// The browser's title for `route`: what the page is, then where.
pub fn title(route: &Route) -> String {
    let page = match route {
        Route::Home | Route::Projects => "Projects".to_owned(),
        Route::SignIn | Route::AuthCallback => "Sign in".to_owned(),
        Route::Sessions { slug } => format!("Session history · {slug}"),
        Route::Policy { slug } => format!("Policy · {slug}"),
        Route::Terminal { slug } => format!("Terminal · {slug}"),
        Route::SessionDetail { slug, id } => {
            format!("Session {} · {slug}", id.split('-').next().unwrap_or(id))
        }
        Route::NotFound => "Page not found".to_owned(),
    };
    format!("{page} · termaudit")
}

#[derive(Properties, PartialEq)]
struct TitleProps {
    text: String,
}

/// Sets the document's title (the tab, the history, bookmarks).
#[component]
fn Title(props: &TitleProps) -> Html {
    use_effect_with(props.text.clone(), |text| gloo::utils::document().set_title(text));
    html! {}
}

/// The page for `route` in `session`, under its title.
pub fn switch(route: Route, session: &Session) -> Html {
    html! { <><Title text={title(&route)} />{ page(route, session) }</> }
}

/// The page for `route` in `session`: pages that need a caller send a
/// signed-out browser to the sign-in page, and the sign-in page sends a
/// signed-in one to the projects.
fn page(route: Route, session: &Session) -> Html {
    match (route, session) {
        (Route::NotFound, _) => html! { <NotFound /> },
        (Route::AuthCallback, _) => html! { <AuthCallback /> },
        (_, Session::Checking) => html! { <Loading label="Checking your token…" /> },
        (_, Session::Unavailable(error)) => {
            // Reloading the page checks the stored token again.
            let on_retry = Callback::from(|()| {
                let _ = gloo::utils::window().location().reload();
            });
            html! { <ErrorNotice error={error.clone()} {on_retry} /> }
        }
        (Route::SignIn, Session::SignedOut { .. }) => html! { <SignIn /> },
        (_, Session::SignedOut { .. }) => html! { <Redirect<Route> to={Route::SignIn} /> },
        (Route::SignIn | Route::Home, Session::SignedIn(_)) => {
            html! { <Redirect<Route> to={Route::Projects} /> }
        }
        (Route::Projects, Session::SignedIn(_)) => html! { <Projects /> },
        (Route::Sessions { slug }, Session::SignedIn(_)) => html! { <Sessions {slug} /> },
        (Route::Policy { slug }, Session::SignedIn(_)) => html! { <PolicyPage {slug} /> },
        (Route::Terminal { slug }, Session::SignedIn(_)) => html! { <TerminalPage {slug} /> },
        (Route::SessionDetail { slug, id }, Session::SignedIn(_)) => {
            html! { <SessionDetail {slug} {id} /> }
        }
    }
}

/// Where a signed-out tab was going, kept for after the sign-in.
const RETURN_KEY: &str = "termaudit.return_to";

/// Keeps the page this tab shows (path and query: a deep link with its
/// filters, a session) to come back to after signing in. Called when the
/// tab finds itself signed out (opened without a token, a token refused or
/// expired), not when the person signs out.
pub fn remember_here() {
    let location = gloo::utils::window().location();
    let path = location.pathname().unwrap_or_default();
    let search = location.search().unwrap_or_default();
    if path.starts_with('/') && !matches!(path.as_str(), "/" | "/sign-in" | "/auth/callback") {
        let _ = SessionStorage::set(RETURN_KEY, format!("{path}{search}"));
    }
}

/// After a sign-in by any method: the page the person asked for, else the projects.
pub fn go_after_sign_in(navigator: Option<&yew_router::navigator::Navigator>) {
    let kept = SessionStorage::get::<String>(RETURN_KEY).ok();
    SessionStorage::delete(RETURN_KEY);
    match kept {
        // A path of this origin only, never `//elsewhere`.
        Some(path) if path.starts_with('/') && !path.starts_with("//") => {
            use yew_router::history::{BrowserHistory, History};
            BrowserHistory::new().push(path);
        }
        _ => {
            if let Some(navigator) = navigator {
                navigator.push(&Route::Projects);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_page_has_a_title_of_its_own() {
        let session = Route::SessionDetail {
            slug: "demo".into(),
            id: "0194c1d2-7c1a-7e2b-9c55-3f1f6f3d2a10".into(),
        };
        assert_eq!(title(&session), "Session 0194c1d2 · demo · termaudit");
        assert_eq!(
            title(&Route::Sessions { slug: "demo".into() }),
            "Session history · demo · termaudit"
        );
        assert_eq!(title(&Route::SignIn), "Sign in · termaudit");
    }
}
