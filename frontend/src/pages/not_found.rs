use yew::prelude::*;
use yew_router::prelude::*;

use crate::routes::Route;

#[component]
pub fn NotFound() -> Html {
    html! {
        <section class="card empty">
            <h1>{ "Page not found" }</h1>
            <p class="muted">{ "There is no page at this address." }</p>
            <Link<Route> to={Route::Home} classes="button">{ "Go to your projects" }</Link<Route>>
        </section>
    }
}
