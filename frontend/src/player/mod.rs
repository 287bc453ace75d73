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
mod matches;
pub(crate) mod playback;

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use termaudit_api_types::{Recording, RecordingMarker, RecordingSearchResults, RecordingWindow};
use wasm_bindgen::JsCast as _;
use wasm_bindgen::closure::Closure;
use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlSelectElement, ResizeObserver};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, ApiError, encode};
use crate::components::ErrorNotice;
use crate::terminal::{Paintable as _, fit_font, paint, size_style};
use frames::Frames;
use playback::{
    DEFAULT_IDLE_LIMIT, Playback, Poster, Progress, WINDOW_SECONDS, clock, query_seconds,
};

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
    /// The still shown until the recording is played or sought.
    poster: Option<Rc<Poster>>,
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
    poster: Option<Rc<Poster>>,
    /// Played or sought by the viewer: no poster any more.
    dismissed: bool,
    /// A search's text to mark on the screen (folded; empty: none).
    highlight: Vec<char>,
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
            poster: if self.dismissed { None } else { self.poster.clone() },
        }
    }

    /// Paints the rows that changed since the last paint.
    fn paint(&mut self) {
        if let Some(playback) = self.playback.as_mut() {
            paint(playback, &self.screen);
            if !self.highlight.is_empty() {
                matches::mark(&self.screen, &self.highlight);
            }
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
        if seek && !self.dismissed && self.poster.is_none() && window.from == 0.0 {
            self.poster = Poster::of(&window).map(Rc::new);
        }
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

/// A seek the viewer asked for: the poster goes.
fn seek_by_viewer(driver: &Shared, time: f64) {
    driver.borrow_mut().dismissed = true;
    seek_to(driver, time);
}

fn toggle(driver: &Shared) {
    let restart = update(driver, |d| {
        d.dismissed = true;
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
    /// Start playing at once (the history's Play link).
    #[prop_or_default]
    pub autoplay: bool,
    /// Start at this second instead of the beginning (a link to a moment).
    #[prop_or_default]
    pub start_at: Option<f64>,
    /// Mark this text wherever the screen shows it (a search's match).
    #[prop_or_default]
    pub highlight: Option<AttrValue>,
    /// Put before the player's element ids, for a second player on the page
    /// (the live view's, seeking back).
    #[prop_or_default]
    pub id_prefix: AttrValue,
    /// The player's accessible name (unique on the page, as a landmark's).
    #[prop_or(AttrValue::Static("Recording player"))]
    pub label: AttrValue,
}

#[component]
pub fn Player(props: &PlayerProps) -> Html {
    let ui = use_state(Ui::default);
    let screen = use_node_ref();
    let player = use_node_ref();
    let slot = use_mut_ref(|| None::<Shared>);
    let speed = use_state(|| 1.0_f64);
    let compress = use_state(|| true);
    // The time under the pointer on the seek bar.
    let hover = use_state(|| None::<f64>);
    let fullscreen = use_state(|| false);
    // The seek bar's marker that Tab reaches; arrows move among them.
    let roving = use_state(|| 0_usize);
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
        let (autoplay, start_at) = (props.autoplay, props.start_at);
        let highlight = props.highlight.as_deref().map(matches::needle).unwrap_or_default();
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
                poster: None,
                // A chosen moment shows itself, not a poster.
                dismissed: start_at.is_some() || autoplay,
                highlight,
            }));
            let weak = Rc::downgrade(&driver);
            driver.borrow_mut().frames = Some(Frames::new(move |timestamp| {
                weak.upgrade().is_some_and(|driver| update(&driver, |d| d.frame(timestamp)))
            }));
            seek_to(&driver, start_at.unwrap_or(0.0));
            if autoplay {
                // Plays once the window has arrived.
                toggle(&driver);
            }
            *slot.borrow_mut() = Some(driver);
            move || {
                // Ends the frame loop; answers still in flight find no driver.
                slot.borrow_mut().take();
            }
        });
    }
    // Opened to play: bring the player into view.
    {
        let player = player.clone();
        use_effect_with(
            (props.autoplay || props.start_at.is_some(), ui.ready),
            move |(wanted, ready)| {
                if *wanted
                    && *ready
                    && let Some(element) = player.cast::<Element>()
                {
                    element.scroll_into_view();
                }
            },
        );
    }
    // The text fits the frame's width (and the screen, in fullscreen):
    // again when the terminal's size, the frame's width or the mode changes.
    {
        let (screen, size, full) = (screen.clone(), (ui.cols.max(1), ui.rows.max(1)), *fullscreen);
        use_effect_with((size, full), move |_| {
            fit_font(&screen, size, full);
            let frame = screen.cast::<Element>().and_then(|term| term.parent_element());
            let observer = frame.and_then(|frame| {
                let screen = screen.clone();
                let callback = Closure::<dyn FnMut()>::new(move || fit_font(&screen, size, full));
                let observer = ResizeObserver::new(callback.as_ref().unchecked_ref()).ok()?;
                observer.observe(&frame);
                Some((observer, callback))
            });
            move || {
                if let Some((observer, _callback)) = observer {
                    observer.disconnect();
                }
            }
        });
    }
    // Fullscreen begins and ends with the browser (Escape, say), not only the button.
    {
        let (player, fullscreen) = (player.clone(), fullscreen.clone());
        use_effect_with((), move |()| {
            let document = gloo::utils::document();
            let callback = Closure::<dyn FnMut()>::new(move || {
                let current = gloo::utils::document().fullscreen_element();
                let ours = player.cast::<Element>();
                fullscreen.set(current.is_some() && current == ours);
            });
            let _ = document.add_event_listener_with_callback(
                "fullscreenchange",
                callback.as_ref().unchecked_ref(),
            );
            move || {
                let _ = document.remove_event_listener_with_callback(
                    "fullscreenchange",
                    callback.as_ref().unchecked_ref(),
                );
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
    // The time at the pointer's place on the bar.
    let time_at = {
        let seekbar = seekbar.clone();
        move |event: &MouseEvent| -> Option<f64> {
            // Not the event's current target: Yew listens at the app's root.
            let bar = seekbar.cast::<Element>()?;
            let rect = bar.get_bounding_client_rect();
            (rect.width() > 0.0).then(|| {
                ((f64::from(event.client_x()) - rect.left()) / rect.width()).clamp(0.0, 1.0)
                    * duration
            })
        }
    };
    let on_seekbar = {
        let (with_driver, time_at) = (with_driver.clone(), time_at.clone());
        Callback::from(move |event: MouseEvent| {
            if let Some(time) = time_at(&event) {
                with_driver(&|driver| seek_by_viewer(driver, time));
            }
        })
    };
    let on_hover = {
        let hover = hover.clone();
        Callback::from(move |event: MouseEvent| hover.set(time_at(&event)))
    };
    let on_leave = {
        let hover = hover.clone();
        Callback::from(move |_: MouseEvent| hover.set(None))
    };
    let on_fullscreen = {
        let player = player.clone();
        Callback::from(move |_: MouseEvent| {
            let document = gloo::utils::document();
            if document.fullscreen_element().is_some() {
                document.exit_fullscreen();
            } else if let Some(element) = player.cast::<Element>() {
                let _ = element.request_fullscreen();
            }
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
                "Home" => Shortcut::Step(f64::NEG_INFINITY),
                "End" => Shortcut::Step(f64::INFINITY),
                "[" => Shortcut::Marker(-1),
                "]" => Shortcut::Marker(1),
                _ => return,
            };
            event.prevent_default();
            with_driver(&|driver| match shortcut {
                Shortcut::Toggle => toggle(driver),
                Shortcut::Step(seconds) => {
                    let here = driver.borrow().position();
                    let to = if seconds.is_finite() { here + seconds } else { seconds.max(0.0) };
                    seek_by_viewer(driver, to.min(duration));
                }
                Shortcut::Marker(direction) => {
                    let marker = driver.borrow().marker_from_here(direction);
                    if let Some(time) = marker {
                        seek_by_viewer(driver, time);
                    }
                }
            });
        })
    };
    let on_seek_to = {
        let with_driver = with_driver.clone();
        Callback::from(move |time: f64| with_driver(&|driver| seek_by_viewer(driver, time)))
    };

    let position = ui.position().min(duration);
    let percent =
        |time: f64| if duration > 0.0 { (time / duration * 100.0).clamp(0.0, 100.0) } else { 0.0 };
    let markers = &recording.markers;
    let roving_index = (*roving).min(markers.len().saturating_sub(1));
    let poster = ui.poster.clone().filter(|_| !ui.playing && ui.tenths == 0);

    html! {
        <div class={classes!("player", fullscreen.then_some("is-fullscreen"))} ref={player}
            tabindex="0" role="region" aria-label={props.label.clone()} aria-describedby={format!("{}player-keys", props.id_prefix)}
            data-testid="player" onkeydown={on_keydown}
            data-waiting={(!ui.ready || ui.waiting).to_string()}>
            <div class="player-stage" data-testid="player-stage">
                <div class="term-frame" onclick={on_toggle.clone()}>
                    <div class="term" ref={screen} data-testid="terminal"
                        data-position={format!("{position:.1}")}
                        style={size_style(ui.cols.max(1), ui.rows.max(1))}>
                    </div>
                    if let Some(poster) = &poster {
                        <div class="term term-poster" data-testid="poster" aria-hidden="true"
                            data-time={format!("{:.1}", poster.time)}
                            style={size_style(poster.cols, poster.rows)}>
                            { for poster.lines.iter().map(|line| html! {
                                <div class="term-line">{ Html::from_html_unchecked(AttrValue::from(line.clone())) }</div>
                            }) }
                        </div>
                    }
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
                    <div class="seekbar">
                        <div class="seek-slider" role="slider" tabindex="0" aria-label="Position"
                            aria-valuemin="0" aria-valuemax={format!("{duration:.1}")}
                            aria-valuenow={format!("{position:.1}")}
                            aria-valuetext={format!("{} of {}", clock(position), clock(duration))}
                            data-testid="seekbar" ref={seekbar} onclick={on_seekbar}
                            onmousemove={on_hover} onmouseleave={on_leave}>
                            <div class="seek-track"></div>
                            <div class="seek-fill" style={format!("width: {:.3}%", percent(position))}></div>
                            if let Some(time) = *hover {
                                <div class="seek-hover" data-testid="seek-hover" aria-hidden="true"
                                    style={format!("left: {:.3}%", percent(time))}>{ clock(time) }</div>
                            }
                        </div>
                        if !markers.is_empty() {
                            <div class="seek-markers" role="group" aria-label="Markers on the seek bar">
                                { for markers.iter().enumerate().map(|(index, marker)| {
                                    seek_marker(marker, percent(marker.time), index == roving_index, index, &roving, &on_seek_to)
                                }) }
                            </div>
                        }
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
                    <button type="button" class="button control-fullscreen" onclick={on_fullscreen}
                        data-testid="fullscreen" aria-pressed={fullscreen.to_string()}
                        aria-label="Fullscreen" title={if *fullscreen { "Exit fullscreen (Esc)" } else { "Fullscreen" }}>
                        <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true" focusable="false">
                            <path d="M1 5V1h4M11 1h4v4M15 11v4h-4M5 15H1v-4" fill="none" stroke="currentColor" stroke-width="1.75" />
                        </svg>
                    </button>
                </div>
                if let Some(error) = &ui.error {
                    <ErrorNotice error={error.clone()} />
                }
                // Only where there is a keyboard (style.css hides it on touch screens).
                <p class="player-help small muted kbd-hint" id={format!("{}player-keys", props.id_prefix)}>
                    <kbd>{ "space" }</kbd>{ " play/pause · " }<kbd>{ "←" }</kbd><kbd>{ "→" }</kbd>
                    { format!(" seek {STEP_SECONDS} s · ") }<kbd>{ "[" }</kbd><kbd>{ "]" }</kbd>{ " previous/next marker · " }
                    <kbd>{ "Home" }</kbd><kbd>{ "End" }</kbd>{ " start/end" }
                </p>
            </div>
            <div class="player-side" data-testid="player-side">
                if !markers.is_empty() {
                    <h3 class="player-side-h">{ "Commands" }</h3>
                    <ol class="markers" data-testid="markers">
                        { for markers.iter().map(|marker| {
                            let (on_seek_to, time) = (on_seek_to.clone(), marker.time);
                            let current = position >= time && markers.iter().find(|m| m.time > time).is_none_or(|next| position < next.time);
                            html! {
                                <li class={classes!("marker", current.then_some("current"))}>
                                    <button type="button" class="marker-jump" onclick={move |_| on_seek_to.emit(time)}
                                        aria-current={current.then_some("time")}>
                                        <span class="marker-time">{ clock(time) }</span>
                                        <code class="command">{ &marker.label }</code>
                                    </button>
                                </li>
                            }
                        }) }
                    </ol>
                }
                <RecordingSearch base={props.base.clone()} on_jump={on_seek_to}
                    id={format!("{}recording-search", props.id_prefix)}
                    label={format!("Search: {}", props.label)} />
            </div>
        </div>
    }
}

/// A marker on the seek bar: a button of its own beside the slider (not in
/// it: a slider holds no controls). One of them is a Tab stop; the arrows
/// move among them, Home and End to the first and last.
fn seek_marker(
    marker: &RecordingMarker,
    left: f64,
    tab_stop: bool,
    index: usize,
    roving: &UseStateHandle<usize>,
    on_seek_to: &Callback<f64>,
) -> Html {
    let (on_seek_to, time) = (on_seek_to.clone(), marker.time);
    let onclick = move |_: MouseEvent| on_seek_to.emit(time);
    let onfocus = {
        let roving = roving.clone();
        move |_: FocusEvent| roving.set(index)
    };
    let onkeydown = |event: KeyboardEvent| {
        let Some(current) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else {
            return;
        };
        let Some(group) = current.parent_element() else { return };
        let all = group.children();
        let last = all.length().saturating_sub(1);
        let at = (0..all.length()).find(|&i| all.item(i).as_ref() == Some(&current)).unwrap_or(0);
        let next = match event.key().as_str() {
            "ArrowLeft" | "ArrowUp" => at.saturating_sub(1),
            "ArrowRight" | "ArrowDown" => (at + 1).min(last),
            "Home" => 0,
            "End" => last,
            _ => return,
        };
        // The player's own arrows seek; here they move between markers.
        event.prevent_default();
        event.stop_propagation();
        if let Some(next) = all.item(next).and_then(|e| e.dyn_into::<HtmlElement>().ok()) {
            let _ = next.focus();
        }
    };
    html! {
        <button type="button" class="seek-marker" style={format!("left: {left:.3}%")}
            title={format!("{} {}", clock(marker.time), marker.label)}
            aria-label={format!("Jump to {} at {}", marker.label, clock(marker.time))}
            tabindex={if tab_stop { "0" } else { "-1" }} {onclick} {onfocus} {onkeydown}></button>
    }
}

#[derive(Properties, PartialEq)]
struct SearchProps {
    base: String,
    on_jump: Callback<f64>,
    /// The search field's id.
    id: String,
    /// The search landmark's accessible name.
    label: String,
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
            <form class="search-form" onsubmit={on_submit} role="search" aria-label={props.label.clone()}>
                <label for={props.id.clone()} class="sr-only">{ "Search the recording" }</label>
                <input id={props.id.clone()} class="input" type="search" placeholder="Search the output…"
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
