//! Hooks shared by pages.

use std::cell::Cell;
use std::rc::Rc;

use serde::de::DeserializeOwned;
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, ApiError};

/// The state of a request a page depends on.
#[derive(Debug, PartialEq)]
pub enum Fetch<T> {
    Loading,
    Loaded(Rc<T>),
    Failed(ApiError),
}

// Not derived: that would require `T: Clone`, and the value is behind an `Rc`.
impl<T> Clone for Fetch<T> {
    fn clone(&self) -> Self {
        match self {
            Fetch::Loading => Fetch::Loading,
            Fetch::Loaded(value) => Fetch::Loaded(Rc::clone(value)),
            Fetch::Failed(error) => Fetch::Failed(error.clone()),
        }
    }
}

/// What [`use_get`] gives a page: the current state and two ways to ask
/// again: `reload` shows the loading state meanwhile (a retry), `refresh`
/// keeps showing what it has until the new answer arrives, and keeps it if
/// that fails (a poll).
pub struct UseGet<T> {
    pub state: Fetch<T>,
    pub reload: Callback<()>,
    pub refresh: Callback<()>,
}

/// `GET path` (below `/api/v1`) with the stored token, again whenever `path`
/// changes or `reload` is called. An answer that arrives after the page moved
/// on (to another path, or away) is dropped.
#[hook]
pub fn use_get<T>(path: String) -> UseGet<T>
where
    T: DeserializeOwned + 'static,
{
    let state = use_state(|| Fetch::<T>::Loading);
    let attempt = use_state(|| 0_u32);
    {
        let state = state.clone();
        use_effect_with((path.clone(), *attempt), move |(path, _)| {
            state.set(Fetch::Loading);
            let current = Rc::new(Cell::new(true));
            let still_current = Rc::clone(&current);
            let path = path.clone();
            spawn_local(async move {
                let result = api::get::<T>(&path).await;
                if still_current.get() {
                    state.set(match result {
                        Ok(value) => Fetch::Loaded(Rc::new(value)),
                        Err(error) => Fetch::Failed(error),
                    });
                }
            });
            move || current.set(false)
        });
    }
    let refreshes = use_state(|| 0_u32);
    {
        let (state, path) = (state.clone(), path.clone());
        use_effect_with(*refreshes, move |refreshes| {
            let current = Rc::new(Cell::new(*refreshes > 0));
            let still_current = Rc::clone(&current);
            if current.get() {
                spawn_local(async move {
                    if let Ok(value) = api::get::<T>(&path).await
                        && still_current.get()
                    {
                        state.set(Fetch::Loaded(Rc::new(value)));
                    }
                });
            }
            move || current.set(false)
        });
    }
    let reload = {
        let attempt = attempt.clone();
        Callback::from(move |()| attempt.set(attempt.wrapping_add(1)))
    };
    let refresh = {
        let refreshes = refreshes.clone();
        Callback::from(move |()| refreshes.set(refreshes.wrapping_add(1)))
    };
    UseGet { state: (*state).clone(), reload, refresh }
}
