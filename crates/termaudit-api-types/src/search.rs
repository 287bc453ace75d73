//! Search across recordings: what the terminals showed (the text after
//! terminal emulation), and a recording's transcript.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[cfg(feature = "openapi")]
use utoipa::{IntoParams, ToSchema};

use crate::Session;

/// A search across a project's recordings: `q`, and the history's filters
/// (every filter is optional; they combine with AND).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct RecordingSearchQuery {
    /// The text to find: 3 to 200 characters, no control characters (so no
    /// U+0000), not only spaces. A line matches when it contains `q` as a
    /// literal substring, letter case ignored (each character compared in
    /// its lowercase form); spaces and punctuation count, so several words
    /// are a phrase. Surrounding double quotes are optional and removed.
    #[cfg_attr(
        feature = "openapi",
        param(
            required = true,
            min_length = 3,
            max_length = 202,
            pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$",
            example = "permission denied"
        )
    )]
    pub q: Option<String>,
    #[cfg_attr(feature = "openapi", param(value_type = Option<crate::SessionStatus>))]
    pub status: Option<String>,
    #[cfg_attr(feature = "openapi", param(value_type = Option<crate::EnvironmentClass>))]
    pub environment_class: Option<String>,
    /// An environment's name (any text but U+0000; empty is no filter).
    #[cfg_attr(feature = "openapi", param(pattern = r"^[^\x00]*$"))]
    pub environment: Option<String>,
    pub target_id: Option<Uuid>,
    /// The user's subject (any text but U+0000; empty is no filter).
    #[cfg_attr(feature = "openapi", param(pattern = r"^[^\x00]*$"))]
    pub user: Option<String>,
    #[cfg_attr(feature = "openapi", param(value_type = Option<crate::SessionMode>))]
    pub mode: Option<String>,
    /// Sessions opened at or after this time (RFC 3339).
    pub opened_from: Option<DateTime<Utc>>,
    /// Sessions opened before this time (RFC 3339).
    pub opened_to: Option<DateTime<Utc>>,
    /// The `next_cursor` of the previous page.
    #[cfg_attr(feature = "openapi", param(pattern = r"^[A-Za-z0-9_-]*$"))]
    pub cursor: Option<String>,
    /// Sessions per page (default 20).
    #[serde(default, deserialize_with = "crate::integer::optional")]
    #[cfg_attr(feature = "openapi", param(minimum = 1, maximum = 100))]
    pub limit: Option<u32>,
}

/// A line of a recording's text that holds the query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct TextMatch {
    /// Seconds since the recording's start: the last moment a player shows
    /// the line (for a line still on a live session's screen, the time of
    /// its last chunk).
    pub time: f64,
    /// The whole line as the screen showed it (colours and escape
    /// sequences gone, trailing spaces trimmed).
    pub line: String,
    /// Where each occurrence of the query starts in `line`, left to right,
    /// not overlapping, counted in Unicode characters (scalar values) from
    /// 0; each is as long as the query in characters.
    pub positions: Vec<u32>,
}

/// A session whose recording showed the query.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RecordingHit {
    pub session: Session,
    /// Its first matching lines (at most 5), in the recording's order: the
    /// order in which the lines were finished (left the screen), the lines
    /// still on a live session's screen last.
    pub matches: Vec<TextMatch>,
    /// How many lines of the recording hold the query, counted up to 100:
    /// `100` means 100 or more.
    pub matching_lines: u64,
}

/// A page of sessions whose recordings showed the query, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct RecordingHitPage {
    /// The query searched (surrounding quotes removed).
    pub query: String,
    /// The query's length in characters: each match's length in its line.
    pub match_length: u32,
    pub items: Vec<RecordingHit>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
    /// The project's recordings whose text is still being extracted (made
    /// before this version kept text, minutes after an upgrade): not
    /// searched yet, so they may hold matches this page lacks. Usually 0.
    #[serde(default)]
    pub pending_recordings: u64,
}

/// How to write a transcript.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct TranscriptQuery {
    /// Prefix each line with its time in the recording, as `[HH:MM:SS.mmm] `.
    pub timestamps: Option<bool>,
}
