//! One session: its metadata, what happened in it, its audit trail, the
//! two actions a person may take on it (revoke, reconnect), and its
//! evidence bundle to download.

use std::rc::Rc;

use chrono::{DateTime, Utc};
use gloo::timers::callback::Interval;
use termaudit_api_types::{
    ActivityPage, AuditEvent, AuditEventPage, DatabaseEventPage, ReconnectGrant, Session,
};
use yew::platform::spawn_local;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError, encode};
use crate::components::{Environment, ErrorNotice, Loading, ReasonDialog, Status, Time, humanize};
use crate::hooks::{Fetch, use_get};
use crate::pages::AttachQuery;
use crate::pages::live::LiveView;
use crate::pages::recording::{DownloadButton, HoldCard, RecordingCard};
use crate::routes::Route;
use crate::session::{permission, use_session};
use crate::time;

/// How often the page asks again about a live session.
const LIVE_REFRESH_MS: u32 = 3_000;

/// The history's "Watch live" link opens the page watching: `?watch=1`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
struct WatchQuery {
    watch: Option<String>,
}

#[derive(Properties, PartialEq)]
pub struct SessionDetailProps {
    pub slug: String,
    pub id: String,
}

#[component]
pub fn SessionDetail(props: &SessionDetailProps) -> Html {
    let me = use_session();
    let base = format!("/projects/{}/sessions/{}", encode(&props.slug), encode(&props.id));
    let fetched = use_get::<Session>(base.clone());
    let activity = use_get::<ActivityPage>(format!("{base}/activity"));
    let database = use_get::<DatabaseEventPage>(format!("{base}/database-events"));
    let audit = use_get::<AuditEventPage>(format!(
        "/projects/{}/audit-events?session_id={}&limit=200",
        encode(&props.slug),
        encode(&props.id)
    ));
    // The session as an action (revoke, reconnect) left it, newer than
    // `fetched` until the next answer to a fetch arrives.
    let updated = use_state(|| None::<Rc<Session>>);
    // How many times a hold was placed or released on this page.
    let holds = use_state(|| 0u32);
    // "Watch live" was pressed (here, or in the history: `?watch=1`): the
    // live view stays until closed, after the session ends too (it shows
    // how it ended).
    let asked: WatchQuery =
        use_location().and_then(|location| location.query::<WatchQuery>().ok()).unwrap_or_default();
    let watching = use_state(|| asked.watch.is_some());
    {
        let updated = updated.clone();
        use_effect_with(fetched.state.clone(), move |_| updated.set(None));
    }
    let live = match (&*updated, &fetched.state) {
        (Some(session), _) | (None, Fetch::Loaded(session)) => session.status != "closed",
        _ => false,
    };
    // A live session changes under the reader's eyes (dropped, reattached,
    // revoked elsewhere, commands arriving): ask again while it lives.
    {
        let refreshes = [
            fetched.refresh.clone(),
            activity.refresh.clone(),
            database.refresh.clone(),
            audit.refresh.clone(),
        ];
        use_effect_with(live, move |live| {
            let poll = live.then(|| {
                Interval::new(LIVE_REFRESH_MS, move || {
                    for refresh in &refreshes {
                        refresh.emit(());
                    }
                })
            });
            move || drop(poll)
        });
    }

    let project =
        me.me().and_then(|me| me.projects.iter().find(|project| project.slug == props.slug));
    let project_name = project.map_or_else(|| props.slug.clone(), |project| project.name.clone());
    let may_revoke = me.can(&props.slug, permission::MANAGE_POLICY);
    // The bundle holds the history and the recording: it needs both.
    let may_download_evidence = me.can(&props.slug, permission::VIEW_HISTORY)
        && me.can(&props.slug, permission::DOWNLOAD_RECORDING);
    let subject = me.me().map(|me| me.subject.clone()).unwrap_or_default();

    let breadcrumbs = html! {
        <nav class="breadcrumbs" aria-label="Breadcrumbs">
            <Link<Route> to={Route::Projects}>{ "Projects" }</Link<Route>>
            <span aria-hidden="true">{ " / " }</span>
            <Link<Route> to={Route::Sessions { slug: props.slug.clone() }}>{ project_name }</Link<Route>>
            <span aria-hidden="true">{ " / " }</span>
            <span>{ "Session " }<code>{ short_id(&props.id) }</code></span>
        </nav>
    };

    let session = match (&*updated, &fetched.state) {
        (Some(session), _) => Rc::clone(session),
        (None, Fetch::Loaded(session)) => Rc::clone(session),
        (None, Fetch::Loading) => {
            return html! { <>{ breadcrumbs }<Loading label="Loading the session…" /></> };
        }
        (None, Fetch::Failed(error)) if error.status() == Some(404) => {
            return html! {
                <>
                    { breadcrumbs }
                    <div class="notice notice-error" role="alert" data-testid="session-not-found">
                        <p class="notice-title">{ "Session not found" }</p>
                        <p class="notice-detail">
                            { format!("This project has no session “{}”. ", props.id) }
                            <Link<Route> to={Route::Sessions { slug: props.slug.clone() }}>{ "Back to the history" }</Link<Route>>
                        </p>
                    </div>
                </>
            };
        }
        (None, Fetch::Failed(error)) => {
            return html! {
                <>{ breadcrumbs }<ErrorNotice error={error.clone()} on_retry={fetched.reload.clone()} /></>
            };
        }
    };

    let on_changed = {
        let (updated, reload_audit) = (updated.clone(), audit.reload.clone());
        // A poll sent before the action must not bring back the state before
        // it: asking again supersedes it.
        let refresh = fetched.refresh.clone();
        Callback::from(move |session: Session| {
            updated.set(Some(Rc::new(session)));
            refresh.emit(());
            reload_audit.emit(());
        })
    };

    // A hold placed or released: the audit trail says so, the recording's
    // expiry changes.
    let on_hold = {
        let (holds, reload_audit) = (holds.clone(), audit.reload.clone());
        Callback::from(move |()| {
            holds.set(*holds + 1);
            reload_audit.emit(());
        })
    };

    let is_own = session.user.subject == subject;
    let can_revoke = may_revoke && session.status != "closed";
    let can_watch = session.recorded
        && session.status != "closed"
        && !*watching
        && me.can(&props.slug, permission::VIEW_RECORDING);
    let on_watch = {
        let watching = watching.clone();
        Callback::from(move |_: MouseEvent| watching.set(true))
    };
    let on_stop_watching = {
        let watching = watching.clone();
        Callback::from(move |()| watching.set(false))
    };
    let can_reconnect =
        is_own && session.status == "dropped" && me.can(&props.slug, permission::CONNECT);

    html! {
        <>
            { breadcrumbs }
            <div class="page-head detail-head">
                <h1>{ &session.target_name }</h1>
                <Environment name={session.environment.clone()} class={session.environment_class.clone()} />
                <Status status={session.status.clone()} />
                <div class="head-actions">
                    if can_watch {
                        <button type="button" class="button button-primary" onclick={on_watch}
                            data-testid="watch-live">{ "Watch live" }</button>
                    }
                    if may_download_evidence {
                        <DownloadButton
                            path={format!("{base}/evidence")}
                            accept="application/zip"
                            fallback={format!("termaudit-evidence-{}.zip", props.id)}
                            label="Download evidence"
                            testid="download-evidence"
                        />
                    }
                    if can_revoke {
                        <RevokeButton path={format!("{base}/revoke")} on_revoked={on_changed.clone()} />
                    }
                </div>
            </div>

            if let (Some(by), "closed") = (&session.revoked_by, session.status.as_str()) {
                <div class="notice notice-error" role="status" data-testid="revoked-notice">
                    <p class="notice-title">{ format!("Revoked by {}", by.name) }</p>
                    <p class="notice-detail">
                        { session.revoke_reason.clone().unwrap_or_default() }
                        if let Some(ended) = session.ended_at {
                            <span class="muted">{ " — " }<Time at={ended} /></span>
                        }
                    </p>
                </div>
            }
            if session.status == "dropped" {
                <DroppedNotice
                    slug={props.slug.clone()}
                    session={Rc::clone(&session)}
                    reconnect_path={can_reconnect.then(|| format!("{base}/reconnect"))}
                    on_changed={on_changed.clone()}
                    reload={fetched.reload.clone()}
                />
            }

            if *watching {
                <LiveView base={base.clone()} on_close={on_stop_watching} />
            }

            <section class="card" aria-labelledby="meta-h">
                <h2 id="meta-h">{ "Details" }</h2>
                { metadata(&session) }
            </section>

            // Fetched again when the session's status changes (a recording is
            // finalized as its session ends) and when a hold changes (a held
            // recording does not expire).
            <RecordingCard key={format!("{}-{}", session.status, *holds)} slug={props.slug.clone()} base={base.clone()} />
            // A session never recorded has nothing to hold.
            if session.recorded {
                <HoldCard slug={props.slug.clone()} base={base.clone()} on_changed={on_hold} />
            }

            <section class="card" aria-labelledby="activity-h">
                <h2 id="activity-h">{ "Commands and runbooks" }</h2>
                { match &activity.state {
                    Fetch::Loading => html! { <Loading label="Loading activity…" /> },
                    Fetch::Failed(error) => html! { <ErrorNotice error={error.clone()} on_retry={activity.reload.clone()} /> },
                    Fetch::Loaded(page) if page.items.is_empty() => html! { <p class="muted">{ "No commands or runbooks were reported for this session." }</p> },
                    Fetch::Loaded(page) => html! {
                        <ol class="timeline" data-testid="activity">
                            { for page.items.iter().map(|item| html! {
                                <li class={classes!("timeline-item", format!("kind-{}", item.kind))} key={item.event_id.clone()}>
                                    <div class="timeline-when"><Time at={item.occurred_at} /></div>
                                    <div class="timeline-body">
                                        <span class="chip">{ humanize(&item.kind) }</span>
                                        <code class="command">{ &item.text }</code>
                                        <span class="timeline-meta">
                                            if let Some(code) = item.exit_code {
                                                <span class={if code == 0 { "exit exit-ok" } else { "exit exit-fail" }}>
                                                    { format!("exit {code}") }
                                                </span>
                                            }
                                            if let Some(ms) = item.duration_ms {
                                                <span class="muted">{ time::millis(ms) }</span>
                                            }
                                        </span>
                                    </div>
                                </li>
                            }) }
                        </ol>
                    },
                } }
            </section>

            <section class="card" aria-labelledby="db-h">
                <h2 id="db-h">{ "Database statements" }</h2>
                { match &database.state {
                    Fetch::Loading => html! { <Loading label="Loading database statements…" /> },
                    Fetch::Failed(error) => html! { <ErrorNotice error={error.clone()} on_retry={database.reload.clone()} /> },
                    Fetch::Loaded(page) if page.items.is_empty() => html! { <p class="muted">{ "No database statements were reported for this session." }</p> },
                    Fetch::Loaded(page) => html! {
                        // Focusable: on a narrow screen it scrolls sideways.
                        <div class="table-wrap flat" tabindex="0" role="region" aria-label="Database statements table">
                            <table class="table" data-testid="database-events">
                                <thead><tr>
                                    <th scope="col">{ "When" }</th>
                                    <th scope="col">{ "Database" }</th>
                                    <th scope="col">{ "Statement" }</th>
                                    <th scope="col">{ "Rows" }</th>
                                    <th scope="col">{ "Took" }</th>
                                </tr></thead>
                                <tbody>
                                    { for page.items.iter().map(|event| html! {
                                        <tr key={event.event_id.clone()}>
                                            <td class="nowrap"><Time at={event.occurred_at} /></td>
                                            <td>{ event.database.clone().unwrap_or_else(|| "—".to_owned()) }</td>
                                            <td>
                                                <code class="command">{ &event.statement }</code>
                                                if let Some(error) = &event.error {
                                                    <div class="statement-error">{ error }</div>
                                                }
                                            </td>
                                            <td>{ event.rows_affected.map_or_else(|| "—".to_owned(), |n| n.to_string()) }</td>
                                            <td class="nowrap">{ event.duration_ms.map_or_else(|| "—".to_owned(), time::millis) }</td>
                                        </tr>
                                    }) }
                                </tbody>
                            </table>
                        </div>
                    },
                } }
            </section>

            <section class="card" aria-labelledby="audit-h">
                <h2 id="audit-h">{ "Audit trail" }</h2>
                { match &audit.state {
                    Fetch::Loading => html! { <Loading label="Loading the audit trail…" /> },
                    Fetch::Failed(error) => html! { <ErrorNotice error={error.clone()} on_retry={audit.reload.clone()} /> },
                    Fetch::Loaded(page) if page.items.is_empty() => html! { <p class="muted">{ "No audit events for this session." }</p> },
                    Fetch::Loaded(page) => html! {
                        <ol class="audit" data-testid="audit">
                            { for page.items.iter().map(audit_item) }
                        </ol>
                    },
                } }
            </section>
        </>
    }
}

fn metadata(session: &Session) -> Html {
    let row =
        |term: &str, value: Html| html! { <><dt>{ term.to_owned() }</dt><dd>{ value }</dd></> };
    let when = |at: Option<DateTime<Utc>>| {
        at.map_or_else(
            || html! { <span class="muted">{ "—" }</span> },
            |at| html! { <Time {at} /> },
        )
    };
    let text = |value: Option<String>| {
        value.map_or_else(|| html! { <span class="muted">{ "—" }</span> }, |value| html! { value })
    };
    html! {
        <dl class="meta">
            { row("User", html! { <>{ &session.user.name }<span class="muted">{ format!(" ({})", session.user.subject) }</span></> }) }
            { row("Target", html! { <>{ &session.target_name }<span class="muted">{ format!(" · {}", session.target_kind) }</span></> }) }
            { row("Environment", html! { <Environment name={session.environment.clone()} class={session.environment_class.clone()} /> }) }
            { row("Mode", html! { <span class="chip">{ &session.mode }</span> }) }
            { row("Reason", text(session.reason.clone())) }
            { row("Recorded", html! { { if session.recorded { "Yes" } else { "No" } } }) }
            { row("Opened", when(Some(session.opened_at))) }
            { row("Last seen", when(Some(session.last_seen_at))) }
            { row("Dropped", html! { <>{ when(session.dropped_at) }{ for session.drop_cause.as_deref().map(|cause| html! { <span class="muted">{ format!(" ({})", humanize(cause)) }</span> }) }</> }) }
            { row("Ended", when(session.ended_at)) }
            { row("Close reason", text(session.close_reason.as_deref().map(humanize))) }
            { row("Revoked by", text(session.revoked_by.as_ref().map(|by| format!("{} ({})", by.name, by.subject)))) }
            { row("Revoke reason", text(session.revoke_reason.clone())) }
            if let Some(watchers) = session.watchers.as_ref().filter(|watchers| !watchers.is_empty()) {
                { row("Watching now", html! { <span data-testid="watchers">{ watchers.iter().map(|w| w.watcher.name.clone()).collect::<Vec<_>>().join(", ") }</span> }) }
            }
            { row("Session id", html! { <code>{ session.id.to_string() }</code> }) }
        </dl>
    }
}

fn audit_item(event: &AuditEvent) -> Html {
    let details = crate::audit::details(&event.event_type, &event.details);
    html! {
        <li class="audit-item" key={event.id}>
            <div class="audit-when"><Time at={event.occurred_at} /></div>
            <div>
                <code class="audit-type">{ &event.event_type }</code>
                <span class="muted">
                    { " by " }
                    { event.actor.as_ref().map_or_else(|| "termaudit".to_owned(), |actor| actor.name.clone()) }
                </span>
                if !details.is_empty() {
                    <dl class="audit-details">
                        { for details.into_iter().map(|(label, value)| html! {
                            <><dt>{ label }</dt><dd>{ match value {
                                crate::audit::Shown::Text(text) => html! { text },
                                crate::audit::Shown::At(at) => html! { <Time {at} /> },
                            } }</dd></>
                        }) }
                    </dl>
                }
            </div>
        </li>
    }
}

#[derive(Properties, PartialEq)]
struct RevokeProps {
    path: String,
    on_revoked: Callback<Session>,
}

/// "Revoke" and its confirmation dialog, which asks why.
#[component]
fn RevokeButton(props: &RevokeProps) -> Html {
    let on_submit = {
        let (path, on_revoked) = (props.path.clone(), props.on_revoked.clone());
        Callback::from(move |(text, done): (String, Callback<Option<ApiError>>)| {
            let (path, on_revoked) = (path.clone(), on_revoked.clone());
            spawn_local(async move {
                match api::post::<Session>(&path, &serde_json::json!({ "reason": text })).await {
                    Ok(session) => {
                        done.emit(None);
                        on_revoked.emit(session);
                    }
                    Err(failure) => done.emit(Some(failure)),
                }
            });
        })
    };
    html! {
        <ReasonDialog id="revoke" open_label="Revoke session…" open_class="button button-danger"
            title="Revoke this session?"
            text="The gateway ends it within a second and the user cannot reconnect. The reason is kept in the audit log."
            placeholder="e.g. Access outside the change window"
            confirm="Revoke" confirm_class="button button-danger" working="Revoking…" autofocus=true
            on_submit={on_submit} />
    }
}

#[derive(Properties, PartialEq)]
struct DroppedProps {
    slug: String,
    session: Rc<Session>,
    /// Where to ask for a reconnect token, when the caller may.
    reconnect_path: Option<String>,
    on_changed: Callback<Session>,
    reload: Callback<()>,
}

/// A dropped session: how long its reconnect window still lasts (counting
/// down), and for its own user the way back in.
#[component]
fn DroppedNotice(props: &DroppedProps) -> Html {
    let now = use_state(Utc::now);
    {
        let now = now.clone();
        use_effect_with((), move |()| {
            let interval = Interval::new(1000, move || now.set(Utc::now()));
            move || drop(interval)
        });
    }
    let grant = use_state(|| None::<Rc<ReconnectGrant>>);
    let navigator = use_navigator();
    let busy = use_state(|| false);
    let error = use_state(|| None::<ApiError>);

    let left = props.session.reconnect_deadline.map(|deadline| (deadline - *now).num_seconds());
    let open = left.is_some_and(|left| left > 0);

    let on_reconnect = {
        let (grant, busy, error) = (grant.clone(), busy.clone(), error.clone());
        let (path, on_changed, reload) =
            (props.reconnect_path.clone(), props.on_changed.clone(), props.reload.clone());
        Callback::from(move |_: MouseEvent| {
            let Some(path) = path.clone() else { return };
            if *busy {
                return;
            }
            busy.set(true);
            error.set(None);
            let (grant, busy, error, on_changed, reload) =
                (grant.clone(), busy.clone(), error.clone(), on_changed.clone(), reload.clone());
            spawn_local(async move {
                let result = api::post::<ReconnectGrant>(&path, &serde_json::json!({})).await;
                busy.set(false);
                match result {
                    Ok(granted) => {
                        on_changed.emit(granted.session.clone());
                        grant.set(Some(Rc::new(granted)));
                    }
                    Err(failure) => {
                        if failure.is_problem("reconnect-window-closed") {
                            reload.emit(());
                        }
                        error.set(Some(failure));
                    }
                }
            });
        })
    };

    // The grant's token reattaches the shell on the terminal page.
    let on_attach = {
        let grant = grant.clone();
        let (slug, id) = (props.slug.clone(), props.session.id.to_string());
        Callback::from(move |_: MouseEvent| {
            let (Some(grant), Some(navigator)) = (&*grant, &navigator) else { return };
            crate::gateway_socket::hand_over_reconnect_token(&id, &grant.token);
            let query = AttachQuery { session: id.clone() };
            let _ = navigator.push_with_query(&Route::Terminal { slug: slug.clone() }, &query);
        })
    };

    html! {
        <div class="notice notice-forbidden dropped" role="status" data-testid="dropped-notice">
            <p class="notice-title">
                { "The connection dropped" }
                { for props.session.drop_cause.as_deref().map(|cause| format!(" ({})", humanize(cause))) }
            </p>
            { match (left, props.session.reconnect_deadline) {
                (Some(left), Some(deadline)) if left > 0 => html! {
                    <p class="notice-detail">
                        { "Its user can reconnect for another " }
                        <strong class="countdown" data-testid="time-left">{ time::span(left) }</strong>
                        { " (until " }<Time at={deadline} />{ ")." }
                    </p>
                },
                (_, Some(_)) => html! { <p class="notice-detail">{ "The reconnect window has closed; the session ends." }</p> },
                _ => html! {},
            } }
            if props.reconnect_path.is_some() {
                if let Some(grant) = &*grant {
                    <div class="grant" data-testid="reconnect-grant">
                        <p class="notice-title">{ "Reconnect token issued" }</p>
                        <p class="muted">{ "Give it to your terminal client; it works once." }</p>
                        <code class="token">{ &grant.token }</code>
                        <p class="small">
                            { "Valid until " }<Time at={grant.expires_at} />
                            { "; the window closes at " }<Time at={grant.window_closes_at} />{ "." }
                        </p>
                        <button type="button" class="button button-primary" onclick={on_attach}
                            data-testid="reconnect-in-browser">
                            { "Reconnect in the browser" }
                        </button>
                    </div>
                } else {
                    <button type="button" class="button button-primary" onclick={on_reconnect}
                        disabled={*busy || !open}>
                        { if *busy { "Requesting…" } else { "Reconnect" } }
                    </button>
                }
            }
            if let Some(failure) = &*error {
                if failure.is_problem("reconnect-window-closed") {
                    <div class="notice notice-error" role="alert">
                        <p class="notice-title">{ "Too late to reconnect" }</p>
                        <p class="notice-detail">{ failure.detail() }</p>
                    </div>
                } else {
                    <ErrorNotice error={failure.clone()} />
                }
            }
        </div>
    }
}

/// The first block of a UUID, enough to tell sessions apart on a page.
fn short_id(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}
