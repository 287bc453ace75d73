use termaudit_api_types::{Project, ProjectList};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::{ErrorNotice, Loading};
use crate::hooks::{Fetch, use_get};
use crate::routes::Route;

/// The projects the caller may see, with what they may do in each.
#[component]
pub fn Projects() -> Html {
    let projects = use_get::<ProjectList>("/projects".to_owned());

    let body = match &projects.state {
        Fetch::Loading => html! { <Loading label="Loading projects…" /> },
        Fetch::Failed(error) => html! {
            <ErrorNotice error={error.clone()} on_retry={projects.reload.clone()} />
        },
        Fetch::Loaded(list) if list.items.is_empty() => html! {
            <div class="card empty">
                <p class="notice-title">{ "No projects yet" }</p>
                <p class="muted">
                    { "Your token grants access to no project. Ask an administrator for one that does." }
                </p>
            </div>
        },
        Fetch::Loaded(list) => {
            let mut items: Vec<&Project> = list.items.iter().collect();
            items.sort_by_cached_key(|project| project.name.to_lowercase());
            html! {
                <div class="table-wrap">
                    <table class="table">
                        <thead>
                            <tr>
                                <th scope="col">{ "Project" }</th>
                                <th scope="col">{ "Your permissions" }</th>
                                <th scope="col" class="col-action"><span class="sr-only">{ "Open" }</span></th>
                            </tr>
                        </thead>
                        <tbody>
                            { for items.into_iter().map(project_row) }
                        </tbody>
                    </table>
                </div>
            }
        }
    };

    let count = match &projects.state {
        Fetch::Loaded(list) => Some(html! {
            <span class="count">{ plural(list.items.len(), "project", "projects") }</span>
        }),
        _ => None,
    };

    html! {
        <>
            <div class="page-head">
                <h1>{ "Projects" }</h1>
                { for count }
            </div>
            { body }
        </>
    }
}

fn project_row(project: &Project) -> Html {
    let to = Route::Sessions { slug: project.slug.clone() };
    let mut permissions = project.permissions.clone();
    permissions.sort();
    html! {
        <tr key={project.slug.clone()}>
            <td>
                <Link<Route> to={to.clone()} classes="project-name">{ &project.name }</Link<Route>>
                <div class="project-slug"><code>{ &project.slug }</code></div>
            </td>
            <td>
                if permissions.is_empty() {
                    <span class="muted">{ "none" }</span>
                } else {
                    <ul class="chips">
                        { for permissions.iter().map(|permission| html! {
                            <li class="chip">{ permission }</li>
                        }) }
                    </ul>
                }
            </td>
            <td class="col-action">
                <Link<Route> {to} classes="row-link">{ "Sessions →" }</Link<Route>>
            </td>
        </tr>
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
