//! A `requestAnimationFrame` loop that runs while it is asked to.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::JsCast as _;
use wasm_bindgen::closure::Closure;

struct State {
    callback: Option<Closure<dyn FnMut(f64)>>,
    /// The pending frame request, if any.
    handle: Option<i32>,
}

/// Calls `tick(timestamp_ms)` on every animation frame after [`Frames::start`]
/// until `tick` returns `false` or [`Frames::stop`]; dropping it stops too.
pub struct Frames {
    state: Rc<RefCell<State>>,
}

impl Frames {
    pub fn new(mut tick: impl FnMut(f64) -> bool + 'static) -> Frames {
        let state = Rc::new(RefCell::new(State { callback: None, handle: None }));
        let weak = Rc::downgrade(&state);
        let callback = Closure::<dyn FnMut(f64)>::new(move |timestamp: f64| {
            let Some(state) = weak.upgrade() else { return };
            state.borrow_mut().handle = None;
            if tick(timestamp) {
                request(&state);
            }
        });
        state.borrow_mut().callback = Some(callback);
        Frames { state }
    }

    /// Runs the loop (again); a no-op while it runs.
    pub fn start(&self) {
        request(&self.state);
    }

    pub fn stop(&self) {
        let handle = self.state.borrow_mut().handle.take();
        if let Some(handle) = handle {
            let _ = gloo::utils::window().cancel_animation_frame(handle);
        }
    }
}

/// Asks for the next frame, unless a request is pending already (`tick` may
/// have started the loop again itself; two requests a frame would double
/// every frame).
fn request(state: &Rc<RefCell<State>>) {
    let mut state = state.borrow_mut();
    if state.handle.is_some() {
        return;
    }
    let handle = state.callback.as_ref().and_then(|callback| {
        gloo::utils::window().request_animation_frame(callback.as_ref().unchecked_ref()).ok()
    });
    state.handle = handle;
}

impl Drop for Frames {
    fn drop(&mut self) {
        self.stop();
    }
}
