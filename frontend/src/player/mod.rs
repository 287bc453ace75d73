//! The recording player: avt's virtual terminal drawn into the page as rows
//! of spans, fed with windows of the recording fetched ahead of the playback
//! position, so a long recording starts at once and a seek fetches only
//! what it shows.
//!
//! The terminal's rows are painted by hand ([`crate::terminal::paint`], on
//! animation frames); Yew draws everything around them: controls, seek
//! bar with markers, search. [`Driver`] owns the playback and the frame
//! loop; the component sees it through [`Ui`] snapshots, which change at
//! most every tenth of a second while playing.

mod frames;
mod playback;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use termaudit_api_types::{Recording, RecordingMarker, RecordingSearchResults, RecordingWindow};
use wasm_bindgen::JsCast as _;
use web_sys::{Element, HtmlInputElement, HtmlSelectElement};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, ApiError, encode};
use crate::components::ErrorNotice;
use crate::terminal::{Paintable as _, paint, size_style};
use frames::Frames;
use playback::{DEFAULT_IDLE_LIMIT, Playback, Progress, WINDOW_SECONDS, clock, query_seconds};

/// The speeds offered, as (value, label).
const SPEEDS: [(f64, &str); 6] =
    [(0.25, "0.25×"), (0.5, "0.5×"), (1.0, "1×"), (1.5, "1.5×"), (2.0, "2×"), (4.0, "4×")];
/// How far the arrow keys seek.
const STEP_SECONDS: f64 = 5.0;
/// A frame longer than this (a background tab) plays as this long.
const MAX_FRAME_SECONDS: f64 = 0.25;

/// What the controls show.
#[derive(Debug, Clone, PartialEq, Default)]
struct Ui {
    /// The first window has arrived.
    ready: bool,
    playing: bool,
    /// Waiting for a window: seeking, or playback caught up with the loaded ones.
    waiting: bool,
    /// Tenths of a second, so playing changes it ten times a second, not sixty.
    tenths: i64,
    cols: usize,
    rows: usize,
    error: Option<ApiError>,
}

impl Ui {
    fn position(&self) -> f64 {
        self.tenths as f64 / 10.0
    }
}

struct Driver {
    /// `/projects/{p}/sessions/{id}/recording`
    base: String,
    duration: f64,
    markers: Vec<f64>,
    playback: Option<Playback>,
    playing: bool,
    speed: f64,
    /// Compress idle gaps to this, or play them in full.
    idle_limit: Option<f64>,
    last_frame: Option<f64>,
    /// Bumped by every seek that fetches, so an older answer is dropped.
    generation: u32,
    /// Where a fetching seek goes.
    seeking_to: Option<f64>,
    appending: bool,
    waiting: bool,
    error: Option<ApiError>,
    screen: NodeRef,
    frames: Option<Frames>,
    sent: Ui,
    set_ui: Callback<Ui>,
}

impl Driver {
    fn snapshot(&self) -> Ui {
        let position = self
            .seeking_to
            .or_else(|| self.playback.as_ref().map(Playback::position))
            .unwrap_or(0.0);
        let (cols, rows) = self.playback.as_ref().map_or((0, 0), Playback::size);
        Ui {
            ready: self.playback.is_some(),
            playing: self.playing,
            waiting: self.seeking_to.is_some() || (self.playing && self.waiting),
            tenths: (position * 10.0).floor() as i64,
            cols,
            rows,
            error: self.error.clone(),
        }
    }

    /// Paints the rows that changed since the last paint.
    fn paint(&mut self) {
        if let Some(playback) = self.playback.as_mut() {
            paint(playback, &self.screen);
        }
    }

    /// One animation frame; `false` ends the loop.
    fn frame(&mut self, timestamp: f64) -> bool {
        if !self.playing {
            self.last_frame = None;
            return false;
        }
        let elapsed = self
            .last_frame
            .map_or(0.0, |last| ((timestamp - last) / 1000.0).clamp(0.0, MAX_FRAME_SECONDS));
        self.last_frame = Some(timestamp);
        if self.seeking_to.is_some() {
            return true;
        }
        let Some(playback) = self.playback.as_mut() else { return true };
        match playback.advance(elapsed * self.speed, self.idle_limit) {
            Progress::Playing => self.waiting = false,
            Progress::Buffering => self.waiting = true,
            Progress::Ended => {
                self.playing = false;
                self.waiting = false;
            }
        }
        self.paint();
        self.playing
    }

    /// Moves to `time`: at once when the loaded events reach it, otherwise
    /// returns the window to fetch.
    fn seek(&mut self, time: f64) -> Option<f64> {
        let time = time.clamp(0.0, self.duration);
        self.last_frame = None;
        self.waiting = false;
        if self.seeking_to.is_none()
            && let Some(playback) = self.playback.as_mut()
            && playback.seek_within(time)
        {
            self.paint();
            return None;
        }
        self.generation = self.generation.wrapping_add(1);
        self.seeking_to = Some(time);
        self.appending = false;
        Some(time)
    }

    fn position(&self) -> f64 {
        self.seeking_to.or_else(|| self.playback.as_ref().map(Playback::position)).unwrap_or(0.0)
    }

    /// The marker before (`-1`) or after (`1`) the position.
    fn marker_from_here(&self, direction: i8) -> Option<f64> {
        let here = self.position();
        if direction < 0 {
            // A little slack, so pressing again goes on to the one before.
            self.markers.iter().rev().copied().find(|&time| time < here - 0.5)
        } else {
            self.markers.iter().copied().find(|&time| time > here + 0.05)
        }
    }

    fn on_window(
        &mut self,
        generation: u32,
        seek: bool,
        result: Result<RecordingWindow, ApiError>,
    ) {
        if generation != self.generation {
            return;
        }
        if seek {
            self.seeking_to = None;
        } else {
            self.appending = false;
        }
        let window = match result {
            Ok(window) => window,
            Err(error) => {
                self.error = Some(error);
                self.playing = false;
                return;
            }
        };
        if seek {
            match Playback::start(&window, self.duration) {
                Ok(playback) => {
                    self.playback = Some(playback);
                    self.error = None;
                }
                Err(message) => {
                    self.error = Some(ApiError::Client(format!(
                        "the recording's terminal cannot be drawn: {message}"
                    )));
                    self.playing = false;
                }
            }
        } else if let Some(playback) = self.playback.as_mut() {
            playback.append(&window);
        }
        self.last_frame = None;
        self.paint();
    }
}

type Shared = Rc<RefCell<Driver>>;

/// What a key does.
#[derive(Clone, Copy)]
enum Shortcut {
    Toggle,
    Step(f64),
    Marker(i8),
}

/// Runs `change` on the driver, then does what it calls for: fetch a
/// window, run the frame loop, tell the component. The component hears
/// after the driver is released, as a render may follow at once.
fn update<R>(driver: &Shared, change: impl FnOnce(&mut Driver) -> R) -> R {
    let (result, ui, set_ui, append_from) = {
        let mut d = driver.borrow_mut();
        let result = change(&mut d);
        let append_from = match &d.playback {
            Some(playback)
                if !d.appending
                    && d.seeking_to.is_none()
                    && d.error.is_none()
                    && playback.wants_more() =>
            {
                Some(playback.loaded_to())
            }
            _ => None,
        };
        if append_from.is_some() {
            d.appending = true;
        }
        if let Some(frames) = &d.frames {
            if d.playing { frames.start() } else { frames.stop() }
        }
        let ui = d.snapshot();
        let changed = ui != d.sent;
        if changed {
            d.sent = ui.clone();
        }
        (result, changed.then_some(ui), d.set_ui.clone(), append_from)
    };
    if let Some(ui) = ui {
        set_ui.emit(ui);
    }
    if let Some(from) = append_from {
        fetch_window(driver, from, false);
    }
    result
}

/// Fetches the window from `from`: to start there (`seek`) or to continue.
fn fetch_window(driver: &Shared, from: f64, seek: bool) {
    let (path, generation) = {
        let d = driver.borrow();
        let to = from + WINDOW_SECONDS;
        (
            format!("{}/events?from={}&to={}", d.base, query_seconds(from), query_seconds(to)),
            d.generation,
        )
    };
    let weak: Weak<RefCell<Driver>> = Rc::downgrade(driver);
    spawn_local(async move {
        let result = api::get::<RecordingWindow>(&path).await;
        if let Some(driver) = weak.upgrade() {
            update(&driver, |d| d.on_window(generation, seek, result));
        }
    });
}

fn seek_to(driver: &Shared, time: f64) {
    if let Some(from) = update(driver, |d| d.seek(time)) {
        fetch_window(driver, from, true);
    }
}

fn toggle(driver: &Shared) {
    let restart = update(driver, |d| {
        if d.playing {
            d.playing = false;
            return false;
        }
        d.playing = true;
        d.last_frame = None;
        d.playback.as_ref().is_some_and(Playback::at_end)
    });
    if restart {
        seek_to(driver, 0.0);
    }
}

#[derive(Properties, PartialEq)]
pub struct PlayerProps {
    /// The recording's API path, `/projects/{p}/sessions/{id}/recording`.
    pub base: String,
    pub recording: Rc<Recording>,
}

#[component]
pub fn Player(props: &PlayerProps) -> Html {
    let ui = use_state(Ui::default);
    let screen = use_node_ref();
    let slot = use_mut_ref(|| None::<Shared>);
    let speed = use_state(|| 1.0_f64);
    let compress = use_state(|| true);
    let recording = &props.recording;
    let duration = recording.duration.max(0.0);
    let header_idle_limit = recording
        .header
        .as_ref()
        .and_then(|header| header.get("idle_time_limit"))
        .and_then(serde_json::Value::as_f64)
        .filter(|limit| *limit > 0.0)
        .unwrap_or(DEFAULT_IDLE_LIMIT);

    {
        let (slot, screen, set_ui) = (slot.clone(), screen.clone(), ui.setter());
        let markers: Vec<f64> = recording.markers.iter().map(|marker| marker.time).collect();
        use_effect_with(props.base.clone(), move |base| {
            let driver = Rc::new(RefCell::new(Driver {
                base: base.clone(),
                duration,
                markers,
                playback: None,
                playing: false,
                speed: 1.0,
                idle_limit: Some(header_idle_limit),
                last_frame: None,
                generation: 0,
                seeking_to: None,
                appending: false,
                waiting: false,
                error: None,
                screen,
                frames: None,
                sent: Ui::default(),
                set_ui: Callback::from(move |ui| set_ui.set(ui)),
            }));
            let weak = Rc::downgrade(&driver);
            driver.borrow_mut().frames = Some(Frames::new(move |timestamp| {
                weak.upgrade().is_some_and(|driver| update(&driver, |d| d.frame(timestamp)))
            }));
            seek_to(&driver, 0.0);
            *slot.borrow_mut() = Some(driver);
            move || {
                // Ends the frame loop; answers still in flight find no driver.
                slot.borrow_mut().take();
            }
        });
    }

    // Every control goes through the driver, when there is one.
    let with_driver = {
        let slot = slot.clone();
        move |action: &dyn Fn(&Shared)| {
            let driver = slot.borrow().clone();
            if let Some(driver) = driver {
                action(&driver);
            }
        }
    };

    let on_toggle = {
        let with_driver = with_driver.clone();
        Callback::from(move |_: MouseEvent| with_driver(&toggle))
    };
    let seekbar = use_node_ref();
    let on_seekbar = {
        let (with_driver, seekbar) = (with_driver.clone(), seekbar.clone());
        Callback::from(move |event: MouseEvent| {
            // Not the event's current target: Yew listens at the app's root.
            let Some(bar) = seekbar.cast::<Element>() else { return };
            let rect = bar.get_bounding_client_rect();
            if rect.width() <= 0.0 {
                return;
            }
            let fraction =
                ((f64::from(event.client_x()) - rect.left()) / rect.width()).clamp(0.0, 1.0);
            with_driver(&|driver| seek_to(driver, fraction * duration));
        })
    };
    let on_speed = {
        let (with_driver, speed) = (with_driver.clone(), speed.clone());
        Callback::from(move |event: Event| {
            let value = event.target_unchecked_into::<HtmlSelectElement>().value();
            let value = value.parse::<f64>().unwrap_or(1.0);
            speed.set(value);
            with_driver(&|driver| update(driver, |d| d.speed = value));
        })
    };
    let on_compress = {
        let (with_driver, compress) = (with_driver.clone(), compress.clone());
        Callback::from(move |event: Event| {
            let on = event.target_unchecked_into::<HtmlInputElement>().checked();
            compress.set(on);
            with_driver(&|driver| {
                update(driver, |d| d.idle_limit = on.then_some(header_idle_limit));
            });
        })
    };
    let on_keydown = {
        let with_driver = with_driver.clone();
        Callback::from(move |event: KeyboardEvent| {
            let key = event.key();
            if let Some(target) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) {
                let tag = target.tag_name();
                if matches!(tag.as_str(), "INPUT" | "SELECT" | "TEXTAREA") {
                    return;
                }
                // A focused button answers space and Enter itself.
                if tag == "BUTTON" && matches!(key.as_str(), " " | "Enter") {
                    return;
                }
            }
            let shortcut = match key.as_str() {
                " " | "k" => Shortcut::Toggle,
                "ArrowLeft" => Shortcut::Step(-STEP_SECONDS),
                "ArrowRight" => Shortcut::Step(STEP_SECONDS),
                "[" => Shortcut::Marker(-1),
                "]" => Shortcut::Marker(1),
                _ => return,
            };
            event.prevent_default();
            with_driver(&|driver| match shortcut {
                Shortcut::Toggle => toggle(driver),
                Shortcut::Step(seconds) => {
                    let here = driver.borrow().position();
                    seek_to(driver, here + seconds);
                }
                Shortcut::Marker(direction) => {
                    let marker = driver.borrow().marker_from_here(direction);
                    if let Some(time) = marker {
                        seek_to(driver, time);
                    }
                }
            });
        })
    };
    let on_seek_to = {
        let with_driver = with_driver.clone();
        Callback::from(move |time: f64| with_driver(&|driver| seek_to(driver, time)))
    };

    let position = ui.position().min(duration);
    let percent =
        |time: f64| if duration > 0.0 { (time / duration * 100.0).clamp(0.0, 100.0) } else { 0.0 };
    let markers = &recording.markers;

    html! {
        <div class="player" tabindex="0" data-testid="player" onkeydown={on_keydown}
            data-waiting={(!ui.ready || ui.waiting).to_string()}
            aria-label="Recording player: space plays or pauses, arrows seek 5 seconds, [ and ] jump between markers">
            <div class="term-frame" onclick={on_toggle.clone()}>
                <div class="term" ref={screen} data-testid="terminal"
                    data-position={format!("{position:.1}")}
                    style={size_style(ui.cols.max(1), ui.rows.max(1))}>
                </div>
                if !ui.ready && ui.error.is_none() {
                    <div class="term-overlay"><span class="spinner" aria-hidden="true"></span>{ " Loading the recording…" }</div>
                } else if ui.waiting {
                    <div class="term-overlay term-overlay-quiet"><span class="spinner" aria-hidden="true"></span></div>
                } else if !ui.playing && ui.tenths == 0 {
                    <div class="term-overlay term-overlay-quiet"><span class="big-play" aria-hidden="true">{ "▶" }</span></div>
                }
            </div>
            <div class="controls">
                <button type="button" class="button control-play" onclick={on_toggle}
                    aria-label={if ui.playing { "Pause" } else { "Play" }} title="Play or pause (space)"
                    data-testid="play" data-playing={ui.playing.to_string()} disabled={!ui.ready}>
                    { if ui.playing { "❚❚" } else { "▶" } }
                </button>
                <span class="clock" data-testid="clock">{ format!("{} / {}", clock(position), clock(duration)) }</span>
                <div class="seekbar" role="slider" aria-label="Position" aria-valuemin="0"
                    aria-valuemax={format!("{duration:.1}")} aria-valuenow={format!("{position:.1}")}
                    aria-valuetext={clock(position)} data-testid="seekbar" ref={seekbar} onclick={on_seekbar}>
                    <div class="seek-track"></div>
                    <div class="seek-fill" style={format!("width: {:.3}%", percent(position))}></div>
                    { for markers.iter().map(|marker| seek_marker(marker, percent(marker.time), &on_seek_to)) }
                </div>
                <label class="control-field">
                    <span class="sr-only">{ "Speed" }</span>
                    <select class="input control-speed" data-testid="speed" onchange={on_speed} title="Speed">
                        { for SPEEDS.iter().map(|(value, label)| html! {
                            <option value={value.to_string()} selected={*value == *speed}>{ *label }</option>
                        }) }
                    </select>
                </label>
                <label class="control-field control-check" title={format!("Gaps with no output last at most {header_idle_limit} s")}>
                    <input type="checkbox" checked={*compress} onchange={on_compress} data-testid="compress-idle" />
                    { format!(" Skip idle > {header_idle_limit} s") }
                </label>
            </div>
            if let Some(error) = &ui.error {
                <ErrorNotice error={error.clone()} />
            }
            <p class="player-help small muted">
                <kbd>{ "space" }</kbd>{ " play/pause · " }<kbd>{ "←" }</kbd><kbd>{ "→" }</kbd>
                { format!(" seek {STEP_SECONDS} s · ") }<kbd>{ "[" }</kbd><kbd>{ "]" }</kbd>{ " previous/next marker" }
            </p>
            if !markers.is_empty() {
                <ol class="markers" data-testid="markers">
                    { for markers.iter().map(|marker| {
                        let (on_seek_to, time) = (on_seek_to.clone(), marker.time);
                        let current = position >= time && markers.iter().find(|m| m.time > time).is_none_or(|next| position < next.time);
                        html! {
                            <li class={classes!("marker", current.then_some("current"))}>
                                <button type="button" class="marker-jump" onclick={move |_| on_seek_to.emit(time)}>
                                    <span class="marker-time">{ clock(time) }</span>
                                    <code class="command">{ &marker.label }</code>
                                </button>
                            </li>
                        }
                    }) }
                </ol>
            }
            <RecordingSearch base={props.base.clone()} on_jump={on_seek_to} />
        </div>
    }
}

fn seek_marker(marker: &RecordingMarker, left: f64, on_seek_to: &Callback<f64>) -> Html {
    let (on_seek_to, time) = (on_seek_to.clone(), marker.time);
    let onclick = move |event: MouseEvent| {
        event.stop_propagation();
        on_seek_to.emit(time);
    };
    html! {
        <button type="button" class="seek-marker" style={format!("left: {left:.3}%")}
            title={format!("{} {}", clock(marker.time), marker.label)}
            aria-label={format!("Jump to {} at {}", marker.label, clock(marker.time))}
            tabindex="-1" {onclick}></button>
    }
}

#[derive(Properties, PartialEq)]
struct SearchProps {
    base: String,
    on_jump: Callback<f64>,
}

/// Finds a text in the recording's output; a result jumps there.
#[component]
fn RecordingSearch(props: &SearchProps) -> Html {
    let query = use_state(String::new);
    let results = use_state(|| None::<Result<Rc<RecordingSearchResults>, ApiError>>);
    let busy = use_state(|| false);

    let on_input = {
        let query = query.clone();
        Callback::from(move |event: InputEvent| {
            query.set(event.target_unchecked_into::<HtmlInputElement>().value());
        })
    };
    let on_submit = {
        let (query, results, busy, base) =
            (query.clone(), results.clone(), busy.clone(), props.base.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let text = query.trim().to_owned();
            if text.is_empty() {
                return;
            }
            busy.set(true);
            let (results, busy) = (results.clone(), busy.clone());
            let path = format!("{base}/search?q={}", encode(&text));
            spawn_local(async move {
                let found = api::get::<RecordingSearchResults>(&path).await;
                busy.set(false);
                results.set(Some(found.map(Rc::new)));
            });
        })
    };

    html! {
        <div class="recording-search">
            <form class="search-form" onsubmit={on_submit} role="search">
                <label for="recording-search" class="sr-only">{ "Search the recording" }</label>
                <input id="recording-search" class="input" type="search" placeholder="Search the output…"
                    value={(*query).clone()} oninput={on_input} maxlength="200" />
                <button type="submit" class="button" disabled={*busy || query.trim().is_empty()}>
                    { if *busy { "Searching…" } else { "Search" } }
                </button>
            </form>
            { match &*results {
                None => html! {},
                Some(Err(error)) => html! { <ErrorNotice error={error.clone()} /> },
                Some(Ok(found)) if found.matches.is_empty() => html! {
                    <p class="muted small" data-testid="search-empty">{ format!("“{}” does not appear in the output.", found.query) }</p>
                },
                Some(Ok(found)) => html! {
                    <>
                        <p class="small muted">
                            { format!("{} match{} for “{}”{}", found.matches.len(),
                                if found.matches.len() == 1 { "" } else { "es" }, found.query,
                                if found.truncated { " (the first 100)" } else { "" }) }
                        </p>
                        <ol class="search-results" data-testid="search-results">
                            { for found.matches.iter().map(|hit| {
                                let (on_jump, time) = (props.on_jump.clone(), hit.time);
                                html! {
                                    <li>
                                        <button type="button" class="search-hit" onclick={move |_| on_jump.emit(time)}>
                                            <span class="marker-time">{ clock(hit.time) }</span>
                                            <code>{ &hit.context }</code>
                                        </button>
                                    </li>
                                }
                            }) }
                        </ol>
                    </>
                },
            } }
        </div>
    }
}
