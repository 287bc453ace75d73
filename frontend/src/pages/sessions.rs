use yew::prelude::*;
use yew_router::prelude::*;

use crate::routes::Route;
use crate::session::use_session;

#[derive(Properties, PartialEq)]
pub struct SessionsProps {
    pub slug: String,
}

/// A project's terminal sessions (to be filled in: for now the heading).
#[component]
pub fn Sessions(props: &SessionsProps) -> Html {
    let session = use_session();
    let project_name = session
        .me()
        .and_then(|me| me.projects.iter().find(|project| project.slug == props.slug))
        .map_or_else(|| props.slug.clone(), |project| project.name.clone());
    html! {
        <>
            <nav class="breadcrumbs" aria-label="Breadcrumbs">
                <Link<Route> to={Route::Projects}>{ "Projects" }</Link<Route>>
                <span aria-hidden="true">{ " / " }</span>
                <span>{ project_name }</span>
            </nav>
            <h1>{ "Sessions" }</h1>
        </>
    }
}
