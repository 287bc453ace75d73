//! "Watch live": a session's recording as it arrives. The stream
//! (`GET …/recording/live`) is read with `fetch`, the token in the
//! `Authorization` header ([`api::event_stream`]); its events
//! ([`crate::live`]) are drawn on the terminal the player draws with, and a
//! dropped stream is resumed after its last event (`Last-Event-ID`).

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use gloo::timers::callback::Interval;
use yew::platform::spawn_local;
use yew::prelude::*;

use termaudit_api_types::Recording;

use crate::api::{self, ApiError};
use crate::components::ErrorNotice;
use crate::live::{Frames, Held, Live, Resume, backoff_ms};
use crate::player::Player;
use crate::player::playback::Action;
use crate::terminal::{PaintedTerminal, paint, size_style};
use crate::time;

/// Where the watch is.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    Connecting,
    /// The stream is open.
    Live,
    /// The stream dropped; trying again.
    Reconnecting,
    /// The session ended: how, for a person.
    Ended(String),
    /// The server refused (permission, gone): no use trying again.
    Failed(ApiError),
}

/// How far back "Back 10 s" goes, in seconds.
const SEEK_BACK_SECONDS: f64 = 10.0;

/// What the stream has told so far, shared by the reading task and the view.
struct Model {
    terminal: Option<PaintedTerminal>,
    /// Output that arrived while paused, drawn on "Jump to live".
    held: Held,
    paused: bool,
    /// The recording's time (seconds) at the edge: of the last event.
    edge: f64,
    /// Played back instead of the edge: the recording so far, from this
    /// second (the recorded player, over the chunks accepted so far).
    replay: Option<(Rc<Recording>, f64)>,
    /// The stream being read, to cancel when the view goes or to start again.
    reader: Option<web_sys::ReadableStreamDefaultReader>,
    /// The stream was cancelled to start again from `init` (too much held).
    resync: bool,
    /// The last event's id, to resume after.
    last_id: Option<String>,
    /// When (`Date.now()`, ms) the terminal last changed: its state at
    /// the start, or output since.
    last_update_ms: Option<f64>,
    /// When the recording started (ms since the epoch), from `init`.
    started_ms: Option<f64>,
    /// How long after it happened the last output reached this page (ms):
    /// its arrival against the recording's start plus its time. The
    /// operator's and this browser's clocks may differ a little.
    behind_ms: Option<f64>,
    phase: Phase,
}

impl Model {
    fn play(&mut self, action: Action) {
        let Some(terminal) = &mut self.terminal else { return };
        match action {
            Action::Output(text) => terminal.feed(&text),
            Action::Resize { cols, rows } => terminal.resize(cols, rows),
            Action::Nothing => {}
        }
    }

    /// Takes in one event; `true` at the end of the session.
    fn take(&mut self, live: Live) -> bool {
        match live {
            Live::Init(init) => {
                self.last_update_ms = Some(js_sys::Date::now());
                self.started_ms =
                    init.started_at.as_deref().map(js_sys::Date::parse).filter(|ms| ms.is_finite());
                self.held = Held::default();
                self.edge = init.time;
                self.terminal = PaintedTerminal::new(init.cols, init.rows).ok();
                if let Some(terminal) = &mut self.terminal {
                    terminal.feed(&init.init);
                }
            }
            Live::Play(event) => {
                let now = js_sys::Date::now();
                self.last_update_ms = Some(now);
                if let Some(started) = self.started_ms {
                    self.behind_ms = Some((now - (started + event.time * 1000.0)).max(0.0));
                }
                self.edge = self.edge.max(event.time);
                if self.paused {
                    self.held.push(event.action);
                } else {
                    self.play(event.action);
                }
            }
            Live::End(ending) => {
                self.phase = Phase::Ended(ending.describe());
                return true;
            }
        }
        false
    }
}

#[derive(Properties, PartialEq)]
pub struct LiveViewProps {
    /// The session's API path (`/projects/{slug}/sessions/{id}`).
    pub base: String,
    /// "Stop watching".
    pub on_close: Callback<()>,
}

#[component]
pub fn LiveView(props: &LiveViewProps) -> Html {
    let screen = use_node_ref();
    let model = use_mut_ref(|| Model {
        terminal: None,
        held: Held::default(),
        paused: false,
        edge: 0.0,
        replay: None,
        reader: None,
        resync: false,
        last_id: None,
        last_update_ms: None,
        started_ms: None,
        behind_ms: None,
        phase: Phase::Connecting,
    });
    let redraw = use_force_update();

    // Reads the stream while the view is shown; reconnects when it drops.
    {
        let (model, screen, redraw) = (model.clone(), screen.clone(), redraw.clone());
        use_effect_with(props.base.clone(), move |base| {
            let path = format!("{base}/recording/live");
            let cancelled = Rc::new(Cell::new(false));
            {
                let (cancelled, model) = (cancelled.clone(), model.clone());
                spawn_local(async move {
                    let mut attempt = 0;
                    while !cancelled.get() {
                        let last = model.borrow().last_id.clone();
                        match api::event_stream(&path, last.as_deref()).await {
                            Ok(stream) if cancelled.get() => {
                                // Closed while connecting: the server ends the watch.
                                let _ = stream.cancel();
                                return;
                            }
                            Ok(stream) => {
                                model.borrow_mut().reader = Some(stream.clone());
                                model.borrow_mut().phase = Phase::Live;
                                redraw.force_update();
                                if follow(&stream, &model, &screen, &redraw, &cancelled).await {
                                    return;
                                }
                                attempt = 0;
                                if std::mem::take(&mut model.borrow_mut().resync) {
                                    // Cancelled on purpose: from `init` at once.
                                    continue;
                                }
                            }
                            Err(error) if error.status().is_some_and(|s| s < 500) => {
                                model.borrow_mut().phase = Phase::Failed(error);
                                redraw.force_update();
                                return;
                            }
                            Err(_) => {}
                        }
                        if cancelled.get() {
                            return;
                        }
                        model.borrow_mut().phase = Phase::Reconnecting;
                        redraw.force_update();
                        yew::platform::time::sleep(Duration::from_millis(u64::from(backoff_ms(
                            attempt,
                        ))))
                        .await;
                        attempt += 1;
                    }
                });
            }
            move || {
                cancelled.set(true);
                if let Some(stream) = model.borrow_mut().reader.take() {
                    let _ = stream.cancel();
                }
            }
        });
    }

    // The time since the last update counts up.
    {
        let redraw = redraw.clone();
        use_effect_with((), move |()| {
            let interval = Interval::new(1000, move || redraw.force_update());
            move || drop(interval)
        });
    }

    let on_pause = {
        let (model, redraw) = (model.clone(), redraw.clone());
        Callback::from(move |_: MouseEvent| {
            model.borrow_mut().paused = true;
            redraw.force_update();
        })
    };
    // Back in time: the recording so far in the recorded player, a little
    // before the edge; the edge's output is held meanwhile.
    let on_back = {
        let (model, redraw, base) = (model.clone(), redraw.clone(), props.base.clone());
        Callback::from(move |_: MouseEvent| {
            let from = {
                let mut model = model.borrow_mut();
                model.paused = true;
                (model.edge - SEEK_BACK_SECONDS).max(0.0)
            };
            redraw.force_update();
            let (model, redraw, path) =
                (model.clone(), redraw.clone(), format!("{base}/recording"));
            spawn_local(async move {
                if let Ok(recording) = api::get::<Recording>(&path).await {
                    let mut model = model.borrow_mut();
                    if model.paused {
                        model.replay = Some((Rc::new(recording), from));
                    }
                }
                redraw.force_update();
            });
        })
    };
    let on_jump = {
        let (model, screen, redraw) = (model.clone(), screen.clone(), redraw.clone());
        Callback::from(move |_: MouseEvent| {
            let mut model = model.borrow_mut();
            model.paused = false;
            model.replay = None;
            match model.held.take() {
                Resume::Replay(actions) => {
                    for action in actions {
                        model.play(action);
                    }
                    if let Some(terminal) = &mut model.terminal {
                        paint(terminal, &screen);
                    }
                }
                Resume::Reinit => {
                    // Start the stream again without an id: `init` draws
                    // the terminal as it is now.
                    model.last_id = None;
                    model.resync = true;
                    if let Some(stream) = model.reader.take() {
                        let _ = stream.cancel();
                    }
                }
            }
            redraw.force_update();
        })
    };
    let on_close = props.on_close.reform(|_: MouseEvent| ());

    let model = model.borrow();
    let (cols, rows) = model.terminal.as_ref().map_or((80, 24), PaintedTerminal::size);
    let since =
        model.last_update_ms.map(|at| ((js_sys::Date::now() - at) / 1000.0).max(0.0) as i64);
    let ended = matches!(model.phase, Phase::Ended(_) | Phase::Failed(_));

    html! {
        <section class="card live-card" aria-labelledby="live-h" data-testid="watch">
            <div class="live-head">
                <h2 id="live-h">{ "Watching live" }</h2>
                { match &model.phase {
                    Phase::Connecting => html! { <span class="muted" data-testid="watch-state">{ "Connecting…" }</span> },
                    Phase::Live => html! {
                        <span class="badge badge-live" data-testid="watch-badge">{ "live" }</span>
                    },
                    Phase::Reconnecting => html! {
                        <span class="muted" role="status" data-testid="watch-state">{ "The stream dropped; reconnecting…" }</span>
                    },
                    Phase::Ended(_) | Phase::Failed(_) => html! {
                        <span class="badge badge-closed" data-testid="watch-state">{ "ended" }</span>
                    },
                } }
                if model.phase == Phase::Live {
                    <span class="muted" data-testid="watch-delay">
                        { match since {
                            Some(seconds) => match model.behind_ms {
                                Some(ms) => format!(
                                    "{:.1} s behind · updated {} ago",
                                    ms / 1000.0,
                                    time::span(seconds)
                                ),
                                None => format!("Updated {} ago", time::span(seconds)),
                            },
                            None => "Waiting for the recording".to_owned(),
                        } }
                    </span>
                }
                <div class="head-actions">
                    if !ended {
                        if model.paused {
                            <button type="button" class="button button-primary" onclick={on_jump}
                                data-testid="watch-jump">
                                { if model.held.overflowed() {
                                    "Jump to live (reloads the screen)".to_owned()
                                } else {
                                    format!("Jump to live ({} held)", model.held.count())
                                } }
                            </button>
                        } else {
                            <button type="button" class="button" onclick={on_pause}
                                data-testid="watch-pause">{ "Pause" }</button>
                        }
                        if model.replay.is_none() && model.terminal.is_some() {
                            <button type="button" class="button" onclick={on_back}
                                data-testid="watch-back">{ "Back 10 s" }</button>
                        }
                    }
                    <button type="button" class="button" onclick={on_close} data-testid="watch-close">
                        { "Stop watching" }
                    </button>
                </div>
            </div>
            if let Phase::Ended(how) = &model.phase {
                <div class="notice" role="status" data-testid="watch-end">
                    <p class="notice-title">{ "The session ended" }</p>
                    <p class="notice-detail">{ how }</p>
                </div>
            }
            if let Phase::Failed(error) = &model.phase {
                <ErrorNotice error={error.clone()} />
            }
            if let Some((recording, from)) = &model.replay {
                <div class="watch-replay" data-testid="watch-replay">
                    <p class="muted small">
                        { "Played back from the recording so far; the live output is held until you jump to live." }
                    </p>
                    <Player base={format!("{}/recording", props.base)} recording={Rc::clone(recording)}
                        start_at={Some(*from)} id_prefix="watch-"
                        label="The recording so far, played back" />
                </div>
            }
            <div class="term-frame term-live watch-frame" role="region" aria-label="The session’s terminal, live" tabindex="0"
                hidden={model.replay.is_some()}>
                <div class="term" ref={screen} data-testid="watch-terminal"
                    style={size_style(cols, rows)}>
                </div>
            </div>
        </section>
    }
}

/// Reads `stream` until it ends: `true` at the end of the session (or when
/// the view is gone), `false` when it dropped and should be resumed.
async fn follow(
    stream: &web_sys::ReadableStreamDefaultReader,
    model: &Rc<RefCell<Model>>,
    screen: &NodeRef,
    redraw: &UseForceUpdateHandle,
    cancelled: &Cell<bool>,
) -> bool {
    let mut frames = Frames::default();
    while let Ok(Some(bytes)) = api::read_piece(stream).await {
        if cancelled.get() {
            return true;
        }
        let mut model = model.borrow_mut();
        let mut ended = false;
        for frame in frames.push(&bytes) {
            if let Some(id) = &frame.id {
                model.last_id = Some(id.clone());
            }
            if let Some(live) = Live::of(&frame) {
                ended |= model.take(live);
            }
        }
        if !model.paused
            && let Some(terminal) = &mut model.terminal
        {
            paint(terminal, screen);
        }
        drop(model);
        redraw.force_update();
        if ended {
            return true;
        }
    }
    cancelled.get()
}
