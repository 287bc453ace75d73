//! The history's export dialog: a format, a time range and the history's
//! current filters; the file streams in with the bytes received shown (the
//! server does not know the total in advance) and is saved under the
//! server's file name.

use web_sys::HtmlDialogElement;
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::api::{self, ApiError};
use crate::components::DateTimeField;
use crate::filters::{Filters, empty_range};
use crate::pages::recording::save;

#[derive(Properties, PartialEq)]
pub struct ExportProps {
    pub slug: String,
    /// The history's filters, applied to the export too.
    pub filters: Filters,
}

#[derive(Debug, Clone, PartialEq)]
enum Progress {
    Idle,
    Receiving(u64),
    Saved { file_name: String, bytes: u64 },
    Failed(ApiError),
}

const FORMATS: [(&str, &str, &str); 3] = [
    ("csv", "CSV", "text/csv"),
    ("json", "JSON", "application/json"),
    ("ndjson", "NDJSON", "application/x-ndjson"),
];

/// "Export…" and its dialog.
#[component]
pub fn ExportDialog(props: &ExportProps) -> Html {
    let dialog = use_node_ref();
    let format = use_state(|| "csv".to_owned());
    // RFC 3339 UTC, or empty for an open end; from the history's "opened" range.
    let from = use_state(|| props.filters.opened_from.clone());
    let to = use_state(|| props.filters.opened_to.clone());
    let progress = use_state(|| Progress::Idle);

    let open = {
        let (dialog, from, to, progress) =
            (dialog.clone(), from.clone(), to.clone(), progress.clone());
        let filters = props.filters.clone();
        Callback::from(move |_: MouseEvent| {
            if !matches!(*progress, Progress::Receiving(_)) {
                progress.set(Progress::Idle);
                from.set(filters.opened_from.clone());
                to.set(filters.opened_to.clone());
            }
            if let Some(dialog) = dialog.cast::<HtmlDialogElement>() {
                let _ = dialog.show_modal();
            }
        })
    };
    let close = {
        let dialog = dialog.clone();
        Callback::from(move |_: MouseEvent| {
            if let Some(dialog) = dialog.cast::<HtmlDialogElement>() {
                dialog.close();
            }
        })
    };
    // A time typed in part is not exported: the dialog waits for a whole one.
    let time_errors = use_state(|| (None::<&'static str>, None::<&'static str>));
    let set_time = |state: &UseStateHandle<String>, end: bool| {
        let (state, time_errors) = (state.clone(), time_errors.clone());
        Callback::from(move |typed: Result<String, &'static str>| {
            let mut errors = *time_errors;
            let slot = if end { &mut errors.1 } else { &mut errors.0 };
            *slot = typed.as_ref().err().copied();
            if let Ok(value) = typed {
                state.set(value);
            }
            time_errors.set(errors);
        })
    };
    let range_reversed = empty_range(&from, &to);
    let on_submit = {
        let (format, from, to, progress, time_errors) =
            (format.clone(), from.clone(), to.clone(), progress.clone(), time_errors.clone());
        let (slug, filters) = (props.slug.clone(), props.filters.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let (from_error, to_error) = *time_errors;
            if matches!(*progress, Progress::Receiving(_))
                || from_error.is_some()
                || to_error.is_some()
                || empty_range(&from, &to)
            {
                return;
            }
            let path = filters.export_path(&slug, &format, &from, &to);
            let (_, _, accept) =
                FORMATS.iter().find(|(value, ..)| *value == format.as_str()).unwrap_or(&FORMATS[0]);
            let fallback = format!("termaudit-{slug}.{}", *format);
            progress.set(Progress::Receiving(0));
            let progress = progress.clone();
            spawn_local(async move {
                let setter = progress.setter();
                let result =
                    api::download_with_progress(&path, accept, &fallback, move |received| {
                        setter.set(Progress::Receiving(received));
                    })
                    .await
                    .and_then(|file| {
                        let bytes = file.blob.size() as u64;
                        save(&file.blob, &file.file_name)
                            .map(|()| Progress::Saved { file_name: file.file_name, bytes })
                    });
                progress.set(result.unwrap_or_else(Progress::Failed));
            });
        })
    };

    let receiving = matches!(*progress, Progress::Receiving(_));
    let skipped = props.filters.not_exported();
    let shared: Vec<String> = [
        ("status", &props.filters.status),
        ("environment class", &props.filters.environment_class),
        ("environment", &props.filters.environment),
        ("target", &props.filters.target_id),
        ("user", &props.filters.user),
        ("mode", &props.filters.mode),
    ]
    .into_iter()
    .filter(|(_, value)| !value.trim().is_empty())
    .map(|(name, value)| format!("{name} = {}", value.trim()))
    .collect();

    html! {
        <>
            <button type="button" class="button" onclick={open} data-testid="export">{ "Export…" }</button>
            <dialog ref={dialog} class="dialog" aria-labelledby="export-dialog-h">
                <form onsubmit={on_submit}>
                    <h2 id="export-dialog-h">{ "Export the history" }</h2>
                    <p class="muted">
                        { "Sessions, their terminal events and database statements, ordered by time. \
                           The export is itself recorded in the audit log." }
                    </p>
                    <fieldset class="field">
                        <legend class="label">{ "Format" }</legend>
                        { for FORMATS.iter().map(|(value, label, _)| {
                            let format = format.clone();
                            let value = (*value).to_owned();
                            let checked = *format == value;
                            let onchange = { let value = value.clone(); Callback::from(move |_: Event| format.set(value.clone())) };
                            html! {
                                <label class="radio">
                                    <input type="radio" name="export-format" value={value.clone()} {checked} {onchange} />
                                    { format!(" {label}") }
                                </label>
                            }
                        }) }
                    </fieldset>
                    <div class="filters-grid">
                        <DateTimeField id="export-from" label="From" value={(*from).clone()}
                            error={time_errors.0.map(AttrValue::from)} onchange={set_time(&from, false)} />
                        <DateTimeField id="export-to" label="Until" value={(*to).clone()} end=true
                            error={time_errors.1.map(AttrValue::from).or_else(|| range_reversed.then_some(AttrValue::from("Ends before “From”.")))}
                            onchange={set_time(&to, true)} />
                    </div>
                    <p class="small" data-testid="export-filters">
                        if shared.is_empty() {
                            { "No history filter applies: every session of the range." }
                        } else {
                            { format!("With the history's filters: {}.", shared.join(", ")) }
                        }
                        if !skipped.is_empty() {
                            { format!(" The {} filter does not apply to exports.", skipped.join(" and ")) }
                        }
                    </p>
                    <p class="small" role="status" data-testid="export-status">
                        { match &*progress {
                            Progress::Idle => html! {},
                            Progress::Receiving(bytes) => html! {
                                <><span class="spinner" aria-hidden="true"></span>{ format!(" Receiving… {}", size(*bytes)) }</>
                            },
                            Progress::Saved { file_name, bytes } => html! { format!("Saved {file_name} ({})", size(*bytes)) },
                            Progress::Failed(_) => html! {},
                        } }
                    </p>
                    if let Progress::Failed(error) = &*progress {
                        <crate::components::ErrorNotice error={error.clone()} />
                    }
                    <div class="form-actions">
                        <button type="button" class="button button-quiet" onclick={close}>{ "Close" }</button>
                        <button type="submit" class="button button-primary" disabled={receiving} data-testid="export-download">
                            { if receiving { "Downloading…" } else { "Download" } }
                        </button>
                    </div>
                </form>
            </dialog>
        </>
    }
}

/// Bytes for people: `812 B`, `14.2 KiB`, `3.1 MiB`.
fn size(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}
