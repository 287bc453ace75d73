//! The gateway's WebSocket client for the live shell (`/gateway/v1`): opens
//! or reattaches a session with the stored token as a subprotocol, feeds the
//! output (binary frames) to a [`Screen`] painted into the page, sends key
//! presses as binary frames and the terminal's size as a `resize` message,
//! and tells the page how far the session got ([`Phase`]). The HTTP API has
//! its client in [`crate::api`]; this is the other way the app talks to the
//! server.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use termaudit_api_types::Session;
use termaudit_api_types::gateway::{ClientMessage, ServerMessage};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::prelude::Closure;
use web_sys::{BinaryType, CloseEvent, HtmlElement, MessageEvent, WebSocket};
use yew::prelude::*;

use crate::api;
use crate::components::humanize;
use crate::terminal::{Paintable as _, Screen, fitting_size, paint};

thread_local! {
    /// A reconnect token on its way from the session page to the terminal
    /// page: kept in this page's memory, never in a URL (the page's or the
    /// socket's), and sent as the socket's first message.
    static RECONNECT_TOKEN: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// Hands `token`, granted for `session`, to the terminal page.
pub fn hand_over_reconnect_token(session: &str, token: &str) {
    RECONNECT_TOKEN.with(|slot| *slot.borrow_mut() = Some((session.to_owned(), token.to_owned())));
}

/// The token handed over for `session`, once.
pub fn take_reconnect_token(session: &str) -> Option<String> {
    RECONNECT_TOKEN.with(|slot| {
        let mut slot = slot.borrow_mut();
        match slot.take() {
            Some((for_session, token)) if for_session == session => Some(token),
            other => {
                *slot = other;
                None
            }
        }
    })
}

/// The first message of a reattach: the reconnect token.
pub fn reconnect_message(token: &str) -> String {
    serde_json::to_string(&ClientMessage::Reconnect { token: token.to_owned() }).unwrap_or_default()
}

/// Where the live shell is, as the terminal page shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// No shell yet: the page offers targets.
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
pub struct Live {
    socket: WebSocket,
    screen: Rc<RefCell<Screen>>,
    node: NodeRef,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    on_resize: Closure<dyn FnMut()>,
    /// Closes the socket when the browser leaves the page (which may keep
    /// it open otherwise, in its back/forward cache).
    on_pagehide: Closure<dyn FnMut()>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.socket.set_onopen(None);
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
    pub fn send_bytes(&self, bytes: &[u8]) {
        if self.socket.ready_state() == WebSocket::OPEN {
            let _ = self.socket.send_with_u8_array(bytes);
        }
    }

    /// Fits the terminal to its frame; tells the gateway when that changed it.
    pub fn fit(&self) {
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
/// stored token as a subprotocol (`termaudit.v1, bearer.<token>`), and
/// sends `first` (a reattach's reconnect token) once it is open.
pub fn connect(
    path_and_query: &str,
    first: Option<String>,
    node: NodeRef,
    set_phase: UseStateSetter<Phase>,
    set_notice: UseStateSetter<Option<String>>,
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
                // Beside the output, never in it: the recording is the shell's.
                Ok(ServerMessage::Watching { watcher, watching }) => {
                    set_notice.set(Some(if watching {
                        format!("{watcher} is watching this session live")
                    } else {
                        format!("{watcher} stopped watching")
                    }));
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
    let on_open = {
        let socket = socket.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(first) = &first {
                let _ = socket.send_with_str(first);
            }
        })
    };
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
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
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
        on_resize: Closure::<dyn FnMut()>::new(|| {}),
    };
    Ok(live)
}

/// The open socket, shared by the page's handlers.
pub type Slot = Rc<RefCell<Option<Live>>>;

/// Starts listening to window resizes for the live terminal in `slot`.
pub fn watch_resizes(slot: &Slot) {
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
