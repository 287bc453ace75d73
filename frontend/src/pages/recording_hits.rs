//! The history's search "in recordings": the sessions whose recordings
//! showed the text (`GET /recordings/search`, with the history's filters),
//! each with its matching lines; a line opens the session's player at the
//! moment the line was on the screen, the text marked there.

use termaudit_api_types::{RecordingHit, RecordingHitPage, TextMatch};
use yew::prelude::*;
use yew_router::prelude::*;

use crate::components::{ErrorNotice, Loading, Time};
use crate::filters::Filters;
use crate::hooks::{Fetch, use_get};
use crate::player::playback::clock;
use crate::routes::Route;

#[derive(Properties, PartialEq)]
pub struct RecordingHitsProps {
    pub slug: String,
    pub filters: Filters,
}

#[component]
pub fn RecordingHits(props: &RecordingHitsProps) -> Html {
    let hits = use_get::<RecordingHitPage>(props.filters.recording_search_path(&props.slug));
    match &hits.state {
        Fetch::Loading => html! { <Loading label="Searching the recordings…" /> },
        Fetch::Failed(error) => {
            html! { <ErrorNotice error={error.clone()} on_retry={hits.reload.clone()} /> }
        }
        Fetch::Loaded(page) if page.items.is_empty() => html! {
            <>
                { pending(page) }
                <p class="muted" data-testid="recording-hits-empty">
                    { format!("No recording showed “{}”.", page.query) }
                </p>
            </>
        },
        Fetch::Loaded(page) => html! {
            <>
                { pending(page) }
                <ul class="recording-hits" data-testid="recording-hits" aria-label="Sessions whose recordings showed the text">
                    { for page.items.iter().map(|hit| hit_card(&props.slug, hit, &page.query, page.match_length)) }
                </ul>
                if page.next_cursor.is_some() {
                    <p class="muted small" data-testid="recording-hits-more">
                        { "More sessions match: narrow the filters to see them." }
                    </p>
                }
            </>
        },
    }
}

/// A note while recordings made before text was kept are not searched yet.
fn pending(page: &RecordingHitPage) -> Html {
    match page.pending_recordings {
        0 => html! {},
        n => html! {
            <p class="muted small" data-testid="recording-hits-pending">
                { format!("{n} older recording{} not searched yet: their text is still being extracted.", if n == 1 { " is" } else { "s are" }) }
            </p>
        },
    }
}

fn hit_card(slug: &str, hit: &RecordingHit, query: &str, length: u32) -> Html {
    let session = &hit.session;
    let route = Route::SessionDetail { slug: slug.to_owned(), id: session.id.to_string() };
    html! {
        <li class="card recording-hit" data-session={session.id.to_string()}>
            <p class="recording-hit-title">
                <Link<Route> to={route.clone()}>{ &session.target_name }</Link<Route>>
                { format!(" · {} · ", session.user.name) }<Time at={session.opened_at} />
                <span class="muted small">
                    { format!(" · {} matching line{}", hit.matching_lines, if hit.matching_lines == 1 { "" } else { "s" }) }
                </span>
            </p>
            <ol class="recording-hit-lines">
                { for hit.matches.iter().map(|m| line(&route, m, query, length)) }
            </ol>
        </li>
    }
}

/// A matching line, its matches marked; a link to the player at its time,
/// marking the query on the screen.
fn line(route: &Route, m: &TextMatch, query: &str, length: u32) -> Html {
    let chars: Vec<char> = m.line.chars().collect();
    let mut pieces = Vec::new();
    let mut at = 0;
    for &start in &m.positions {
        let start = (start as usize).min(chars.len());
        let end = (start + length as usize).min(chars.len());
        if start < at {
            continue;
        }
        pieces.push(html! { { chars[at..start].iter().collect::<String>() } });
        pieces.push(html! { <mark>{ chars[start..end].iter().collect::<String>() }</mark> });
        at = end;
    }
    pieces.push(html! { { chars[at..].iter().collect::<String>() } });
    let query = [("t", m.time.to_string()), ("q", query.to_owned())];
    html! {
        <li>
            <Link<Route, [(&'static str, String); 2]> to={route.clone()} query={Some(query)}
                classes="recording-hit-line">
                <span class="recording-hit-time">{ clock(m.time) }</span>
                <code>{ for pieces }</code>
            </Link<Route, [(&'static str, String); 2]>>
        </li>
    }
}
