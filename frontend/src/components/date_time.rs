use chrono::Local;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::time;

#[derive(Properties, PartialEq)]
pub struct DateTimeFieldProps {
    /// The date input's id; the time input's is this with `-time`.
    pub id: AttrValue,
    pub label: AttrValue,
    /// RFC 3339 UTC, or empty for none.
    pub value: AttrValue,
    /// The end of a range: a date alone takes in that whole day.
    #[prop_or_default]
    pub end: bool,
    /// What is wrong with the value in its context (a reversed range, say).
    #[prop_or_default]
    pub error: Option<AttrValue>,
    /// The new value (RFC 3339 UTC, or empty), or what is wrong with what was typed.
    pub onchange: Callback<Result<String, &'static str>>,
}

/// A moment as a date and an optional time, in the viewer's time zone: a
/// date alone is a day's start, or for the end of a range its end, so
/// picking a day is enough (a `datetime-local` input ignores a date without
/// a time, silently).
#[component]
pub fn DateTimeField(props: &DateTimeFieldProps) -> Html {
    let shown = |value: &str| time::to_date_time(value, &Local, props.end);
    let date = use_node_ref();
    let clock = use_node_ref();
    let typed_error = use_state(|| None::<&'static str>);
    {
        // A value from outside (the address, a quick range) replaces what was typed.
        let (date, clock, typed_error, end) =
            (date.clone(), clock.clone(), typed_error.clone(), props.end);
        use_effect_with(props.value.clone(), move |value| {
            let (day, at) = time::to_date_time(value, &Local, end);
            let current = |node: &NodeRef| {
                node.cast::<HtmlInputElement>().map(|input| input.value()).unwrap_or_default()
            };
            // Typing "00:00" reads back as the date alone: leave what was typed.
            let same = time::from_date_time(&current(&date), &current(&clock), &Local, end)
                .is_ok_and(|typed| typed == value.as_str());
            if !same {
                if let Some(input) = date.cast::<HtmlInputElement>() {
                    input.set_value(&day);
                }
                if let Some(input) = clock.cast::<HtmlInputElement>() {
                    input.set_value(&at);
                }
                typed_error.set(None);
            }
        });
    }
    let on_change = {
        let (date, clock, typed_error, onchange, end) =
            (date.clone(), clock.clone(), typed_error.clone(), props.onchange.clone(), props.end);
        Callback::from(move |_: Event| {
            let (Some(day), Some(at)) =
                (date.cast::<HtmlInputElement>(), clock.cast::<HtmlInputElement>())
            else {
                return;
            };
            // A date or time typed in part reads as empty; the browser knows.
            let result = if day.validity().bad_input() {
                Err("Complete the date, or clear it.")
            } else if at.validity().bad_input() {
                Err("Complete the time, or clear it.")
            } else {
                time::from_date_time(&day.value(), &at.value(), &Local, end)
            };
            typed_error.set(result.as_ref().err().copied());
            onchange.emit(result);
        })
    };
    let error = typed_error.map(AttrValue::from).or_else(|| props.error.clone());
    let error_id = format!("{}-error", props.id);
    let (day, at) = shown(&props.value);
    let invalid = error.is_some().to_string();
    let described = error.is_some().then(|| error_id.clone());
    html! {
        <div class={classes!("field", "field-date", error.is_some().then_some("has-error"))}>
            <label for={props.id.clone()} class="label">{ props.label.clone() }</label>
            <div class="date-time">
                <input ref={date} id={props.id.clone()} class="input" type="date" value={day}
                    onchange={on_change.clone()} aria-invalid={invalid.clone()}
                    aria-describedby={described.clone()} />
                <input ref={clock} id={format!("{}-time", props.id)} class="input input-time" type="time"
                    value={at} onchange={on_change}
                    aria-label={format!("{}, time (optional)", props.label)}
                    aria-invalid={invalid} aria-describedby={described} />
            </div>
            if let Some(error) = error {
                <p class="field-error" id={error_id} role="alert">{ error }</p>
            }
        </div>
    }
}
