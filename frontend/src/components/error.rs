use yew::prelude::*;

use crate::api::ApiError;

#[derive(Properties, PartialEq)]
pub struct ErrorNoticeProps {
    pub error: ApiError,
    /// Offers a "Try again" button when given.
    #[prop_or_default]
    pub on_retry: Option<Callback<()>>,
}

/// Says what went wrong, in the server's words when it gave any, with the
/// request id to quote to an administrator.
#[component]
pub fn ErrorNotice(props: &ErrorNoticeProps) -> Html {
    let error = &props.error;
    let class = match error {
        ApiError::Forbidden { .. } => "notice notice-forbidden",
        _ => "notice notice-error",
    };
    let retry = props.on_retry.as_ref().map(|on_retry| {
        let on_retry = on_retry.clone();
        html! {
            <button type="button" class="button" onclick={move |_| on_retry.emit(())}>
                { "Try again" }
            </button>
        }
    });
    html! {
        <div {class} role="alert">
            <p class="notice-title">{ error.title() }</p>
            <p class="notice-detail">{ error.detail() }</p>
            if let Some(request_id) = error.request_id() {
                <p class="notice-meta">
                    { "Request id " }<code>{ request_id }</code>
                    { " — quote it when you ask an administrator." }
                </p>
            }
            { for retry }
        </div>
    }
}
