use chrono::{DateTime, Utc};
use yew::prelude::*;

use crate::time;

#[derive(Properties, PartialEq)]
pub struct TimeProps {
    pub at: DateTime<Utc>,
}

/// A moment in the viewer's time zone; hovering shows it in UTC.
#[component]
pub fn Time(props: &TimeProps) -> Html {
    html! {
        <time datetime={props.at.to_rfc3339()} title={time::utc(props.at)}>
            { time::local(props.at) }
        </time>
    }
}
