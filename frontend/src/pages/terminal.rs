//! A shell in the browser: pick a target, give a reason, and the gateway
//! (`/gateway/v1`, a WebSocket) opens a session there. Output (binary
//! frames) is fed to the same avt terminal the recording player draws with,
//! and only the rows that changed are redrawn; key presses go back as
//! binary frames, the terminal's size as a `resize` message. With
//! `?session=…&reconnect_token=…` (the session page's "Reconnect") the page
//! reattaches a dropped shell instead, and the gateway sends its screen.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use termaudit_api_types::gateway::{ClientMessage, ServerMessage};
use termaudit_api_types::{Session, Target, TargetList};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::Closure;
use web_sys::{BinaryType, CloseEvent, HtmlElement, HtmlInputElement, MessageEvent, WebSocket};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, encode};
use crate::components::{Environment, ErrorNotice, Loading, humanize};
use crate::hooks::{Fetch, use_get};
use crate::routes::Route;
use crate::session::{permission, use_session};
use crate::terminal::{Paintable as _, Screen, fitting_size, key_bytes, paint};

/// The page's query in attach mode.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AttachQuery {
    pub session: String,
    pub reconnect_token: String,
}

#[derive(Properties, PartialEq)]
pub struct TerminalProps {
    pub slug: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Choosing,
    Connecting,
    Open(Rc<Session>),
    /// The shell ended (`title`, and why) or could not be opened.
    Over {
        title: String,
        detail: Option<String>,
        error: bool,
    },
}

/// The socket and what listens to it; dropping it closes the socket.
struct Live {
    socket: WebSocket,
    screen: Rc<RefCell<Screen>>,
    node: NodeRef,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    on_resize: Closure<dyn FnMut()>,
    /// Closes the socket when the browser leaves the page (which may keep
    /// it open otherwise, in its back/forward cache).
    on_pagehide: Closure<dyn FnMut()>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        gloo::utils::window()
            .remove_event_listener_with_callback("resize", self.on_resize.as_ref().unchecked_ref())
            .ok();
        gloo::utils::window()
            .remove_event_listener_with_callback(
                "pagehide",
                self.on_pagehide.as_ref().unchecked_ref(),
            )
            .ok();
        let _ = self.socket.close();
    }
}

impl Live {
    fn send_bytes(&self, bytes: &[u8]) {
        if self.socket.ready_state() == WebSocket::OPEN {
            let _ = self.socket.send_with_u8_array(bytes);
        }
    }

    /// Fits the terminal to its frame; tells the gateway when that changed it.
    fn fit(&self) {
        let Some((cols, rows)) = fitting_size(&self.node) else { return };
        let mut screen = self.screen.borrow_mut();
        if screen.size() == (cols, rows) {
            return;
        }
        screen.resize(cols, rows);
        paint(&mut *screen, &self.node);
        let message = ClientMessage::Resize {
            cols: u16::try_from(cols).unwrap_or(u16::MAX),
            rows: u16::try_from(rows).unwrap_or(u16::MAX),
        };
        if self.socket.ready_state() == WebSocket::OPEN
            && let Ok(text) = serde_json::to_string(&message)
        {
            let _ = self.socket.send_with_str(&text);
        }
    }
}

/// What an `ended` message means to the person at the terminal.
fn ended_title(reason: &str, by: Option<&str>) -> String {
    match (reason, by) {
        ("revoked", Some(by)) => format!("Session revoked by {by}"),
        ("revoked", None) => "Session revoked".to_owned(),
        ("user_exit", _) => "The shell exited".to_owned(),
        ("idle_timeout", _) => "The session ended after being idle too long".to_owned(),
        ("grace_expired", _) => "The reconnect window closed".to_owned(),
        ("gateway_lost", _) => "The gateway shut down".to_owned(),
        ("target_error", _) => "The target failed".to_owned(),
        (other, _) => format!("The session ended ({})", humanize(other)),
    }
}

/// `ws(s)://host/gateway/v1/projects/{slug}/…` for this page's origin.
fn gateway_url(path_and_query: &str) -> String {
    let location = gloo::utils::window().location();
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss",
        _ => "ws",
    };
    let host = location.host().unwrap_or_default();
    format!("{scheme}://{host}/gateway/v1{path_and_query}")
}

/// Opens the socket at `path_and_query` (below `/gateway/v1`) with the
/// stored token as a subprotocol (`termaudit.v1, bearer.<token>`).
fn connect(
    path_and_query: &str,
    node: NodeRef,
    set_phase: UseStateSetter<Phase>,
) -> Result<Live, String> {
    let token = api::stored_token().ok_or("you are not signed in")?;
    let protocols = js_sys::Array::of2(&"termaudit.v1".into(), &format!("bearer.{token}").into());
    let socket = WebSocket::new_with_str_sequence(&gateway_url(path_and_query), &protocols)
        .map_err(|_| "the browser would not open a WebSocket to the gateway".to_owned())?;
    socket.set_binary_type(BinaryType::Arraybuffer);
    let (cols, rows) = fitting_size(&node).unwrap_or((100, 30));
    let screen = Rc::new(RefCell::new(Screen::new(cols, rows)?));
    // Set once the gateway said how the shell ended, so the close that
    // follows does not overwrite it.
    let finished = Rc::new(Cell::new(false));

    let on_message = {
        let (screen, node, set_phase, finished) =
            (screen.clone(), node.clone(), set_phase.clone(), finished.clone());
        Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            if let Some(buffer) = data.dyn_ref::<js_sys::ArrayBuffer>() {
                let bytes = js_sys::Uint8Array::new(buffer).to_vec();
                let mut screen = screen.borrow_mut();
                screen.feed(&bytes);
                paint(&mut *screen, &node);
                return;
            }
            let Some(text) = data.as_string() else { return };
            match serde_json::from_str::<ServerMessage>(&text) {
                Ok(ServerMessage::Opened { session, cols, rows }) => {
                    let mut screen = screen.borrow_mut();
                    screen.resize(usize::from(cols), usize::from(rows));
                    paint(&mut *screen, &node);
                    set_phase.set(Phase::Open(Rc::new(*session)));
                    if let Some(term) = node.cast::<HtmlElement>() {
                        let _ = term.focus();
                    }
                }
                Ok(ServerMessage::Ended { reason, by, detail }) => {
                    finished.set(true);
                    set_phase.set(Phase::Over {
                        title: ended_title(&reason, by.as_deref()),
                        detail,
                        error: false,
                    });
                }
                Ok(ServerMessage::Error { status, detail }) => {
                    finished.set(true);
                    set_phase.set(Phase::Over {
                        title: format!("The gateway refused ({status})"),
                        detail: Some(detail),
                        error: true,
                    });
                }
                Err(_) => {}
            }
        })
    };
    let on_close = {
        let (set_phase, finished) = (set_phase.clone(), finished.clone());
        Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            if finished.replace(true) {
                return;
            }
            let detail = if event.code() == 1006 {
                "The gateway refused the connection or could not be reached: the target may not \
                 be served by this server's gateway, or your token may lack access."
                    .to_owned()
            } else {
                format!(
                    "The connection closed ({}{}).",
                    event.code(),
                    match event.reason() {
                        reason if reason.is_empty() => String::new(),
                        reason => format!(": {reason}"),
                    }
                )
            };
            set_phase.set(Phase::Over {
                title: "The connection closed".to_owned(),
                detail: Some(detail),
                error: true,
            });
        })
    };
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let on_pagehide = {
        let socket = socket.clone();
        Closure::<dyn FnMut()>::new(move || {
            let _ = socket.close();
        })
    };
    let _ = gloo::utils::window()
        .add_event_listener_with_callback("pagehide", on_pagehide.as_ref().unchecked_ref());
    let live = Live {
        socket,
        on_pagehide,
        screen,
        node,
        _on_message: on_message,
        _on_close: on_close,
        on_resize: Closure::<dyn FnMut()>::new(|| {}),
    };
    Ok(live)
}

/// The open socket, shared by the page's handlers.
type Slot = Rc<RefCell<Option<Live>>>;

/// Starts listening to window resizes for the live terminal in `slot`.
fn watch_resizes(slot: &Slot) {
    let weak = Rc::downgrade(slot);
    let on_resize = Closure::<dyn FnMut()>::new(move || {
        if let Some(slot) = weak.upgrade()
            && let Some(live) = &*slot.borrow()
        {
            live.fit();
        }
    });
    let _ = gloo::utils::window()
        .add_event_listener_with_callback("resize", on_resize.as_ref().unchecked_ref());
    if let Some(live) = &mut *slot.borrow_mut() {
        live.on_resize = on_resize;
    }
}

#[component]
pub fn TerminalPage(props: &TerminalProps) -> Html {
    let session = use_session();
    let location = use_location();
    let attach: Option<AttachQuery> = location
        .as_ref()
        .and_then(|location| location.query::<AttachQuery>().ok())
        .filter(|query| !query.session.is_empty() && !query.reconnect_token.is_empty());
    let slug = props.slug.clone();
    let targets = use_get::<TargetList>(format!("/projects/{}/targets", encode(&slug)));
    let target = use_state(String::new);
    let reason = use_state(String::new);
    let phase = use_state(|| Phase::Choosing);
    let node = use_node_ref();
    let slot: Slot = use_mut_ref(|| None::<Live>);
    let allowed = session.can(&slug, permission::CONNECT);

    let start = {
        let (slot, node, set_phase) = (slot.clone(), node.clone(), phase.setter());
        Callback::from(move |path: String| {
            set_phase.set(Phase::Connecting);
            // The old socket (if any) closes first.
            slot.borrow_mut().take();
            match connect(&path, node.clone(), set_phase.clone()) {
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
        use_effect_with((attach.clone(), allowed), move |(attach, allowed)| {
            if let (Some(attach), true) = (attach, *allowed) {
                start.emit(format!(
                    "/projects/{}/terminals/{}/attach?reconnect_token={}",
                    encode(&slug),
                    encode(&attach.session),
                    encode(&attach.reconnect_token)
                ));
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
            start.emit(format!(
                "/projects/{}/terminals?target={}&reason={}&mode={mode}&cols={cols}&rows={rows}",
                encode(&slug),
                encode(&chosen.name),
                encode(reason.trim()),
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
                <div class="term" ref={node} tabindex="0" onkeydown={on_key}
                    data-testid="live-terminal" aria-label="Terminal; type to send keys"></div>
            </div>
        </>
    }
}
