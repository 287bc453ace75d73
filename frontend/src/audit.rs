//! An audit event's details as a person reads them: labels in words, no
//! `null`, times as times, a recording's position as a clock (`0:00`, not
//! `from 0.0`). The API keeps the details as JSON for machines.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::player::playback::clock;

/// A detail's value, shown as text or as a time.
#[derive(Debug, Clone, PartialEq)]
pub enum Shown {
    Text(String),
    At(DateTime<Utc>),
}

/// The labelled details of an event of type `event_type`.
pub fn details(event_type: &str, details: &Value) -> Vec<(String, Shown)> {
    match details {
        Value::Object(map) => map
            .iter()
            .filter_map(|(key, value)| {
                if key == "from" && event_type == "recording.viewed" {
                    let at = value.as_f64()?;
                    return Some(("Watched from".to_owned(), Shown::Text(clock(at))));
                }
                let shown = match value {
                    Value::String(text) => match DateTime::parse_from_rfc3339(text) {
                        Ok(at) => Shown::At(at.with_timezone(&Utc)),
                        Err(_) => Shown::Text(text.clone()),
                    },
                    other => Shown::Text(text(other)?),
                };
                Some((label(key), shown))
            })
            .collect(),
        Value::Null => Vec::new(),
        other => {
            text(other).map(|t| vec![("Details".to_owned(), Shown::Text(t))]).unwrap_or_default()
        }
    }
}

/// `close_reason` → `Close reason`.
fn label(key: &str) -> String {
    let words = key.replace('_', " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => words,
    }
}

/// A value as words; `None` for nothing to say (`null`, empty).
fn text(value: &Value) -> Option<String> {
    let shown = match value {
        Value::Null => return None,
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        Value::Number(number) => number.to_string(),
        Value::String(text) => text.clone(),
        Value::Array(items) => items.iter().filter_map(text).collect::<Vec<_>>().join(", "),
        Value::Object(map) => map
            .iter()
            .filter_map(|(key, value)| Some(format!("{}: {}", key.replace('_', " "), text(value)?)))
            .collect::<Vec<_>>()
            .join(", "),
    };
    (!shown.is_empty()).then_some(shown)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nulls_are_left_out_and_labels_are_words() {
        let shown = details(
            "hold.released",
            &json!({"reason": "case closed", "placed_reason": null, "placed_by": "carol"}),
        );
        assert_eq!(
            shown,
            [
                ("Placed by".to_owned(), Shown::Text("carol".to_owned())),
                ("Reason".to_owned(), Shown::Text("case closed".to_owned())),
            ]
        );
    }

    #[test]
    fn a_viewed_recordings_position_is_a_clock_and_times_are_times() {
        assert_eq!(
            details("recording.viewed", &json!({"from": 0.0})),
            [("Watched from".to_owned(), Shown::Text("0:00".to_owned()))]
        );
        let at = details("session.closed", &json!({"dropped_at": "2026-12-05T10:00:00Z"}));
        assert!(matches!(&at[0], (label, Shown::At(_)) if label == "Dropped at"), "{at:?}");
        let nested = details(
            "policy.updated",
            &json!({"new": {"record_non_production": true, "reconnect_grace_seconds": 300}}),
        );
        assert_eq!(
            nested,
            [(
                "New".to_owned(),
                Shown::Text("reconnect grace seconds: 300, record non production: yes".to_owned())
            )]
        );
    }
}
