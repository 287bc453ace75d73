use yew::prelude::*;
use yew_router::prelude::*;

use crate::api;
use crate::routes::Route;
use crate::session::{Session, SessionAction, use_session};

#[derive(Properties, PartialEq)]
pub struct LayoutProps {
    pub children: Html,
}

/// The frame around every page: a link past the navigation for keyboards,
/// the navigation bar and the main column.
#[component]
pub fn Layout(props: &LayoutProps) -> Html {
    let main = use_node_ref();
    // Focus moves to the page's content without changing the address (a
    // `#main` fragment would be a route change to the router).
    let skip = {
        let main = main.clone();
        Callback::from(move |event: MouseEvent| {
            event.prevent_default();
            if let Some(main) = main.cast::<web_sys::HtmlElement>() {
                let _ = main.focus();
            }
        })
    };
    html! {
        <>
            <a href="#main" class="skip-link" onclick={skip} data-testid="skip-link">{ "Skip to content" }</a>
            <NavBar />
            <main id="main" class="main" tabindex="-1" ref={main}>{ props.children.clone() }</main>
        </>
    }
}

/// The brand, the links a signed-in caller can follow, and who they are.
#[component]
fn NavBar() -> Html {
    let session = use_session();
    let navigator = use_navigator();
    let route = use_route::<Route>();

    let on_sign_out = {
        let session = session.clone();
        Callback::from(move |_: MouseEvent| {
            // Signed in through the provider: sign out there too, when it can.
            let provider_end = crate::oidc::sign_out();
            api::forget_token();
            session.dispatch(SessionAction::SignedOut { reason: None });
            if let Some(url) = provider_end {
                let _ = gloo::utils::window().location().assign(&url);
            } else if let Some(navigator) = &navigator {
                navigator.push(&Route::SignIn);
            }
        })
    };

    let projects_active = matches!(
        route,
        Some(
            Route::Projects
                | Route::Sessions { .. }
                | Route::SessionDetail { .. }
                | Route::Policy { .. }
        )
    );
    let signed_in = match &*session {
        Session::SignedIn(me) => Some(html! {
            <>
                <nav class="nav-links" aria-label="Main">
                    <Link<Route>
                        to={Route::Projects}
                        classes={classes!("nav-link", projects_active.then_some("active"))}
                    >
                        { "Projects" }
                    </Link<Route>>
                </nav>
                <div class="nav-user">
                    <span class="nav-user-name" title={format!("Signed in as {}", me.subject)}>
                        { &me.name }
                    </span>
                    <button type="button" class="button button-quiet" onclick={on_sign_out}>
                        { "Sign out" }
                    </button>
                </div>
            </>
        }),
        _ => None,
    };

    html! {
        <header class="navbar">
            <div class="navbar-inner">
                <Link<Route> to={Route::Home} classes="brand">
                    <span class="brand-mark" aria-hidden="true">{ ">_" }</span>
                    { "termaudit" }
                </Link<Route>>
                { for signed_in }
            </div>
        </header>
    }
}
