//! The project's session history: filters kept in the URL, newest first,
//! "Load more" through the API's keyset cursor.

use std::collections::BTreeSet;
use std::rc::Rc;

use chrono::Local;
use termaudit_api_types::{Session, SessionPage, TargetList};
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::platform::spawn_local;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError, encode};
use crate::components::{Environment, ErrorNotice, Loading, Recorded, Status, Time, humanize};
use crate::filters::Filters;
use crate::hooks::{Fetch, use_get};
use crate::routes::Route;
use crate::session::use_session;
use crate::time;

#[derive(Properties, PartialEq)]
pub struct SessionsProps {
    pub slug: String,
}

/// The sessions loaded so far and whether more are being fetched.
#[derive(Debug, Clone, PartialEq)]
struct Loaded {
    items: Rc<Vec<Session>>,
    next_cursor: Option<String>,
    more: More,
}

#[derive(Debug, Clone, PartialEq)]
enum More {
    Idle,
    Loading,
    Failed(ApiError),
}

/// A project's terminal sessions, filtered by the URL's query string.
#[component]
pub fn Sessions(props: &SessionsProps) -> Html {
    let session = use_session();
    let navigator = use_navigator();
    let location = use_location();
    let slug = props.slug.clone();
    let filters: Filters =
        location.as_ref().and_then(|location| location.query::<Filters>().ok()).unwrap_or_default();

    let project_name = session
        .me()
        .and_then(|me| me.projects.iter().find(|project| project.slug == slug))
        .map_or_else(|| slug.clone(), |project| project.name.clone());

    let targets = use_get::<TargetList>(format!("/projects/{}/targets", encode(&slug)));
    let may_connect = session.can(&slug, crate::session::permission::CONNECT);

    // The first page whenever the filters change; later pages are appended.
    let list = use_state(|| Fetch::<Loaded>::Loading);
    let generation = use_mut_ref(|| 0_u32);
    let attempt = use_state(|| 0_u32);
    {
        let (list, generation) = (list.clone(), generation.clone());
        use_effect_with((slug.clone(), filters.clone(), *attempt), move |(slug, filters, _)| {
            *generation.borrow_mut() += 1;
            let mine = *generation.borrow();
            list.set(Fetch::Loading);
            let path = filters.api_path(slug, None);
            spawn_local(async move {
                let result = api::get::<SessionPage>(&path).await;
                if *generation.borrow() == mine {
                    list.set(match result {
                        Ok(page) => Fetch::Loaded(Rc::new(Loaded {
                            items: Rc::new(page.items),
                            next_cursor: page.next_cursor,
                            more: More::Idle,
                        })),
                        Err(error) => Fetch::Failed(error),
                    });
                }
            });
        });
    }
    let reload = {
        let attempt = attempt.clone();
        Callback::from(move |()| attempt.set(attempt.wrapping_add(1)))
    };

    let on_load_more = {
        let (list, generation) = (list.clone(), generation.clone());
        let (slug, filters) = (slug.clone(), filters.clone());
        Callback::from(move |_: MouseEvent| {
            let Fetch::Loaded(loaded) = &*list else { return };
            let Some(cursor) = loaded.next_cursor.clone() else { return };
            if loaded.more == More::Loading {
                return;
            }
            let before = Rc::clone(loaded);
            list.set(Fetch::Loaded(Rc::new(Loaded { more: More::Loading, ..(*before).clone() })));
            let mine = *generation.borrow();
            let path = filters.api_path(&slug, Some(&cursor));
            let (list, generation) = (list.clone(), generation.clone());
            spawn_local(async move {
                let result = api::get::<SessionPage>(&path).await;
                if *generation.borrow() != mine {
                    return;
                }
                list.set(Fetch::Loaded(Rc::new(match result {
                    Ok(page) => {
                        let mut items = (*before.items).clone();
                        items.extend(page.items);
                        Loaded {
                            items: Rc::new(items),
                            next_cursor: page.next_cursor,
                            more: More::Idle,
                        }
                    }
                    Err(error) => Loaded { more: More::Failed(error), ..(*before).clone() },
                })));
            });
        })
    };

    let apply = {
        let (navigator, slug) = (navigator.clone(), slug.clone());
        Callback::from(move |filters: Filters| {
            let Some(navigator) = &navigator else { return };
            let route = Route::Sessions { slug: slug.clone() };
            let filters = filters.trimmed();
            if filters.is_empty() {
                navigator.push(&route);
            } else {
                let _ = navigator.push_with_query(&route, &filters);
            }
        })
    };

    let targets_list = match &targets.state {
        Fetch::Loaded(list) => Some(Rc::clone(list)),
        _ => None,
    };

    let body = match &*list {
        Fetch::Loading => html! { <Loading label="Loading sessions…" /> },
        Fetch::Failed(error) => html! { <ErrorNotice error={error.clone()} on_retry={reload} /> },
        Fetch::Loaded(loaded) if loaded.items.is_empty() => {
            let clear = apply.clone();
            html! {
                <div class="card empty" data-testid="sessions-empty">
                    if filters.is_empty() {
                        <p class="notice-title">{ "No sessions yet" }</p>
                        <p class="muted">
                            { "Sessions appear here as soon as the terminal gateway opens them." }
                        </p>
                    } else {
                        <p class="notice-title">{ "No sessions match these filters" }</p>
                        <p class="muted">{ "Loosen a filter, or clear them all." }</p>
                        <button type="button" class="button"
                            onclick={move |_| clear.emit(Filters::default())}>
                            { "Clear filters" }
                        </button>
                    }
                </div>
            }
        }
        Fetch::Loaded(loaded) => html! {
            <>
                <div class="table-wrap">
                    <table class="table sessions-table">
                        <thead>
                            <tr>
                                <th scope="col">{ "Opened" }</th>
                                <th scope="col">{ "User" }</th>
                                <th scope="col">{ "Target" }</th>
                                <th scope="col">{ "Environment" }</th>
                                <th scope="col">{ "Mode" }</th>
                                <th scope="col">{ "Reason" }</th>
                                <th scope="col">{ "Status" }</th>
                                <th scope="col" class="col-rec">{ "Rec." }</th>
                            </tr>
                        </thead>
                        <tbody>
                            { for loaded.items.iter().map(|item| session_row(&slug, item)) }
                        </tbody>
                    </table>
                </div>
                <div class="list-foot">
                    <span class="muted" data-testid="sessions-count">
                        { format!("{} shown", plural(loaded.items.len(), "session", "sessions")) }
                        { if loaded.next_cursor.is_some() { ", more available" } else { "" } }
                    </span>
                    if let More::Failed(error) = &loaded.more {
                        <ErrorNotice error={error.clone()} />
                    }
                    if loaded.next_cursor.is_some() {
                        <button type="button" class="button" onclick={on_load_more}
                            disabled={loaded.more == More::Loading}>
                            { if loaded.more == More::Loading { "Loading…" } else { "Load more" } }
                        </button>
                    }
                </div>
            </>
        },
    };

    html! {
        <>
            <nav class="breadcrumbs" aria-label="Breadcrumbs">
                <Link<Route> to={Route::Projects}>{ "Projects" }</Link<Route>>
                <span aria-hidden="true">{ " / " }</span>
                <span>{ project_name }</span>
            </nav>
            <div class="page-head">
                <h1>{ "Session history" }</h1>
                <div class="head-actions">
                    if may_connect {
                        <Link<Route> to={Route::Terminal { slug: props.slug.clone() }} classes="button" >
                            { "Open a shell" }
                        </Link<Route>>
                    }
                    <crate::pages::ExportDialog slug={props.slug.clone()} filters={filters.clone()} />
                    <Link<Route> to={Route::Policy { slug: props.slug.clone() }} classes="button" >
                        { "Policy" }
                    </Link<Route>>
                </div>
            </div>
            <FilterBar filters={filters.clone()} targets={targets_list} on_apply={apply} />
            { body }
        </>
    }
}

fn session_row(slug: &str, session: &Session) -> Html {
    let to = Route::SessionDetail { slug: slug.to_owned(), id: session.id.to_string() };
    let status_note = match session.status.as_str() {
        "closed" => session.close_reason.as_deref().map(humanize),
        "dropped" => session.drop_cause.as_deref().map(humanize),
        _ => None,
    };
    html! {
        <tr key={session.id.to_string()} data-session-id={session.id.to_string()}>
            <td class="nowrap">
                <Link<Route> {to} classes="row-link">
                    <Time at={session.opened_at} />
                </Link<Route>>
            </td>
            <td class="nowrap">
                <span title={session.user.subject.clone()}>{ &session.user.name }</span>
            </td>
            <td>
                <div class="target-name">{ &session.target_name }</div>
                <div class="muted small">{ &session.target_kind }</div>
            </td>
            <td><Environment name={session.environment.clone()} class={session.environment_class.clone()} /></td>
            <td><span class="chip">{ &session.mode }</span></td>
            <td class="reason">
                { session.reason.clone().map_or_else(|| html! { <span class="muted">{ "—" }</span> }, |reason| html! { reason }) }
            </td>
            <td class="nowrap">
                <Status status={session.status.clone()} />
                if let Some(note) = status_note {
                    <div class="muted small status-note">{ note }</div>
                }
            </td>
            <td class="col-rec"><Recorded recorded={session.recorded} /></td>
        </tr>
    }
}

#[derive(Properties, PartialEq)]
struct FilterBarProps {
    filters: Filters,
    targets: Option<Rc<TargetList>>,
    on_apply: Callback<Filters>,
}

/// Every filter of the API. Choices apply at once; typed ones on "Apply".
#[component]
fn FilterBar(props: &FilterBarProps) -> Html {
    let draft = use_state(|| props.filters.clone());
    {
        // Back and forward change the URL's filters: show those.
        let draft = draft.clone();
        use_effect_with(props.filters.clone(), move |filters| draft.set(filters.clone()));
    }

    // A choice changes the draft and applies it.
    let choose = |set: fn(&mut Filters, String)| {
        let (draft, on_apply) = (draft.clone(), props.on_apply.clone());
        Callback::from(move |event: Event| {
            let mut next = (*draft).clone();
            set(&mut next, event.target_unchecked_into::<HtmlSelectElement>().value());
            draft.set(next.clone());
            on_apply.emit(next);
        })
    };
    // Typing only changes the draft.
    let edit = |set: fn(&mut Filters, String)| {
        let draft = draft.clone();
        Callback::from(move |event: InputEvent| {
            let mut next = (*draft).clone();
            set(&mut next, event.target_unchecked_into::<HtmlInputElement>().value());
            draft.set(next);
        })
    };
    let edit_time = |set: fn(&mut Filters, String)| {
        let draft = draft.clone();
        Callback::from(move |event: Event| {
            let value = event.target_unchecked_into::<HtmlInputElement>().value();
            let mut next = (*draft).clone();
            set(&mut next, time::from_input(&value, &Local).unwrap_or_default());
            draft.set(next);
        })
    };

    let on_submit = {
        let (draft, on_apply) = (draft.clone(), props.on_apply.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            on_apply.emit((*draft).clone());
        })
    };
    let on_clear = {
        let on_apply = props.on_apply.clone();
        Callback::from(move |_: MouseEvent| on_apply.emit(Filters::default()))
    };

    let targets: Vec<(String, String)> = props
        .targets
        .iter()
        .flat_map(|list| list.items.iter())
        .map(|target| (target.id.to_string(), format!("{} ({})", target.name, target.environment)))
        .collect();
    let mut environments: BTreeSet<String> = props
        .targets
        .iter()
        .flat_map(|list| list.items.iter().map(|target| target.environment.clone()))
        .collect();
    if !draft.environment.is_empty() {
        environments.insert(draft.environment.clone());
    }
    let environments: Vec<(String, String)> =
        environments.into_iter().map(|env| (env.clone(), env)).collect();
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter().map(|(value, label)| ((*value).to_owned(), (*label).to_owned())).collect()
    };

    html! {
        <form class="card filters" onsubmit={on_submit} aria-label="Filter sessions" role="search">
            <div class="filters-grid">
                { select("f-status", "Status", &draft.status, &pairs(&[("active", "Live"), ("dropped", "Dropped"), ("closed", "Closed")]), choose(|f, v| f.status = v)) }
                { select("f-class", "Environment class", &draft.environment_class, &pairs(&[("production", "Production"), ("non_production", "Non-production")]), choose(|f, v| f.environment_class = v)) }
                { select("f-environment", "Environment", &draft.environment, &environments, choose(|f, v| f.environment = v)) }
                { select("f-target", "Target", &draft.target_id, &targets, choose(|f, v| f.target_id = v)) }
                { select("f-mode", "Mode", &draft.mode, &pairs(&[("shell", "Shell"), ("database", "Database"), ("runbook", "Runbook"), ("command", "Command")]), choose(|f, v| f.mode = v)) }
                { select("f-recording", "Recording", &draft.has_recording, &pairs(&[("true", "Recorded"), ("false", "Not recorded")]), choose(|f, v| f.has_recording = v)) }
                <div class="field">
                    <label for="f-user" class="label">{ "User" }</label>
                    <input id="f-user" class="input" type="text" placeholder="subject, e.g. alice"
                        value={draft.user.clone()} oninput={edit(|f, v| f.user = v)} />
                </div>
                <div class="field">
                    <label for="f-from" class="label">{ "Opened from" }</label>
                    <input id="f-from" class="input" type="datetime-local"
                        value={time::to_input(&draft.opened_from, &Local)} onchange={edit_time(|f, v| f.opened_from = v)} />
                </div>
                <div class="field">
                    <label for="f-to" class="label">{ "Opened before" }</label>
                    <input id="f-to" class="input" type="datetime-local"
                        value={time::to_input(&draft.opened_to, &Local)} onchange={edit_time(|f, v| f.opened_to = v)} />
                </div>
                <div class="field field-wide">
                    <label for="f-q" class="label">{ "Search" }</label>
                    <input id="f-q" class="input" type="search" minlength="2" maxlength="200" placeholder="reason, target, user or command text"
                        value={draft.q.clone()} oninput={edit(|f, v| f.q = v)} />
                </div>
            </div>
            <div class="filters-actions">
                if !props.filters.is_empty() {
                    <span class="muted small">{ plural(props.filters.count(), "filter", "filters") }{ " applied" }</span>
                    <button type="button" class="button button-quiet" onclick={on_clear}>{ "Clear filters" }</button>
                }
                <button type="submit" class="button button-primary">{ "Apply" }</button>
            </div>
        </form>
    }
}

fn select(
    id: &'static str,
    label: &'static str,
    current: &str,
    options: &[(String, String)],
    onchange: Callback<Event>,
) -> Html {
    html! {
        <div class="field">
            <label for={id} class="label">{ label }</label>
            <select {id} class="input" {onchange}>
                <option value="" selected={current.is_empty()}>{ "Any" }</option>
                { for options.iter().map(|(value, text)| html! {
                    <option value={value.clone()} selected={current == value}>{ text }</option>
                }) }
            </select>
        </div>
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
