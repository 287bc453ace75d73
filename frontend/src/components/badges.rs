use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct EnvironmentProps {
    pub name: AttrValue,
    /// `production` or `non_production`.
    pub class: AttrValue,
}

/// An environment's name, with a red PRODUCTION badge when it is one.
#[component]
pub fn Environment(props: &EnvironmentProps) -> Html {
    html! {
        <span class="environment">
            <span class="environment-name">{ &props.name }</span>
            if props.class == "production" {
                <span class="badge badge-production" title="A production environment">
                    { "production" }
                </span>
            }
        </span>
    }
}

#[derive(Properties, PartialEq)]
pub struct StatusProps {
    /// `active`, `dropped` or `closed`.
    pub status: AttrValue,
}

/// A session's status: a pulsing LIVE badge while active.
#[component]
pub fn Status(props: &StatusProps) -> Html {
    let (class, label) = match props.status.as_str() {
        "active" => ("badge badge-live", "live"),
        "dropped" => ("badge badge-dropped", "dropped"),
        "closed" => ("badge badge-closed", "closed"),
        other => ("badge badge-closed", other),
    };
    html! { <span class={class} data-status={props.status.clone()}>{ label }</span> }
}

#[derive(Properties, PartialEq)]
pub struct RecordedProps {
    pub recorded: bool,
}

/// Whether the session's terminal output is recorded: a red dot, or a dash.
#[component]
pub fn Recorded(props: &RecordedProps) -> Html {
    if props.recorded {
        html! {
            <span class="recorded" title="Recorded">
                <span class="rec-dot" aria-hidden="true"></span>
                <span class="sr-only">{ "Recorded" }</span>
            </span>
        }
    } else {
        html! {
            <span class="not-recorded muted" title="Not recorded">
                <span aria-hidden="true">{ "—" }</span>
                <span class="sr-only">{ "Not recorded" }</span>
            </span>
        }
    }
}

/// `user_exit` → `user exit`: the API's words for people.
pub fn humanize(word: &str) -> String {
    word.replace('_', " ")
}
