//! Opaque keyset-pagination cursors: the sort key of the last row of a page,
//! and the parsing of the `cursor` and `limit` parameters of every list.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::{DomainError, TimeBounds, check_text};

/// Where the next page starts: after the row with this time and id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "t")]
    pub time: DateTime<Utc>,
    /// The row's id, as text (sessions have UUIDs, events integers).
    pub id: String,
}

#[derive(Debug, thiserror::Error)]
#[error("the cursor is not one this API issued")]
pub struct InvalidCursor;

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(text: &str) -> Result<Self, InvalidCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| InvalidCursor)?;
        serde_json::from_slice(&bytes).map_err(|_| InvalidCursor)
    }

    /// A `cursor` parameter: one this API issued, or an error naming it
    /// (empty is none, as a client that passes an absent `next_cursor` along
    /// sends it). A cursor is opaque but not signed, so a forged one may hold
    /// any time or id: one whose time the database could not have issued is
    /// refused here.
    pub fn parse_param(cursor: Option<&str>) -> Result<Option<Self>, DomainError> {
        let forged = || DomainError::invalid("cursor", "not a cursor this API issued");
        cursor
            .filter(|c| !c.is_empty())
            .map(|c| {
                let cursor = Self::decode(c).map_err(|_| forged())?;
                TimeBounds::STORABLE.check("cursor", cursor.time).map_err(|_| forged())?;
                check_text("cursor", &cursor.id).map_err(|_| forged())?;
                Ok(cursor)
            })
            .transpose()
    }

    pub fn uuid(&self) -> Result<uuid::Uuid, InvalidCursor> {
        self.id.parse().map_err(|_| InvalidCursor)
    }

    pub fn int(&self) -> Result<i64, InvalidCursor> {
        self.id.parse().map_err(|_| InvalidCursor)
    }
}

/// A `limit` parameter: `default` when absent, 1 to `max`, or an error.
pub fn parse_limit(limit: Option<u32>, default: u32, max: u32) -> Result<usize, DomainError> {
    match limit.unwrap_or(default) {
        n if (1..=max).contains(&n) => Ok(n as usize),
        n => Err(DomainError::invalid("limit", format!("must be 1 to {max}, not {n}"))),
    }
}

/// A page of rows and the cursor of the next one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let cursor = Cursor { time: Utc::now(), id: "42".into() };
        assert_eq!(Cursor::decode(&cursor.encode()).ok(), Some(cursor));
        assert!(Cursor::decode("not a cursor").is_err());
        assert!(Cursor::decode("").is_err());
        assert!(Cursor::decode(&URL_SAFE_NO_PAD.encode(b"{\"x\":1}")).is_err());
    }
}
