//! A project's terminal policy: how long recordings are kept, what is
//! recorded, when a reason is required, how long a dropped session waits.
//! Any member reads it; `terminal.manage_policy` edits it; the retention
//! sweep's status is shown to those who may read the history or manage the
//! policy. The server validates; its 400 names each bad field, shown next
//! to that field.

use std::rc::Rc;

use termaudit_api_types::{Policy, PolicyView, RetentionPreview, RetentionStatus};
use web_sys::{HtmlDialogElement, HtmlInputElement};
use yew::platform::spawn_local;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::api::{self, ApiError, encode};
use crate::components::{ErrorNotice, Loading, Time};
use crate::hooks::{Fetch, use_get};
use crate::routes::Route;
use crate::session::{permission, use_session};

#[derive(Properties, PartialEq)]
pub struct PolicyPageProps {
    pub slug: String,
}

#[component]
pub fn PolicyPage(props: &PolicyPageProps) -> Html {
    let session = use_session();
    let path = format!("/projects/{}/policy", encode(&props.slug));
    let fetched = use_get::<PolicyView>(path.clone());
    let saved = use_state(|| None::<Rc<PolicyView>>);
    let may_manage = session.can(&props.slug, permission::MANAGE_POLICY);
    // The retention status names sessions and targets: history readers and policy managers.
    let may_see_retention = may_manage || session.can(&props.slug, permission::VIEW_HISTORY);
    let project_name = session
        .me()
        .and_then(|me| me.projects.iter().find(|project| project.slug == props.slug))
        .map_or_else(|| props.slug.clone(), |project| project.name.clone());

    let body = match (&*saved, &fetched.state) {
        (Some(view), _) | (None, Fetch::Loaded(view)) => {
            let on_saved = {
                let saved = saved.clone();
                Callback::from(move |view: PolicyView| saved.set(Some(Rc::new(view))))
            };
            html! {
                <PolicyForm view={Rc::clone(view)} editable={may_manage} {path} {on_saved}
                    preview_path={format!("/projects/{}/retention/preview", encode(&props.slug))}
                    just_saved={saved.is_some()} />
            }
        }
        (None, Fetch::Loading) => html! { <Loading label="Loading the policy…" /> },
        (None, Fetch::Failed(error)) => {
            html! { <ErrorNotice error={error.clone()} on_retry={fetched.reload.clone()} /> }
        }
    };

    html! {
        <>
            <nav class="breadcrumbs" aria-label="Breadcrumbs">
                <Link<Route> to={Route::Projects}>{ "Projects" }</Link<Route>>
                <span aria-hidden="true">{ " / " }</span>
                <Link<Route> to={Route::Sessions { slug: props.slug.clone() }}>{ project_name }</Link<Route>>
                <span aria-hidden="true">{ " / " }</span>
                <span>{ "Policy" }</span>
            </nav>
            <div class="page-head">
                <h1>{ "Terminal policy" }</h1>
            </div>
            if !may_manage {
                <div class="notice notice-info" role="status" data-testid="policy-read-only">
                    <p class="notice-title">{ "Read only" }</p>
                    <p class="notice-detail">
                        { "Changing the policy needs the permission " }<code>{ permission::MANAGE_POLICY }</code>{ "." }
                    </p>
                </div>
            }
            { body }
            if may_see_retention {
                <RetentionCard slug={props.slug.clone()} />
            }
        </>
    }
}

#[derive(Properties, PartialEq)]
struct RetentionCardProps {
    slug: String,
}

/// The retention sweep: when it last ran and what it purged here, when it
/// runs next, and the recordings that expire within 7 days.
#[component]
fn RetentionCard(props: &RetentionCardProps) -> Html {
    let status = use_get::<RetentionStatus>(format!("/projects/{}/retention", encode(&props.slug)));
    let body = match &status.state {
        Fetch::Loading => html! { <Loading label="Loading the retention status…" /> },
        Fetch::Failed(error) => {
            html! { <ErrorNotice error={error.clone()} on_retry={status.reload.clone()} /> }
        }
        Fetch::Loaded(status) => html! {
            <>
                <dl class="meta">
                    <dt>{ "Last sweep" }</dt>
                    <dd data-testid="retention-last-run">
                        { match &status.last_run {
                            None => html! { <span class="muted">{ "Not run yet" }</span> },
                            Some(run) => html! {
                                <>
                                    <Time at={run.started_at} />
                                    { format!(
                                        " — {}: purged {} here, {} freed{}",
                                        run.status,
                                        plural(i64::from(run.purged), "recording", "recordings"),
                                        bytes(run.bytes_freed),
                                        if run.errors > 0 { format!(", {} errors", run.errors) } else { String::new() },
                                    ) }
                                </>
                            },
                        } }
                    </dd>
                    <dt>{ "Next sweep" }</dt>
                    <dd data-testid="retention-next-run">
                        <Time at={status.next_run_at} />
                        { format!(" (every {})", crate::time::span(i64::try_from(status.interval_seconds).unwrap_or(i64::MAX))) }
                    </dd>
                    <dt>{ "Expiring within 7 days" }</dt>
                    <dd data-testid="retention-expiring-count">
                        { plural(i64::try_from(status.expiring_count).unwrap_or(i64::MAX), "recording", "recordings") }
                    </dd>
                </dl>
                if !status.expiring.is_empty() {
                    <div class="table-wrap">
                        <table class="table" data-testid="retention-expiring">
                            <thead><tr>
                                <th scope="col">{ "Session" }</th>
                                <th scope="col">{ "Target" }</th>
                                <th scope="col">{ "Ended" }</th>
                                <th scope="col">{ "Expires" }</th>
                                <th scope="col">{ "Size" }</th>
                            </tr></thead>
                            <tbody>
                                { for status.expiring.iter().map(|item| html! {
                                    <tr key={item.session_id.to_string()}>
                                        <td>
                                            <Link<Route> to={Route::SessionDetail { slug: props.slug.clone(), id: item.session_id.to_string() }}>
                                                { item.session_id.to_string().split('-').next().unwrap_or_default().to_owned() }
                                            </Link<Route>>
                                        </td>
                                        <td>{ &item.target_name }<span class="muted small">{ format!(" {}", item.environment_class.replace('_', "-")) }</span></td>
                                        <td><Time at={item.ended_at} /></td>
                                        <td><Time at={item.expires_at} /></td>
                                        <td>{ bytes(item.size_bytes) }</td>
                                    </tr>
                                }) }
                            </tbody>
                        </table>
                    </div>
                }
            </>
        },
    };
    html! {
        <section class="card" aria-labelledby="retention-h" data-testid="retention">
            <h2 id="retention-h">{ "Retention" }</h2>
            { body }
        </section>
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Bytes for people: `812 B`, `14.2 KiB`, `3.1 MiB`.
fn bytes(n: i64) -> String {
    match n {
        ..1024 => format!("{n} B"),
        1024..1_048_576 => format!("{:.1} KiB", n as f64 / 1024.0),
        _ => format!("{:.1} MiB", n as f64 / 1_048_576.0),
    }
}

/// The fields as typed: numbers stay text until they are sent.
#[derive(Debug, Clone, PartialEq)]
struct Draft {
    retention_days_production: String,
    retention_days_non_production: String,
    record_non_production: bool,
    require_reason_non_production: bool,
    reconnect_grace_seconds: String,
    watch_non_production: bool,
}

impl Draft {
    fn of(policy: &Policy) -> Draft {
        Draft {
            retention_days_production: policy.retention_days_production.to_string(),
            retention_days_non_production: policy.retention_days_non_production.to_string(),
            record_non_production: policy.record_non_production,
            require_reason_non_production: policy.require_reason_non_production,
            reconnect_grace_seconds: policy.reconnect_grace_seconds.to_string(),
            watch_non_production: policy.watch_non_production,
        }
    }

    /// The policy to send, or the fields that are not whole numbers (the
    /// server checks the bounds and says so per field).
    fn parse(&self) -> Result<Policy, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let mut number = |field: &str, text: &str| {
            text.trim().parse::<u32>().unwrap_or_else(|_| {
                errors.push((field.to_owned(), "must be a whole number".to_owned()));
                0
            })
        };
        let policy = Policy {
            retention_days_production: number(
                "retention_days_production",
                &self.retention_days_production,
            ),
            retention_days_non_production: number(
                "retention_days_non_production",
                &self.retention_days_non_production,
            ),
            record_non_production: self.record_non_production,
            require_reason_non_production: self.require_reason_non_production,
            reconnect_grace_seconds: number(
                "reconnect_grace_seconds",
                &self.reconnect_grace_seconds,
            ),
            watch_non_production: self.watch_non_production,
        };
        if errors.is_empty() { Ok(policy) } else { Err(errors) }
    }
}

#[derive(Properties, PartialEq)]
struct PolicyFormProps {
    view: Rc<PolicyView>,
    editable: bool,
    path: String,
    /// `GET …/retention/preview`: what a shorter retention would purge.
    preview_path: String,
    on_saved: Callback<PolicyView>,
    just_saved: bool,
}

#[component]
fn PolicyForm(props: &PolicyFormProps) -> Html {
    let draft = use_state(|| Draft::of(&props.view.policy));
    let errors = use_state(Vec::<(String, String)>::new);
    let failure = use_state(|| None::<ApiError>);
    let busy = use_state(|| false);
    let editable = props.editable;
    let dirty = *draft != Draft::of(&props.view.policy);

    let set = |change: fn(&mut Draft, &HtmlInputElement), field: &'static str| {
        edit(draft.clone(), errors.clone(), change, field)
    };
    // Saves `policy`; the server's 400 names each bad field.
    let save = {
        let (errors, failure, busy) = (errors.clone(), failure.clone(), busy.clone());
        let (path, on_saved) = (props.path.clone(), props.on_saved.clone());
        Callback::from(move |policy: Policy| {
            busy.set(true);
            let (errors, failure, busy, path, on_saved) =
                (errors.clone(), failure.clone(), busy.clone(), path.clone(), on_saved.clone());
            spawn_local(async move {
                let body = serde_json::to_value(&policy).unwrap_or_default();
                let result = api::put::<PolicyView>(&path, &body).await;
                busy.set(false);
                match result {
                    Ok(view) => on_saved.emit(view),
                    Err(error) => {
                        let fields = error.field_errors();
                        if fields.is_empty() {
                            failure.set(Some(error));
                        } else {
                            errors.set(fields);
                        }
                    }
                }
            });
        })
    };
    // A shorter retention is saved only once the manager has seen what the
    // next sweep would purge with it.
    let confirm = use_state(|| None::<(Policy, Fetch<RetentionPreview>)>);
    let dialog = use_node_ref();
    let on_submit = {
        let (draft, errors, failure, busy, confirm, dialog, save) = (
            draft.clone(),
            errors.clone(),
            failure.clone(),
            busy.clone(),
            confirm.clone(),
            dialog.clone(),
            save.clone(),
        );
        let (current, preview_path) = (props.view.policy.clone(), props.preview_path.clone());
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            if *busy {
                return;
            }
            failure.set(None);
            let policy = match draft.parse() {
                Ok(policy) => policy,
                Err(local) => {
                    errors.set(local);
                    return;
                }
            };
            errors.set(Vec::new());
            if !shortens(&policy, &current) {
                save.emit(policy);
                return;
            }
            confirm.set(Some((policy.clone(), Fetch::Loading)));
            if let Some(dialog) = dialog.cast::<HtmlDialogElement>() {
                let _ = dialog.show_modal();
            }
            let path = format!(
                "{preview_path}?retention_days_production={}&retention_days_non_production={}",
                policy.retention_days_production, policy.retention_days_non_production
            );
            let confirm = confirm.clone();
            spawn_local(async move {
                let answer = match api::get::<RetentionPreview>(&path).await {
                    Ok(preview) => Fetch::Loaded(Rc::new(preview)),
                    Err(error) => Fetch::Failed(error),
                };
                confirm.set(Some((policy, answer)));
            });
        })
    };
    let close_dialog = {
        let dialog = dialog.clone();
        move || {
            if let Some(dialog) = dialog.cast::<HtmlDialogElement>() {
                dialog.close();
            }
        }
    };
    let on_keep_editing = {
        let close_dialog = close_dialog.clone();
        Callback::from(move |_: MouseEvent| close_dialog())
    };
    let on_confirm = {
        let (confirm, save) = (confirm.clone(), save.clone());
        Callback::from(move |_: MouseEvent| {
            close_dialog();
            if let Some((policy, _)) = &*confirm {
                save.emit(policy.clone());
            }
        })
    };

    let error_of = |field: &str| {
        errors.iter().find(|(name, _)| name == field).map(|(_, message)| message.clone())
    };
    let number_field = |field: &'static str,
                        label: &str,
                        unit: &str,
                        help: &str,
                        value: &str,
                        (min, max): (u32, u32),
                        oninput: Callback<InputEvent>| {
        let error = error_of(field);
        let id = format!("policy-{field}");
        let error_id = format!("{id}-error");
        html! {
            <div class={classes!("policy-field", error.is_some().then_some("has-error"))}>
                <label for={id.clone()} class="label">{ label.to_owned() }</label>
                <div class="input-with-unit">
                    <input id={id} name={field} class="input" type="number" inputmode="numeric"
                        min={min.to_string()} max={max.to_string()} step="1"
                        value={value.to_owned()} {oninput} disabled={!editable}
                        aria-invalid={error.is_some().to_string()}
                        aria-describedby={error_id.clone()} />
                    <span class="unit">{ unit.to_owned() }</span>
                </div>
                <p class="help small muted">{ help.to_owned() }</p>
                if let Some(message) = error {
                    <p class="field-error" id={error_id} data-field={field} role="alert">{ message }</p>
                }
            </div>
        }
    };
    let check_field = |field: &'static str,
                       label: &str,
                       help: &str,
                       checked: bool,
                       onchange: Callback<Event>| {
        let id = format!("policy-{field}");
        html! {
            <div class="policy-field policy-check">
                <label for={id.clone()} class="check">
                    <input id={id} name={field} type="checkbox" {checked} {onchange} disabled={!editable} />
                    { " " }{ label.to_owned() }
                </label>
                <p class="help small muted">{ help.to_owned() }</p>
            </div>
        }
    };

    let view = &props.view;
    html! {
        <form class="card policy-form" onsubmit={on_submit} novalidate=true data-testid="policy-form">
            <fieldset disabled={!editable || *busy}>
                <legend class="policy-legend">{ "Retention of recordings" }</legend>
                <div class="policy-grid">
                    { number_field("retention_days_production", "Production", "days",
                        "After the session ends; 1 to 3650.", &draft.retention_days_production, (1, 3650),
                        set(|d, input| d.retention_days_production = input.value(), "retention_days_production")) }
                    { number_field("retention_days_non_production", "Non-production", "days",
                        "After the session ends; 1 to 3650.", &draft.retention_days_non_production, (1, 3650),
                        set(|d, input| d.retention_days_non_production = input.value(), "retention_days_non_production")) }
                </div>
                <p class="small muted">
                    { "A change applies to stored recordings at the next sweep: a shorter retention purges what is now past it; a longer one cannot bring purged recordings back. Legal holds keep a recording whatever the retention." }
                </p>
            </fieldset>
            <fieldset disabled={!editable || *busy}>
                <legend class="policy-legend">{ "Non-production sessions" }</legend>
                { check_field("record_non_production", "Record non-production sessions",
                    "Production sessions are always recorded.", draft.record_non_production,
                    edit(draft.clone(), errors.clone(), |d, input| d.record_non_production = input.checked(), "record_non_production")) }
                { check_field("require_reason_non_production", "Require a reason for non-production sessions",
                    "Production sessions always need one.", draft.require_reason_non_production,
                    edit(draft.clone(), errors.clone(), |d, input| d.require_reason_non_production = input.checked(), "require_reason_non_production")) }
                { check_field("watch_non_production", "Let non-production sessions be watched live",
                    "Production sessions can always be watched; every watch is audited.", draft.watch_non_production,
                    edit(draft.clone(), errors.clone(), |d, input| d.watch_non_production = input.checked(), "watch_non_production")) }
            </fieldset>
            <fieldset disabled={!editable || *busy}>
                <legend class="policy-legend">{ "Dropped connections" }</legend>
                <div class="policy-grid">
                    { number_field("reconnect_grace_seconds", "Reconnect grace", "seconds",
                        "How long a dropped session waits for its user; 0 to 86400.", &draft.reconnect_grace_seconds, (0, 86_400),
                        set(|d, input| d.reconnect_grace_seconds = input.value(), "reconnect_grace_seconds")) }
                </div>
            </fieldset>
            if let Some(error) = &*failure {
                <ErrorNotice error={error.clone()} />
            }
            <div class="policy-foot">
                <p class="small muted" data-testid="policy-updated">
                    { match (&view.updated_at, &view.updated_by) {
                        (Some(at), by) => html! {
                            <>{ "Last changed " }<Time at={*at} />{ by.as_ref().map(|by| format!(" by {by}")).unwrap_or_default() }</>
                        },
                        (None, _) => html! { "The defaults: never changed." },
                    } }
                </p>
                if props.just_saved && !dirty {
                    <span class="saved" role="status" data-testid="policy-saved">{ "Saved" }</span>
                }
                if editable {
                    <button type="submit" class="button button-primary" disabled={*busy || !dirty}>
                        { if *busy { "Saving…" } else { "Save policy" } }
                    </button>
                }
            </div>
            <dialog ref={dialog} class="dialog" aria-labelledby="retention-confirm-h" data-testid="retention-confirm">
                <h2 id="retention-confirm-h">{ "Shorten the retention?" }</h2>
                { match confirm.as_ref().map(|(_, preview)| preview) {
                    None | Some(Fetch::Loading) => html! { <Loading label="Asking what the next sweep would purge…" /> },
                    Some(Fetch::Failed(error)) => html! {
                        <>
                            <ErrorNotice error={error.clone()} />
                            <p class="small">{ "What the next sweep would purge is not known; the policy can still be saved." }</p>
                        </>
                    },
                    Some(Fetch::Loaded(preview)) => html! {
                        <div data-testid="retention-preview">
                            <p>{ "The next sweep (" }<Time at={preview.as_of} />{ ") would purge:" }</p>
                            <ul class="preview-list">
                                { for preview.classes.iter().map(|class| html! {
                                    <li data-class={class.environment_class.clone()}>
                                        <strong>{ plural(i64::try_from(class.recordings).unwrap_or(i64::MAX), &format!("{} recording", class_name(&class.environment_class)), &format!("{} recordings", class_name(&class.environment_class))) }</strong>
                                        { format!(" ({}), kept {} days", bytes(class.bytes_freed), class.retention_days) }
                                        if class.retention_days != class.current_retention_days {
                                            { format!(" instead of {}", class.current_retention_days) }
                                        }
                                        if class.recordings_with_current > 0 {
                                            <span class="muted">{ format!("; {} of them would go anyway", class.recordings_with_current) }</span>
                                        }
                                    </li>
                                }) }
                            </ul>
                            <p class="small muted">{ "Recordings under a legal hold are kept. Purged recordings cannot be brought back; the sessions' history stays." }</p>
                        </div>
                    },
                } }
                <div class="form-actions">
                    <button type="button" class="button button-quiet" onclick={on_keep_editing}>{ "Keep editing" }</button>
                    <button type="button" class="button button-danger" onclick={on_confirm}
                        disabled={!matches!(confirm.as_ref(), Some((_, Fetch::Loaded(_) | Fetch::Failed(_))))}
                        data-testid="retention-confirm-save">
                        { "Save the shorter retention" }
                    </button>
                </div>
            </dialog>
        </form>
    }
}

/// Whether `policy` keeps either class's recordings for less time than `current`.
fn shortens(policy: &Policy, current: &Policy) -> bool {
    let bounded = |days: u32| (1..=3650).contains(&days);
    bounded(policy.retention_days_production)
        && bounded(policy.retention_days_non_production)
        && (policy.retention_days_production < current.retention_days_production
            || policy.retention_days_non_production < current.retention_days_non_production)
}

/// `non_production` → `non-production`.
fn class_name(class: &str) -> String {
    class.replace('_', "-")
}

/// A field's handler: `change` copies the input into the draft, and the
/// field's error goes (it is about a value no longer there).
fn edit<E: TargetCast + 'static>(
    draft: UseStateHandle<Draft>,
    errors: UseStateHandle<Vec<(String, String)>>,
    change: fn(&mut Draft, &HtmlInputElement),
    field: &'static str,
) -> Callback<E> {
    Callback::from(move |event: E| {
        let input = event.target_unchecked_into::<HtmlInputElement>();
        let mut next = (*draft).clone();
        change(&mut next, &input);
        draft.set(next);
        errors.set(errors.iter().filter(|(name, _)| name != field).cloned().collect());
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_shorter_retention_within_bounds_asks_first() {
        let current = Policy {
            retention_days_production: 365,
            retention_days_non_production: 90,
            record_non_production: false,
            require_reason_non_production: false,
            reconnect_grace_seconds: 300,
            watch_non_production: true,
        };
        let with = |prod, non_prod| Policy {
            retention_days_production: prod,
            retention_days_non_production: non_prod,
            ..current.clone()
        };
        assert!(shortens(&with(30, 90), &current));
        assert!(shortens(&with(400, 7), &current));
        assert!(!shortens(&with(365, 90), &current));
        assert!(!shortens(&with(400, 120), &current));
        assert!(!shortens(&with(0, 90), &current), "out of bounds: the server says so");
    }

    #[test]
    fn a_draft_sends_numbers_or_names_what_is_not_one() {
        let policy = Policy {
            retention_days_production: 365,
            retention_days_non_production: 90,
            record_non_production: false,
            require_reason_non_production: true,
            reconnect_grace_seconds: 300,
            watch_non_production: true,
        };
        let mut draft = Draft::of(&policy);
        assert_eq!(draft.parse(), Ok(policy));
        draft.retention_days_production = " 400 ".to_owned();
        assert_eq!(draft.parse().map(|p| p.retention_days_production), Ok(400));
        draft.retention_days_non_production = "-1".to_owned();
        draft.reconnect_grace_seconds = "soon".to_owned();
        assert_eq!(
            draft.parse(),
            Err(vec![
                ("retention_days_non_production".to_owned(), "must be a whole number".to_owned()),
                ("reconnect_grace_seconds".to_owned(), "must be a whole number".to_owned()),
            ])
        );
    }
}
