//! A session's recording on its page: the player, or why there is none
//! (not recorded, purged, nothing received yet); how long it is kept; the
//! download; and the legal hold that keeps it longer.

use gloo::timers::callback::Interval;
use std::rc::Rc;

use termaudit_api_types::{Hold, Recording, RecordingState, SessionHold};
use wasm_bindgen::JsCast as _;
use web_sys::HtmlAnchorElement;
use yew::platform::spawn_local;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError};
use crate::components::{ErrorNotice, Loading, ReasonDialog, Time};
use crate::hooks::{Fetch, use_get};
use crate::player::Player;
use crate::session::{permission, use_session};

#[derive(Properties, PartialEq)]
pub struct RecordingCardProps {
    pub slug: String,
    /// The session's API path, `/projects/{p}/sessions/{id}`.
    pub base: String,
}

/// The "Recording" card: the player when the caller may view recordings.
#[component]
pub fn RecordingCard(props: &RecordingCardProps) -> Html {
    let session = use_session();
    let may_view = session.can(&props.slug, permission::VIEW_RECORDING);
    let may_download = session.can(&props.slug, permission::DOWNLOAD_RECORDING);
    html! {
        <section class="card recording-card" aria-labelledby="recording-h" data-testid="recording">
            <h2 id="recording-h">{ "Recording" }</h2>
            if may_view {
                <RecordingBody base={format!("{}/recording", props.base)} {may_download} />
            } else {
                <p class="muted" data-testid="recording-forbidden">
                    { "Playing recordings needs the permission " }<code>{ permission::VIEW_RECORDING }</code>{ "." }
                </p>
            }
        </section>
    }
}

/// How often a recording still arriving is asked about again.
const RECORDING_REFRESH_MS: u32 = 3_000;

#[derive(Properties, PartialEq)]
struct RecordingBodyProps {
    /// `/projects/{p}/sessions/{id}/recording`
    base: String,
    may_download: bool,
}

/// The session page's query that the player reads: `?play=1` plays at once
/// (the history's Play link), `?t=SECONDS` starts at that moment.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
struct PlayQuery {
    play: Option<String>,
    t: Option<f64>,
    /// A search's text, marked on the screen (a line found by the history's
    /// search in recordings).
    q: Option<String>,
}

#[component]
fn RecordingBody(props: &RecordingBodyProps) -> Html {
    let query: PlayQuery =
        use_location().and_then(|location| location.query::<PlayQuery>().ok()).unwrap_or_default();
    let summary = use_get::<Recording>(props.base.clone());
    // A recording still arriving (a live session, or the last chunks of one
    // that just ended) grows, and becomes available: ask again meanwhile.
    let arriving =
        matches!(&summary.state, Fetch::Loaded(r) if r.state == RecordingState::Recording);
    {
        let refresh = summary.refresh.clone();
        use_effect_with(arriving, move |arriving| {
            let poll =
                arriving.then(|| Interval::new(RECORDING_REFRESH_MS, move || refresh.emit(())));
            move || drop(poll)
        });
    }
    let recording = match &summary.state {
        Fetch::Loading => return html! { <Loading label="Loading the recording…" /> },
        Fetch::Failed(error) => {
            return html! { <ErrorNotice error={error.clone()} on_retry={summary.reload.clone()} /> };
        }
        Fetch::Loaded(recording) => Rc::clone(recording),
    };
    match recording.state {
        RecordingState::NotRecorded => html! {
            <div class="notice notice-info" role="status" data-testid="not-recorded">
                <p class="notice-title">{ "This session was not recorded" }</p>
                <p class="notice-detail">
                    { "The project's policy does not record sessions in this environment, so only its history is kept." }
                </p>
            </div>
        },
        RecordingState::Purged => html! {
            <div class="notice notice-error" role="status" data-testid="purged">
                <p class="notice-title">{ "This recording was purged" }</p>
                <p class="notice-detail">
                    { "Retention removed it" }
                    if let Some(at) = recording.purged_at {
                        { " on " }<Time {at} />
                    }
                    { match &recording.purge_reason {
                        Some(reason) => format!(": {reason}."),
                        None => ".".to_owned(),
                    } }
                    { " The session's history is still here." }
                </p>
            </div>
        },
        RecordingState::Recording if recording.header.is_none() => html! {
            <p class="muted" data-testid="recording-empty">
                { "Nothing of this recording has arrived yet; the gateway sends it as the session runs." }
            </p>
        },
        _ if recording.header.is_none() => html! {
            <p class="muted" data-testid="recording-empty">
                { "The session ended with no terminal output: there is nothing to play." }
            </p>
        },
        state => html! {
            <>
                <div class="recording-meta">
                    <span>
                        if state == RecordingState::Recording {
                            <span class="badge badge-live">{ "recording" }</span>{ " What has arrived so far. " }
                        }
                        { format!("{} events", recording.event_count) }
                        if let Some(size) = recording.size_bytes {
                            { format!(" · {}", bytes(size)) }
                        }
                    </span>
                    <span data-testid="expires">
                        { match (recording.expires_at, state) {
                            (Some(at), _) => html! { <>{ "Kept until " }<Time {at} /></> },
                            (None, RecordingState::Recording) => html! { "Kept until the retention period after the session ends" },
                            // Ended and no expiry: a legal hold keeps it.
                            (None, _) => html! { "Kept while its legal hold lasts" },
                        } }
                    </span>
                    if props.may_download {
                        <DownloadButton
                            path={format!("{}/download", props.base)}
                            accept="application/x-asciicast"
                            fallback="recording.cast"
                            label="Download .cast"
                            testid="download"
                        />
                        <DownloadButton
                            path={format!("{}/transcript", props.base)}
                            accept="text/plain"
                            fallback="transcript.txt"
                            label="Download transcript"
                            testid="download-transcript"
                        />
                    }
                </div>
                <Player base={props.base.clone()} {recording}
                    autoplay={query.play.as_deref() == Some("1")}
                    start_at={query.t.filter(|t| t.is_finite() && *t >= 0.0)}
                    highlight={query.q.clone().filter(|q| !q.trim().is_empty()).map(AttrValue::from)} />
            </>
        },
    }
}

/// `48211` → `47.1 KiB`.
fn bytes(size: i64) -> String {
    let size = size.max(0) as f64;
    if size < 1024.0 {
        format!("{size} bytes")
    } else if size < 1024.0 * 1024.0 {
        format!("{:.1} KiB", size / 1024.0)
    } else {
        format!("{:.1} MiB", size / 1024.0 / 1024.0)
    }
}

#[derive(Properties, PartialEq)]
pub(crate) struct DownloadProps {
    pub path: String,
    /// The media type to ask for.
    pub accept: AttrValue,
    /// The file name when the server gives none.
    pub fallback: AttrValue,
    pub label: AttrValue,
    /// The button's `data-testid`; its status line's is this with `-status`.
    pub testid: AttrValue,
}

/// Fetches a file with the caller's token (a plain link could not send it)
/// and hands it to the browser under the server's file name: the `.cast`,
/// or a session's evidence bundle.
#[component]
pub(crate) fn DownloadButton(props: &DownloadProps) -> Html {
    let busy = use_state(|| false);
    let outcome = use_state(|| None::<Result<(String, f64), ApiError>>);
    let onclick = {
        let (busy, outcome) = (busy.clone(), outcome.clone());
        let (path, accept, fallback) =
            (props.path.clone(), props.accept.clone(), props.fallback.clone());
        Callback::from(move |_: MouseEvent| {
            if *busy {
                return;
            }
            busy.set(true);
            let (busy, outcome) = (busy.clone(), outcome.clone());
            let (path, accept, fallback) = (path.clone(), accept.clone(), fallback.clone());
            spawn_local(async move {
                let result = match api::download(&path, &accept, &fallback).await {
                    Ok(file) => save(&file.blob, &file.file_name)
                        .map(|()| (file.file_name, file.blob.size())),
                    Err(error) => Err(error),
                };
                busy.set(false);
                outcome.set(Some(result));
            });
        })
    };
    html! {
        <span class="download">
            <button type="button" class="button" data-testid={props.testid.clone()} {onclick} disabled={*busy}>
                { if *busy { AttrValue::from("Downloading…") } else { props.label.clone() } }
            </button>
            { match &*outcome {
                None => html! {},
                Some(Ok((name, size))) => html! {
                    <span class="small muted" data-testid={format!("{}-status", props.testid)} data-bytes={size.to_string()}>
                        { format!("Saved {name} ({})", bytes(*size as i64)) }
                    </span>
                },
                Some(Err(error)) => html! { <ErrorNotice error={error.clone()} /> },
            } }
        </span>
    }
}

/// Offers `blob` to the browser as the download `file_name`.
pub(crate) fn save(blob: &web_sys::Blob, file_name: &str) -> Result<(), ApiError> {
    let failed = || ApiError::Client("the browser would not save the file".to_owned());
    let url = web_sys::Url::create_object_url_with_blob(blob).map_err(|_| failed())?;
    let document = gloo::utils::document();
    let link = document
        .create_element("a")
        .ok()
        .and_then(|element| element.dyn_into::<HtmlAnchorElement>().ok())
        .ok_or_else(failed)?;
    link.set_href(&url);
    link.set_download(file_name);
    link.set_hidden(true);
    let body = gloo::utils::body();
    body.append_child(&link).map_err(|_| failed())?;
    link.click();
    let _ = body.remove_child(&link);
    // The browser has read the URL once the click is handled; free it later.
    gloo::timers::callback::Timeout::new(60_000, move || {
        let _ = web_sys::Url::revoke_object_url(&url);
    })
    .forget();
    Ok(())
}

#[derive(Properties, PartialEq)]
pub struct HoldCardProps {
    pub slug: String,
    /// The session's API path, `/projects/{p}/sessions/{id}`.
    pub base: String,
    /// Told when a hold was placed or released.
    pub on_changed: Callback<()>,
}

/// The session's legal hold: whether there is one, and for policy managers
/// the way to place or release it, with a reason.
#[component]
pub fn HoldCard(props: &HoldCardProps) -> Html {
    let session = use_session();
    let may_manage = session.can(&props.slug, permission::MANAGE_POLICY);
    let path = format!("{}/hold", props.base);
    let fetched = use_get::<SessionHold>(path.clone());
    // The hold as the last action left it: `Some(None)` after a release.
    let changed = use_state(|| None::<Option<Rc<Hold>>>);

    let hold = match (&*changed, &fetched.state) {
        (Some(hold), _) => hold.clone(),
        (None, Fetch::Loaded(answer)) => answer.hold.clone().map(Rc::new),
        (None, Fetch::Loading) => {
            return html! {
                <section class="card" aria-labelledby="hold-h"><h2 id="hold-h">{ "Legal hold" }</h2><Loading label="Loading…" /></section>
            };
        }
        (None, Fetch::Failed(error)) => {
            return html! {
                <section class="card" aria-labelledby="hold-h">
                    <h2 id="hold-h">{ "Legal hold" }</h2>
                    <ErrorNotice error={error.clone()} on_retry={fetched.reload.clone()} />
                </section>
            };
        }
    };
    let on_done = {
        let (changed, on_changed) = (changed.clone(), props.on_changed.clone());
        Callback::from(move |hold: Option<Hold>| {
            changed.set(Some(hold.map(Rc::new)));
            on_changed.emit(());
        })
    };

    html! {
        <section class="card" aria-labelledby="hold-h" data-testid="hold">
            <h2 id="hold-h">{ "Legal hold" }</h2>
            { match &hold {
                Some(hold) => html! {
                    <div class="hold-status held">
                        <p>
                            <span class="badge badge-hold">{ "on hold" }</span>
                            { " Kept until the hold is released, whatever the retention policy. " }
                        </p>
                        <p class="small">
                            { format!("Placed by {} ", hold.placed_by.name) }<Time at={hold.placed_at} />
                            { ": " }<q data-testid="hold-reason">{ &hold.reason }</q>
                        </p>
                    </div>
                },
                None => html! {
                    <p class="hold-status muted">{ "No legal hold: the recording ages out by the retention policy." }</p>
                },
            } }
            if may_manage {
                <HoldDialog {path} held={hold.is_some()} {on_done} />
            }
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct HoldDialogProps {
    path: String,
    held: bool,
    on_done: Callback<Option<Hold>>,
}

/// "Place legal hold…" or "Release hold…", each asking why.
#[component]
fn HoldDialog(props: &HoldDialogProps) -> Html {
    let held = props.held;
    let on_submit = {
        let (path, on_done) = (props.path.clone(), props.on_done.clone());
        Callback::from(move |(text, done): (String, Callback<Option<ApiError>>)| {
            let (path, on_done) = (path.clone(), on_done.clone());
            spawn_local(async move {
                let body = serde_json::json!({ "reason": text });
                let result = if held {
                    api::delete::<Hold>(&path, &body).await.map(|_| None)
                } else {
                    api::post::<Hold>(&path, &body).await.map(Some)
                };
                match result {
                    Ok(hold) => {
                        done.emit(None);
                        on_done.emit(hold);
                    }
                    Err(failure) => done.emit(Some(failure)),
                }
            });
        })
    };
    let (open_label, title, text, confirm, working) = if held {
        (
            "Release hold…",
            "Release the legal hold?",
            "The recording then ages out by the retention policy again; one already past its retention is purged at the next sweep. The reason is kept in the audit log.",
            "Release",
            "Releasing…",
        )
    } else {
        (
            "Place legal hold…",
            "Place a legal hold?",
            "The recording is kept until the hold is released, whatever the retention policy says. The reason is kept in the audit log.",
            "Place hold",
            "Placing…",
        )
    };
    html! {
        <ReasonDialog id="hold" open_label={open_label} open_class="button" open_testid="hold-button"
            title={title} text={text} placeholder="e.g. Litigation LIT-2026-014"
            confirm={confirm} confirm_class="button button-primary" working={working}
            on_submit={on_submit} />
    }
}
