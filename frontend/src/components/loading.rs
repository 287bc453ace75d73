use yew::prelude::*;

#[derive(Properties, PartialEq)]
pub struct LoadingProps {
    /// What is being waited for, e.g. "Loading projects…".
    pub label: AttrValue,
}

/// A spinner with a label, announced politely to screen readers.
#[component]
pub fn Loading(props: &LoadingProps) -> Html {
    html! {
        <div class="loading" role="status" aria-live="polite">
            <span class="spinner" aria-hidden="true"></span>
            <span>{ &props.label }</span>
        </div>
    }
}
