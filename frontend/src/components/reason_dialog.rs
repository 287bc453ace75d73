//! A button that opens a modal dialog asking why, for actions the audit log
//! records with a reason (revoke, legal holds).

use web_sys::{HtmlDialogElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::api::ApiError;
use crate::components::ErrorNotice;

#[derive(Properties, PartialEq)]
pub struct ReasonDialogProps {
    /// Prefix of the element ids (`{id}-reason`, `{id}-h`).
    pub id: AttrValue,
    pub open_label: AttrValue,
    pub open_class: AttrValue,
    #[prop_or_default]
    pub open_testid: Option<AttrValue>,
    pub title: AttrValue,
    pub text: AttrValue,
    pub placeholder: AttrValue,
    pub confirm: AttrValue,
    pub confirm_class: AttrValue,
    /// The confirm button's label while the request runs.
    pub working: AttrValue,
    #[prop_or_default]
    pub autofocus: bool,
    /// Sends the reason; the page answers through the callback with the
    /// error to show, or `None` when done (the dialog then closes).
    pub on_submit: Callback<(String, Callback<Option<ApiError>>)>,
}

#[component]
pub fn ReasonDialog(props: &ReasonDialogProps) -> Html {
    let dialog = use_node_ref();
    let reason = use_state(String::new);
    let busy = use_state(|| false);
    let error = use_state(|| None::<ApiError>);

    let open = {
        let (dialog, error, reason) = (dialog.clone(), error.clone(), reason.clone());
        Callback::from(move |_: MouseEvent| {
            error.set(None);
            reason.set(String::new());
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
    let on_input = {
        let reason = reason.clone();
        Callback::from(move |event: InputEvent| {
            reason.set(event.target_unchecked_into::<HtmlTextAreaElement>().value());
        })
    };
    let on_submit = {
        let (reason, busy, error, dialog) =
            (reason.clone(), busy.clone(), error.clone(), dialog.clone());
        let submit = props.on_submit.clone();
        Callback::from(move |event: SubmitEvent| {
            event.prevent_default();
            let text = reason.trim().to_owned();
            if text.is_empty() || *busy {
                return;
            }
            busy.set(true);
            error.set(None);
            let (busy, error, dialog) = (busy.clone(), error.clone(), dialog.clone());
            let done = Callback::from(move |failure: Option<ApiError>| {
                busy.set(false);
                match failure {
                    None => {
                        if let Some(dialog) = dialog.cast::<HtmlDialogElement>() {
                            dialog.close();
                        }
                    }
                    Some(failure) => error.set(Some(failure)),
                }
            });
            submit.emit((text, done));
        })
    };

    let (reason_id, heading_id) = (format!("{}-reason", props.id), format!("{}-h", props.id));
    html! {
        <>
            <button type="button" class={props.open_class.clone()}
                data-testid={props.open_testid.clone()} onclick={open}>{ props.open_label.clone() }</button>
            <dialog ref={dialog} class="dialog" aria-labelledby={heading_id.clone()}>
                <form onsubmit={on_submit}>
                    <h2 id={heading_id}>{ props.title.clone() }</h2>
                    <p class="muted">{ props.text.clone() }</p>
                    <label for={reason_id.clone()} class="label">{ "Reason" }</label>
                    <textarea id={reason_id} class="input" rows="3" required=true autofocus={props.autofocus}
                        placeholder={props.placeholder.clone()}
                        value={(*reason).clone()} oninput={on_input} disabled={*busy} />
                    if let Some(failure) = &*error {
                        <ErrorNotice error={failure.clone()} />
                    }
                    <div class="form-actions">
                        <button type="button" class="button" onclick={close}>{ "Cancel" }</button>
                        <button type="submit" class={props.confirm_class.clone()}
                            disabled={*busy || reason.trim().is_empty()}>
                            { if *busy { props.working.clone() } else { props.confirm.clone() } }
                        </button>
                    </div>
                </form>
            </dialog>
        </>
    }
}
