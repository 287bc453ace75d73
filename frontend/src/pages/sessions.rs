//! The project's session history: filters kept in the URL (those the API
//! would refuse are named, and the rest apply), newest first, "Load more"
//! through the API's keyset cursor. A whole row opens its session; on a
//! phone the rows are cards and the filters fold behind a bar of chips.
//! Coming back from a session finds the pages loaded and the place read.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use chrono::Utc;
use termaudit_api_types::{Session, SessionPage, TargetList};
use web_sys::HtmlInputElement;
use yew::platform::spawn_local;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError, encode};
use crate::components::{
    DateTimeField, Environment, ErrorNotice, Loading, Recorded, Status, Time, humanize,
};
use crate::filters::{
    CLASSES, Checked, Filters, MODES, QUICK_RANGES, RECORDING, STATUSES, TEXT_LENGTH, empty_range,
};
use crate::hooks::{Fetch, use_get};
use crate::routes::Route;
use crate::session::{permission, use_session};
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

/// The list as it was when the reader opened a session from it, so that
/// coming back shows the same pages at the same place.
struct Kept {
    /// The first page's API path: the project and filters it belongs to.
    key: String,
    items: Rc<Vec<Session>>,
    next_cursor: Option<String>,
    /// Where the window was scrolled to, until it has been restored once.
    scroll_y: Option<f64>,
}

thread_local! {
    static KEPT: RefCell<Option<Kept>> = const { RefCell::new(None) };
}

/// One request refreshes the kept pages when they hold at most this many
/// sessions (the API's largest page).
const REFRESH_AT_MOST: usize = 200;

/// A project's terminal sessions, filtered by the URL's query string.
#[component]
pub fn Sessions(props: &SessionsProps) -> Html {
    let session = use_session();
    let navigator = use_navigator();
    let location = use_location();
    let slug = props.slug.clone();
    let from_url: Filters =
        location.as_ref().and_then(|location| location.query::<Filters>().ok()).unwrap_or_default();
    let checked = from_url.checked();
    let filters = checked.filters.clone();
    let key = filters.api_path(&slug, None);

    let project_name = session
        .me()
        .and_then(|me| me.projects.iter().find(|project| project.slug == slug))
        .map_or_else(|| slug.clone(), |project| project.name.clone());

    let targets = use_get::<TargetList>(format!("/projects/{}/targets", encode(&slug)));
    let may_connect = session.can(&slug, permission::CONNECT);
    let may_play = session.can(&slug, permission::VIEW_RECORDING);

    // The pages kept from the last visit, when they are this list's.
    let restored = use_state(|| {
        KEPT.with_borrow_mut(|kept| match kept {
            Some(kept) if kept.key == key => Some((
                Loaded {
                    items: Rc::clone(&kept.items),
                    next_cursor: kept.next_cursor.clone(),
                    more: More::Idle,
                },
                kept.scroll_y.take(),
            )),
            _ => None,
        })
    });
    // The first page whenever the filters change; later pages are appended.
    let list = use_state(|| match &*restored {
        Some((loaded, _)) => Fetch::Loaded(Rc::new(loaded.clone())),
        None => Fetch::<Loaded>::Loading,
    });
    let generation = use_mut_ref(|| 0_u32);
    let attempt = use_state(|| 0_u32);
    {
        let (list, generation, restored) = (list.clone(), generation.clone(), restored.clone());
        use_effect_with((slug.clone(), filters.clone(), *attempt), move |(slug, filters, _)| {
            *generation.borrow_mut() += 1;
            let mine = *generation.borrow();
            // Kept pages stay on screen while one request brings them up to
            // date (a page as long as they are), when one request can.
            let quietly = match (&*restored, &*list) {
                (Some(_), Fetch::Loaded(loaded)) => Some(loaded.items.len()),
                _ => None,
            };
            if restored.is_some() {
                restored.set(None);
            }
            if quietly.is_some_and(|count| count > REFRESH_AT_MOST) {
                return;
            }
            if quietly.is_none() {
                list.set(Fetch::Loading);
            }
            let path = match quietly {
                Some(count) => filters.api_path_sized(slug, None, count.max(1)),
                None => filters.api_path(slug, None),
            };
            spawn_local(async move {
                let result = api::get::<SessionPage>(&path).await;
                if *generation.borrow() != mine {
                    return;
                }
                match result {
                    Ok(page) => list.set(Fetch::Loaded(Rc::new(Loaded {
                        items: Rc::new(page.items),
                        next_cursor: page.next_cursor,
                        more: More::Idle,
                    }))),
                    // A quiet refresh that fails keeps what is shown.
                    Err(_) if quietly.is_some() => {}
                    Err(error) => list.set(Fetch::Failed(error)),
                }
            });
        });
    }
    // Back at the place the reader left, once the kept rows are drawn.
    {
        let scroll_y = restored.as_ref().and_then(|(_, y)| *y);
        use_effect_with((), move |()| {
            if let Some(y) = scroll_y {
                gloo::utils::window().scroll_to_with_x_and_y(0.0, y);
            }
        });
    }
    // What is shown is what a return finds.
    {
        let key = key.clone();
        use_effect_with(((*list).clone(), key), |(list, key)| {
            if let Fetch::Loaded(loaded) = list {
                KEPT.with_borrow_mut(|kept| {
                    let scroll_y = kept.as_ref().filter(|k| k.key == *key).and_then(|k| k.scroll_y);
                    *kept = Some(Kept {
                        key: key.clone(),
                        items: Rc::clone(&loaded.items),
                        next_cursor: loaded.next_cursor.clone(),
                        scroll_y,
                    });
                });
            }
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
    // Opening a session remembers where the reader was.
    let open = {
        let navigator = navigator.clone();
        let key = key.clone();
        Callback::from(move |(event, route, flag): (MouseEvent, Route, Option<&'static str>)| {
            // Other buttons and modifier keys: a new tab or window, as links do.
            if event.button() != 0
                || event.ctrl_key()
                || event.meta_key()
                || event.shift_key()
                || event.alt_key()
            {
                return;
            }
            event.prevent_default();
            let y = gloo::utils::window().scroll_y().unwrap_or(0.0);
            KEPT.with_borrow_mut(|kept| {
                if let Some(kept) = kept.as_mut().filter(|kept| kept.key == key) {
                    kept.scroll_y = Some(y);
                }
            });
            if let Some(navigator) = &navigator {
                match flag {
                    // The session page's player starts at once (`play`), or
                    // its live view opens (`watch`).
                    Some(flag) => {
                        let _ = navigator.push_with_query(&route, &[(flag, "1")]);
                    }
                    None => navigator.push(&route),
                }
            }
        })
    };

    let targets_list = match &targets.state {
        Fetch::Loaded(list) => Some(Rc::clone(list)),
        _ => None,
    };

    let body = match &*list {
        Fetch::Loading => html! { <Loading label="Loading sessions…" /> },
        // A 400 will not go away by asking again: the filters must change.
        Fetch::Failed(error) if error.status() == Some(400) => {
            let clear = apply.clone();
            html! {
                <>
                    <ErrorNotice error={error.clone()} />
                    <button type="button" class="button" onclick={move |_| clear.emit(Filters::default())}>
                        { "Clear filters" }
                    </button>
                </>
            }
        }
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
                <div class="table-wrap sessions-wrap">
                    <table class="table sessions-table">
                        <caption class="sr-only">{ "Sessions, newest first" }</caption>
                        <thead>
                            <tr>
                                <th scope="col">{ "Opened" }</th>
                                <th scope="col">{ "User" }</th>
                                <th scope="col">{ "Target" }</th>
                                <th scope="col">{ "Environment" }</th>
                                <th scope="col">{ "Mode" }</th>
                                <th scope="col">{ "Reason" }</th>
                                <th scope="col">{ "Status" }</th>
                                <th scope="col">{ "Duration" }</th>
                                <th scope="col" class="col-rec">{ "Rec." }</th>
                            </tr>
                        </thead>
                        <tbody>
                            { for loaded.items.iter().map(|item| session_row(&slug, item, may_play, &open)) }
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
                <span aria-current="page">{ project_name }</span>
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
            <AddressFilters checked={checked} on_apply={apply.clone()} />
            <FilterBar filters={filters.clone()} targets={targets_list} on_apply={apply} />
            if filters.in_recordings() {
                <super::recording_hits::RecordingHits slug={slug.clone()} filters={filters.clone()} />
            } else {
                { body }
            }
        </>
    }
}

#[derive(Properties, PartialEq)]
struct AddressFiltersProps {
    checked: Checked,
    on_apply: Callback<Filters>,
}

/// What the history made of filters in the address it could not use as
/// they are: which, and why; the list shows what the rest select.
#[component]
fn AddressFilters(props: &AddressFiltersProps) -> Html {
    let Checked { filters, rejected, swapped } = &props.checked;
    if rejected.is_empty() && !swapped {
        return html! {};
    }
    let fix = {
        let (on_apply, filters) = (props.on_apply.clone(), filters.clone());
        Callback::from(move |_: MouseEvent| on_apply.emit(filters.clone()))
    };
    html! {
        <div class="notice notice-forbidden" role="alert" data-testid="filters-rejected">
            if !rejected.is_empty() {
                <p class="notice-title">
                    { if rejected.len() == 1 { "A filter in the address cannot be used" } else { "Filters in the address cannot be used" } }
                </p>
                <ul class="notice-list">
                    { for rejected.iter().map(|r| html! {
                        <li><strong>{ r.label }</strong>{ format!(" “{}” {}.", r.value, r.why) }</li>
                    }) }
                </ul>
                <p class="notice-detail">
                    { if filters.is_empty() { "Every session is shown." } else { "The other filters apply." } }
                </p>
            }
            if *swapped {
                <p class="notice-detail">
                    { "“Opened from” came after “Opened until”: the range is read the other way round." }
                </p>
            }
            <button type="button" class="button" onclick={fix}>{ "Fix the address" }</button>
        </div>
    }
}

fn session_row(
    slug: &str,
    session: &Session,
    may_play: bool,
    open: &Callback<(MouseEvent, Route, Option<&'static str>)>,
) -> Html {
    let to = Route::SessionDetail { slug: slug.to_owned(), id: session.id.to_string() };
    let href = to.to_path();
    let status_note = match session.status.as_str() {
        "closed" => session.close_reason.as_deref().map(humanize),
        "dropped" => session.drop_cause.as_deref().map(humanize),
        _ => None,
    };
    let follow = |flag: Option<&'static str>| {
        let (open, to) = (open.clone(), to.clone());
        Callback::from(move |event: MouseEvent| open.emit((event, to.clone(), flag)))
    };
    let duration = match session.ended_at {
        Some(ended) => html! { time::span((ended - session.opened_at).num_seconds()) },
        None => html! {
            <span class="muted">{ format!("{} so far", time::span((Utc::now() - session.opened_at).num_seconds())) }</span>
        },
    };
    html! {
        <tr key={session.id.to_string()} class="session-row" data-session-id={session.id.to_string()}>
            <td class="c-opened nowrap">
                // The link covers the whole row (and card): any of it opens the session.
                <a href={href.clone()} class="row-link" onclick={follow(None)}
                    aria-label={format!("{} on {}, opened {}", session.user.name, session.target_name, time::local(session.opened_at))}>
                    <Time at={session.opened_at} />
                </a>
            </td>
            <td class="c-user nowrap">
                <span title={session.user.subject.clone()}>{ &session.user.name }</span>
            </td>
            <td class="c-target">
                <div class="target-name">{ &session.target_name }</div>
                <div class="muted small">{ &session.target_kind }</div>
            </td>
            <td class="c-env"><Environment name={session.environment.clone()} class={session.environment_class.clone()} /></td>
            <td class="c-mode"><span class="chip">{ &session.mode }</span></td>
            <td class="c-reason reason">
                { session.reason.clone().map_or_else(|| html! { <span class="muted">{ "No reason given" }</span> }, |reason| html! { reason }) }
            </td>
            <td class="c-status nowrap">
                <Status status={session.status.clone()} />
                if let Some(note) = status_note {
                    <div class="muted small status-note">{ note }</div>
                }
            </td>
            <td class="c-duration nowrap" data-testid="duration">{ duration }</td>
            <td class="c-rec col-rec">
                if session.recorded && may_play && session.status != "closed" {
                    <a href={format!("{href}?watch=1")} class="play-link" onclick={follow(Some("watch"))}
                        data-testid="watch-live"
                        aria-label={format!("Watch live: {} on {}", session.user.name, session.target_name)}>
                        <span aria-hidden="true">{ "●" }</span><span class="play-label">{ " Watch live" }</span>
                    </a>
                } else if session.recorded && may_play {
                    <a href={format!("{href}?play=1")} class="play-link" onclick={follow(Some("play"))}
                        data-testid="play-recording"
                        aria-label={format!("Play the recording of {} on {}", session.user.name, session.target_name)}>
                        <span aria-hidden="true">{ "▶" }</span><span class="play-label">{ " Play" }</span>
                    </a>
                } else {
                    <Recorded recorded={session.recorded} />
                }
            </td>
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
/// On a phone the form folds behind a "Filters" button, and the filters
/// set show as chips, each with a way to remove it.
#[component]
fn FilterBar(props: &FilterBarProps) -> Html {
    let draft = use_state(|| props.filters.clone());
    let open = use_state(|| false);
    // What is wrong with the typed times, by field: they are not applied.
    let time_errors = use_state(|| (None::<&'static str>, None::<&'static str>));
    {
        // Back and forward change the URL's filters: show those.
        let (draft, time_errors) = (draft.clone(), time_errors.clone());
        use_effect_with(props.filters.clone(), move |filters| {
            draft.set(filters.clone());
            time_errors.set((None, None));
        });
    }

    // A choice changes the draft and applies it.
    let choose = |set: fn(&mut Filters, String)| {
        let (draft, on_apply) = (draft.clone(), props.on_apply.clone());
        Callback::from(move |event: Event| {
            let mut next = (*draft).clone();
            set(&mut next, event.target_unchecked_into::<web_sys::HtmlSelectElement>().value());
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
    let in_recordings = {
        let draft = draft.clone();
        Callback::from(move |event: Event| {
            let mut next = (*draft).clone();
            let checked = event.target_unchecked_into::<HtmlInputElement>().checked();
            next.search_in = if checked { "recordings".to_owned() } else { String::new() };
            draft.set(next);
        })
    };
    let edit_time = |set: fn(&mut Filters, String), end: bool| {
        let (draft, time_errors) = (draft.clone(), time_errors.clone());
        Callback::from(move |typed: Result<String, &'static str>| {
            let mut errors = *time_errors;
            let slot = if end { &mut errors.1 } else { &mut errors.0 };
            match typed {
                Ok(value) => {
                    *slot = None;
                    let mut next = (*draft).clone();
                    set(&mut next, value);
                    draft.set(next);
                }
                Err(message) => *slot = Some(message),
            }
            time_errors.set(errors);
        })
    };

    let range_reversed = empty_range(&draft.opened_from, &draft.opened_to);
    let on_submit = {
        let (draft, on_apply, open, time_errors) =
            (draft.clone(), props.on_apply.clone(), open.clone(), time_errors.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let (from, to) = *time_errors;
            if from.is_some() || to.is_some() || empty_range(&draft.opened_from, &draft.opened_to) {
                return;
            }
            open.set(false);
            on_apply.emit((*draft).clone());
        })
    };
    let on_clear = {
        let on_apply = props.on_apply.clone();
        Callback::from(move |_: MouseEvent| on_apply.emit(Filters::default()))
    };
    let on_toggle = {
        let open = open.clone();
        Callback::from(move |_: MouseEvent| open.set(!*open))
    };

    let target_names: Vec<(String, String)> = props
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

    let chips = props.filters.chips(|id| {
        target_names.iter().find(|(known, _)| known == id).map(|(_, name)| name.clone())
    });
    let count = props.filters.count();
    let quick = |hours: i64| {
        let (draft, on_apply) = (draft.clone(), props.on_apply.clone());
        Callback::from(move |_: MouseEvent| on_apply.emit(draft.last_hours(hours, Utc::now())))
    };

    html! {
        <>
            <div class="filters-bar" data-testid="filters-bar">
                <button type="button" class="button filters-toggle" onclick={on_toggle}
                    aria-expanded={open.to_string()} aria-controls="filters-form" data-testid="filters-toggle">
                    { "Filters" }
                    if count > 0 {
                        <span class="filters-count" aria-label={format!("{count} applied")}>{ count }</span>
                    }
                </button>
                if !chips.is_empty() {
                    <ul class="chips filter-chips" aria-label="Filters applied">
                        { for chips.into_iter().map(|(name, label, shown)| {
                            let (on_apply, without) = (props.on_apply.clone(), props.filters.without(name));
                            html! {
                                <li class="chip filter-chip" data-filter={name}>
                                    <span>{ format!("{label}: {shown}") }</span>
                                    <button type="button" class="chip-remove"
                                        aria-label={format!("Remove the filter {label}: {shown}")}
                                        onclick={move |_| on_apply.emit(without.clone())}>
                                        <span aria-hidden="true">{ "×" }</span>
                                    </button>
                                </li>
                            }
                        }) }
                    </ul>
                }
            </div>
            <form id="filters-form" class={classes!("card", "filters", (!*open).then_some("collapsed"))}
                onsubmit={on_submit} aria-label="Filter sessions" role="search">
                <div class="filters-grid">
                    { select("f-status", "Status", &draft.status, &pairs(&STATUSES), choose(|f, v| f.status = v)) }
                    { select("f-class", "Environment class", &draft.environment_class, &pairs(&CLASSES), choose(|f, v| f.environment_class = v)) }
                    { select("f-environment", "Environment", &draft.environment, &environments, choose(|f, v| f.environment = v)) }
                    { select("f-target", "Target", &draft.target_id, &target_names, choose(|f, v| f.target_id = v)) }
                    { select("f-mode", "Mode", &draft.mode, &pairs(&MODES), choose(|f, v| f.mode = v)) }
                    { select("f-recording", "Recording", &draft.has_recording, &pairs(&RECORDING), choose(|f, v| f.has_recording = v)) }
                    <div class="field">
                        <label for="f-user" class="label">{ "User" }</label>
                        <input id="f-user" class="input" type="text" placeholder="subject, e.g. alice"
                            value={draft.user.clone()} oninput={edit(|f, v| f.user = v)} />
                    </div>
                    <DateTimeField id="f-from" label="Opened from" value={draft.opened_from.clone()}
                        error={time_errors.0.map(AttrValue::from)}
                        onchange={edit_time(|f, v| f.opened_from = v, false)} />
                    <DateTimeField id="f-to" label="Opened until" value={draft.opened_to.clone()} end=true
                        error={time_errors.1.map(AttrValue::from).or_else(|| range_reversed.then_some(AttrValue::from("Ends before “Opened from”.")))}
                        onchange={edit_time(|f, v| f.opened_to = v, true)} />
                    <div class="field field-wide">
                        <label for="f-q" class="label">{ "Search" }</label>
                        <input id="f-q" class="input" type="search"
                            minlength={TEXT_LENGTH.start().to_string()} maxlength={TEXT_LENGTH.end().to_string()}
                            placeholder="reason, target, user or command text"
                            value={draft.q.clone()} oninput={edit(|f, v| f.q = v)} />
                        <label class="checkbox small" for="f-in-recordings">
                            <input id="f-in-recordings" type="checkbox" data-testid="search-in-recordings"
                                checked={draft.search_in == "recordings"} onchange={in_recordings} />
                            { " In recordings: what the terminals showed" }
                        </label>
                    </div>
                </div>
                <div class="filters-actions">
                    <div class="quick-ranges" role="group" aria-label="Opened in the last">
                        { for QUICK_RANGES.iter().map(|(label, hours)| html! {
                            <button type="button" class="button button-quiet button-small" onclick={quick(*hours)}
                                data-hours={hours.to_string()}>{ *label }</button>
                        }) }
                    </div>
                    if !props.filters.is_empty() {
                        <span class="muted small">{ plural(count, "filter", "filters") }{ " applied" }</span>
                        <button type="button" class="button button-quiet" onclick={on_clear} data-testid="clear-filters">{ "Clear filters" }</button>
                    }
                    <button type="submit" class="button button-primary">{ "Apply" }</button>
                </div>
            </form>
        </>
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
