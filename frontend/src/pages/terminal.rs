//! A shell in the browser: pick a target, give a reason, and the gateway
//! (`/gateway/v1`, a WebSocket: [`crate::gateway_socket`]) opens a session
//! there. Output is drawn by the same terminal the recording player draws
//! with ([`crate::terminal`]), and only the rows that changed are redrawn;
//! key presses go back to the gateway. With `?session=…` (the session
//! page's "Reconnect in the browser", which hands the reconnect token over
//! in memory: it never stands in a URL) the page reattaches a dropped shell
//! instead, and the gateway sends its screen.

use serde::{Deserialize, Serialize};
use termaudit_api_types::{Target, TargetList};
use web_sys::HtmlInputElement;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::encode;
use crate::components::{Environment, ErrorNotice, Loading};
use crate::gateway_socket::{
    Live, Phase, Slot, connect, reconnect_message, take_reconnect_token, watch_resizes,
};
use crate::hooks::{Fetch, use_get};
use crate::routes::Route;
use crate::session::{permission, use_session};
use crate::terminal::key_bytes;

/// The page's query in attach mode.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttachQuery {
    pub session: String,
}

#[derive(Properties, PartialEq)]
pub struct TerminalProps {
    pub slug: String,
}

#[component]
pub fn TerminalPage(props: &TerminalProps) -> Html {
    let session = use_session();
    let location = use_location();
    let attach: Option<AttachQuery> = location
        .as_ref()
        .and_then(|location| location.query::<AttachQuery>().ok())
        .filter(|query| !query.session.is_empty());
    let slug = props.slug.clone();
    let targets = use_get::<TargetList>(format!("/projects/{}/targets", encode(&slug)));
    let target = use_state(String::new);
    let reason = use_state(String::new);
    let phase = use_state(|| Phase::Choosing);
    // Who started or stopped watching the session live, last.
    let notice = use_state(|| None::<String>);
    let node = use_node_ref();
    let slot: Slot = use_mut_ref(|| None::<Live>);
    let allowed = session.can(&slug, permission::CONNECT);

    let start = {
        let (slot, node, set_phase) = (slot.clone(), node.clone(), phase.setter());
        let set_notice = notice.setter();
        Callback::from(move |(path, first): (String, Option<String>)| {
            set_phase.set(Phase::Connecting);
            set_notice.set(None);
            // The old socket (if any) closes first.
            slot.borrow_mut().take();
            match connect(&path, first, node.clone(), set_phase.clone(), set_notice.clone()) {
                Ok(live) => {
                    *slot.borrow_mut() = Some(live);
                    watch_resizes(&slot);
                }
                Err(detail) => set_phase.set(Phase::Over {
                    title: "Could not connect".to_owned(),
                    detail: Some(detail),
                    error: true,
                }),
            }
        })
    };

    // Attach mode connects at once; leaving the page closes the socket.
    {
        let (start, slot, slug) = (start.clone(), slot.clone(), slug.clone());
        let set_phase = phase.setter();
        use_effect_with((attach.clone(), allowed), move |(attach, allowed)| {
            if let (Some(attach), true) = (attach, *allowed) {
                match take_reconnect_token(&attach.session) {
                    Some(token) => start.emit((
                        format!(
                            "/projects/{}/terminals/{}/attach",
                            encode(&slug),
                            encode(&attach.session)
                        ),
                        Some(reconnect_message(&token)),
                    )),
                    None => set_phase.set(Phase::Over {
                        title: "No reconnect token".to_owned(),
                        detail: Some(
                            "A reconnect token works once and is kept only while the app is \
                             open: ask for a new one with Reconnect on the session's page."
                                .to_owned(),
                        ),
                        error: true,
                    }),
                }
            }
            move || drop(slot.borrow_mut().take())
        });
    }

    // Once the shell is open and the terminal shows, fit it to the window
    // (it opened at the size the gateway was asked for).
    {
        let slot = slot.clone();
        let open = matches!(*phase, Phase::Open(_));
        use_effect_with(open, move |open| {
            if *open && let Some(live) = &*slot.borrow() {
                live.fit();
            }
        });
    }

    let list: Vec<Target> = match &targets.state {
        Fetch::Loaded(list) => list.items.clone(),
        _ => Vec::new(),
    };
    let chosen = list.iter().find(|item| item.name == *target).cloned();
    let production = chosen.as_ref().is_some_and(|item| item.environment_class == "production");
    let ready = chosen.is_some() && (!production || !reason.trim().is_empty());

    let on_open = {
        let (start, reason, chosen) = (start.clone(), reason.clone(), chosen.clone());
        let slug = slug.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let Some(chosen) = &chosen else { return };
            let mode = if chosen.kind == "database" { "database" } else { "shell" };
            let (cols, rows) = (100, 30);
            start.emit((
                format!(
                    "/projects/{}/terminals?target={}&reason={}&mode={mode}&cols={cols}&rows={rows}",
                    encode(&slug),
                    encode(&chosen.name),
                    encode(reason.trim()),
                ),
                None,
            ));
        })
    };
    let on_key = {
        let slot = slot.clone();
        Callback::from(move |event: KeyboardEvent| {
            if event.meta_key() {
                return;
            }
            let Some(bytes) = key_bytes(&event.key(), event.ctrl_key(), event.alt_key()) else {
                return;
            };
            if let Some(live) = &*slot.borrow() {
                event.prevent_default();
                live.send_bytes(&bytes);
            }
        })
    };
    let on_fit = {
        let slot = slot.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(live) = &*slot.borrow() {
                live.fit();
            }
        })
    };
    let on_new = {
        let (phase, slot) = (phase.clone(), slot.clone());
        Callback::from(move |_: MouseEvent| {
            slot.borrow_mut().take();
            phase.set(Phase::Choosing);
        })
    };

    let project_name = session
        .me()
        .and_then(|me| me.projects.iter().find(|project| project.slug == slug))
        .map_or_else(|| slug.clone(), |project| project.name.clone());

    let chooser = match (&*phase, &targets.state) {
        _ if !allowed => html! {
            <div class="notice notice-forbidden" role="status" data-testid="terminal-forbidden">
                <p class="notice-title">{ "You may not open shells in this project" }</p>
                <p class="notice-detail">
                    { "Opening or reattaching a shell needs the permission " }
                    <code>{ permission::CONNECT }</code>{ "; ask a project administrator for it." }
                </p>
            </div>
        },
        (Phase::Choosing, _) if attach.is_some() => html! {},
        (Phase::Choosing, Fetch::Loading) => html! { <Loading label="Loading targets…" /> },
        (Phase::Choosing, Fetch::Failed(error)) => {
            html! { <ErrorNotice error={error.clone()} on_retry={targets.reload.clone()} /> }
        }
        (Phase::Choosing, Fetch::Loaded(_)) => {
            let on_target = {
                let target = target.clone();
                Callback::from(move |event: Event| {
                    target.set(event.target_unchecked_into::<web_sys::HtmlSelectElement>().value());
                })
            };
            let on_reason = {
                let reason = reason.clone();
                Callback::from(move |event: InputEvent| {
                    reason.set(event.target_unchecked_into::<HtmlInputElement>().value());
                })
            };
            html! {
                <form class="card terminal-open" onsubmit={on_open} data-testid="terminal-form">
                    <div class="filters-grid">
                        <div class="field">
                            <label for="t-target" class="label">{ "Target" }</label>
                            <select id="t-target" class="input" onchange={on_target}>
                                <option value="" selected={target.is_empty()}>{ "Choose a target" }</option>
                                { for list.iter().map(|item| html! {
                                    <option value={item.name.clone()} selected={*target == item.name}>
                                        { format!("{} ({}, {})", item.name, item.environment, item.environment_class.replace('_', "-")) }
                                    </option>
                                }) }
                            </select>
                        </div>
                        <div class="field field-wide">
                            <label for="t-reason" class="label">{ "Reason" }</label>
                            <input id="t-reason" class="input" type="text" maxlength="500"
                                placeholder="e.g. INC-4211: restart stuck workers"
                                required={production} value={(*reason).clone()} oninput={on_reason} />
                            if production {
                                <p class="small required" data-testid="reason-required">
                                    { "A reason is required for production targets." }
                                </p>
                            } else {
                                <p class="small muted">{ "Optional here, unless the project's policy requires one." }</p>
                            }
                        </div>
                    </div>
                    if let Some(chosen) = &chosen {
                        <p class="small">
                            <Environment name={chosen.environment.clone()} class={chosen.environment_class.clone()} />
                            { format!(" {} target; the session is audited{}.", chosen.kind, if production { " and recorded" } else { "" }) }
                        </p>
                    }
                    <div class="form-actions">
                        <button type="submit" class="button button-primary" disabled={!ready} data-testid="terminal-open">
                            { "Open shell" }
                        </button>
                    </div>
                </form>
            }
        }
        _ => html! {},
    };

    let status = match &*phase {
        Phase::Choosing => html! {},
        Phase::Connecting => html! {
            <p class="muted" role="status" data-testid="terminal-status">
                <span class="spinner" aria-hidden="true"></span>
                { if attach.is_some() { " Reattaching…" } else { " Opening the shell…" } }
            </p>
        },
        Phase::Open(opened) => html! {
            <div class="terminal-bar" role="status" data-testid="terminal-status">
                <span class="live-dot" aria-hidden="true"></span>
                { format!(" Connected to {} ", opened.target_name) }
                <Environment name={opened.environment.clone()} class={opened.environment_class.clone()} />
                { " · session " }
                <Link<Route> to={Route::SessionDetail { slug: slug.clone(), id: opened.id.to_string() }}>
                    { opened.id.to_string().split('-').next().unwrap_or_default().to_owned() }
                </Link<Route>>
                <button type="button" class="button button-quiet" onclick={on_fit}>{ "Fit to window" }</button>
                if let Some(notice) = &*notice {
                    <span class="watch-notice" data-testid="watch-notice">{ notice.clone() }</span>
                }
            </div>
        },
        Phase::Over { title, detail, error } => html! {
            <div class={classes!("notice", if *error { "notice-error" } else { "notice-info" })}
                role="alert" data-testid="terminal-ended">
                <p class="notice-title">{ title }</p>
                if let Some(detail) = detail {
                    <p class="notice-detail">{ detail }</p>
                }
                <button type="button" class="button" onclick={on_new}>{ "Open another shell" }</button>
            </div>
        },
    };
    let show_terminal = !matches!(*phase, Phase::Choosing);

    html! {
        <>
            <nav class="breadcrumbs" aria-label="Breadcrumbs">
                <Link<Route> to={Route::Projects}>{ "Projects" }</Link<Route>>
                <span aria-hidden="true">{ " / " }</span>
                <Link<Route> to={Route::Sessions { slug: slug.clone() }}>{ project_name }</Link<Route>>
                <span aria-hidden="true">{ " / " }</span>
                <span>{ "Terminal" }</span>
            </nav>
            <div class="page-head">
                <h1>{ if attach.is_some() { "Reconnect to a shell" } else { "Open a shell" } }</h1>
            </div>
            { chooser }
            { status }
            <div class="term-frame term-live" hidden={!show_terminal}>
                // An application: keys go to the shell, not to the page.
                <div class="term" ref={node} tabindex="0" onkeydown={on_key} role="application"
                    aria-roledescription="terminal" data-testid="live-terminal"
                    aria-label="Terminal; type to send keys"></div>
            </div>
        </>
    }
}
