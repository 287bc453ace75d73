use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::error::{CastError, excerpt};
use super::event::push_json_str;
use super::time::Micros;

/// The asciicast version of an uploaded file. Stored and downloaded casts are
/// always v2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Version {
    /// Absolute event times; the stored format.
    V2,
    /// Interval event times, `#` comments and `x` exit events; accepted on
    /// ingest and converted to v2.
    V3,
}

/// An asciicast v2 header (a v3 header converted to v2 on parsing).
///
/// A v3 header's `term.cols`/`term.rows` become `width`/`height` and
/// `term.theme` becomes `theme`; its other `term` fields (`type`, `version`,
/// unknown ones) are kept in `extra` as a `term` object, which v2 readers
/// ignore. Optional fields given as `null` read as absent, and `env` entries
/// whose value is `null` are dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Initial terminal columns.
    pub width: u16,
    /// Initial terminal rows.
    pub height: u16,
    /// Start of the recording, Unix seconds.
    pub timestamp: Option<i64>,
    /// Length of the recording, when known upfront.
    pub duration: Option<Micros>,
    /// Players shorten pauses longer than this.
    pub idle_time_limit: Option<Micros>,
    /// The recorded command.
    pub command: Option<String>,
    /// The recording's title.
    pub title: Option<String>,
    /// Captured environment variables, such as `SHELL` and `TERM`.
    pub env: Option<BTreeMap<String, String>>,
    /// The terminal's colours.
    pub theme: Option<Theme>,
    /// Header fields this type does not know, kept so a download carries them
    /// back. Entries named like a known field are not written.
    pub extra: Map<String, Value>,
}

/// Header keys with a field of their own; an `extra` entry never uses them.
const KNOWN_KEYS: [&str; 10] = [
    "version",
    "width",
    "height",
    "timestamp",
    "duration",
    "idle_time_limit",
    "command",
    "title",
    "env",
    "theme",
];

/// A terminal colour theme: foreground, background and an 8 or 16 colour
/// palette, each colour `#rrggbb`, the palette's colours joined by `:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Theme {
    fg: String,
    bg: String,
    palette: String,
}

impl Theme {
    /// Checks the colours' syntax (they may end up in a player's styles).
    pub fn new(fg: &str, bg: &str, palette: &str) -> Result<Self, &'static str> {
        if !is_hex_colour(fg) {
            return Err("has an `fg` that is not a #rrggbb colour");
        }
        if !is_hex_colour(bg) {
            return Err("has a `bg` that is not a #rrggbb colour");
        }
        let count = palette.split(':').count();
        if !(count == 8 || count == 16) || !palette.split(':').all(is_hex_colour) {
            return Err("has a `palette` that is not 8 or 16 #rrggbb colours joined by `:`");
        }
        Ok(Self { fg: fg.to_owned(), bg: bg.to_owned(), palette: palette.to_owned() })
    }

    /// Foreground colour, `#rrggbb`.
    pub fn fg(&self) -> &str {
        &self.fg
    }

    /// Background colour, `#rrggbb`.
    pub fn bg(&self) -> &str {
        &self.bg
    }

    /// 8 or 16 `#rrggbb` colours joined by `:`.
    pub fn palette(&self) -> &str {
        &self.palette
    }
}

fn is_hex_colour(s: &str) -> bool {
    s.len() == 7 && s.starts_with('#') && s.bytes().skip(1).all(|b| b.is_ascii_hexdigit())
}

impl Header {
    /// A header with only the required fields.
    pub fn new(width: u16, height: u16) -> Self {
        Self {
            width,
            height,
            timestamp: None,
            duration: None,
            idle_time_limit: None,
            command: None,
            title: None,
            env: None,
            theme: None,
            extra: Map::new(),
        }
    }

    /// The asciicast v2 header line, without a newline. Known fields come
    /// first in the spec's order, then the extras.
    pub fn to_line(&self) -> String {
        let mut line =
            format!("{{\"version\": 2, \"width\": {}, \"height\": {}", self.width, self.height);
        if let Some(timestamp) = self.timestamp {
            line.push_str(&format!(", \"timestamp\": {timestamp}"));
        }
        if let Some(duration) = self.duration {
            line.push_str(&format!(", \"duration\": {duration}"));
        }
        if let Some(limit) = self.idle_time_limit {
            line.push_str(&format!(", \"idle_time_limit\": {limit}"));
        }
        for (key, value) in [("command", &self.command), ("title", &self.title)] {
            if let Some(value) = value {
                line.push_str(&format!(", \"{key}\": "));
                push_json_str(&mut line, value);
            }
        }
        if let Some(env) = &self.env {
            line.push_str(", \"env\": {");
            for (i, (name, value)) in env.iter().enumerate() {
                if i > 0 {
                    line.push_str(", ");
                }
                push_json_str(&mut line, name);
                line.push_str(": ");
                push_json_str(&mut line, value);
            }
            line.push('}');
        }
        if let Some(theme) = &self.theme {
            line.push_str(", \"theme\": {\"fg\": ");
            push_json_str(&mut line, &theme.fg);
            line.push_str(", \"bg\": ");
            push_json_str(&mut line, &theme.bg);
            line.push_str(", \"palette\": ");
            push_json_str(&mut line, &theme.palette);
            line.push('}');
        }
        for (key, value) in &self.extra {
            if KNOWN_KEYS.contains(&key.as_str()) {
                continue;
            }
            // Serialising a `Value` cannot fail (it holds no non-finite
            // floats and only string keys); skip the entry if it ever did.
            if let Ok(value) = serde_json::to_string(value) {
                line.push_str(", ");
                push_json_str(&mut line, key);
                line.push_str(": ");
                line.push_str(&value);
            }
        }
        line.push('}');
        line
    }
}

/// Parses a cast file's first line, v2 or v3, into a v2 header.
pub fn parse_header_line(line: &str) -> Result<(Header, Version), CastError> {
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    let mut fields = Fields::parse(line)?;
    let version = match fields.take("version") {
        None => return Err(CastError::UnsupportedVersion { found: "(missing)".to_owned() }),
        Some(raw) => match serde_json::from_str::<u64>(raw.get()) {
            Ok(2) => Version::V2,
            Ok(3) => Version::V3,
            _ => return Err(CastError::UnsupportedVersion { found: excerpt(raw.get()) }),
        },
    };
    let header = match version {
        Version::V2 => parse_v2(fields)?,
        Version::V3 => parse_v3(fields)?,
    };
    Ok((header, version))
}

fn parse_v2(mut fields: Fields<'_>) -> Result<Header, CastError> {
    let width = required_size(&mut fields, "width")?;
    let height = required_size(&mut fields, "height")?;
    let theme = fields.take("theme").map(|raw| parse_theme(raw, "theme")).transpose()?;
    let mut header = Header { theme, ..Header::new(width, height) };
    parse_common(&mut fields, &mut header)?;
    header.extra = fields.into_extra()?;
    Ok(header)
}

fn parse_v3(mut fields: Fields<'_>) -> Result<Header, CastError> {
    const TERM: &str = "term";
    let raw_term = fields.take(TERM).ok_or_else(|| CastError::InvalidHeader {
        field: TERM,
        problem: "is missing; asciicast v3 needs {\"cols\": ..., \"rows\": ...}".to_owned(),
    })?;
    let mut term = Fields::parse_nested(raw_term, TERM)?;
    let width = required_size(&mut term, "term.cols")?;
    let height = required_size(&mut term, "term.rows")?;
    let theme = term.take("theme").map(|raw| parse_theme(raw, "term.theme")).transpose()?;
    for (key, field) in [("type", "term.type"), ("version", "term.version")] {
        if let Some(raw) = term.map.get(key)
            && serde_json::from_str::<Option<String>>(raw.get()).is_err()
        {
            return Err(invalid(field, "must be a string"));
        }
    }
    // v3-only or v2-only keys have no v2 meaning at the top level.
    for key in ["width", "height", "theme"] {
        fields.take(key);
    }
    let mut header = Header { theme, ..Header::new(width, height) };
    parse_common(&mut fields, &mut header)?;
    header.extra = fields.into_extra()?;
    let term_rest = term.into_extra()?;
    if !term_rest.is_empty() {
        header.extra.insert(TERM.to_owned(), Value::Object(term_rest));
    }
    Ok(header)
}

/// The optional fields v2 and v3 share.
fn parse_common(fields: &mut Fields<'_>, header: &mut Header) -> Result<(), CastError> {
    header.timestamp = fields.optional("timestamp", "must be an integer (Unix seconds)")?;
    header.duration = optional_seconds(fields, "duration")?;
    header.idle_time_limit = optional_seconds(fields, "idle_time_limit")?;
    header.command = fields.optional("command", "must be a string")?;
    header.title = fields.optional("title", "must be a string")?;
    header.env = fields
        .optional::<BTreeMap<String, Option<String>>>("env", "must be an object of strings")?
        .map(|env| env.into_iter().filter_map(|(k, v)| Some((k, v?))).collect());
    Ok(())
}

fn required_size(fields: &mut Fields<'_>, field: &'static str) -> Result<u16, CastError> {
    fields
        .optional(field, "must be an integer from 0 to 65535")?
        .ok_or_else(|| invalid(field, "is missing"))
}

fn optional_seconds(
    fields: &mut Fields<'_>,
    field: &'static str,
) -> Result<Option<Micros>, CastError> {
    fields
        .take(field)
        .map(|raw| Micros::parse_seconds(raw.get()).map_err(|e| invalid(field, &e.to_string())))
        .transpose()
}

fn parse_theme(raw: &RawValue, field: &'static str) -> Result<Theme, CastError> {
    #[derive(serde::Deserialize)]
    struct ThemeText {
        fg: String,
        bg: String,
        palette: String,
    }
    let text: ThemeText = serde_json::from_str(raw.get())
        .map_err(|_| invalid(field, "must be an object with string `fg`, `bg` and `palette`"))?;
    Theme::new(&text.fg, &text.bg, &text.palette).map_err(|problem| invalid(field, problem))
}

fn invalid(field: &'static str, problem: &str) -> CastError {
    CastError::InvalidHeader { field, problem: problem.to_owned() }
}

/// A JSON object's members, their values still unparsed text.
struct Fields<'a> {
    map: BTreeMap<String, &'a RawValue>,
}

impl<'a> Fields<'a> {
    fn parse(line: &'a str) -> Result<Self, CastError> {
        match serde_json::from_str(line) {
            Ok(map) => Ok(Self { map }),
            Err(e) if e.is_data() => Err(CastError::HeaderNotObject { excerpt: excerpt(line) }),
            Err(e) => {
                Err(CastError::Json { line: 1, reason: e.to_string(), excerpt: excerpt(line) })
            }
        }
    }

    fn parse_nested(raw: &'a RawValue, field: &'static str) -> Result<Self, CastError> {
        serde_json::from_str(raw.get())
            .map(|map| Self { map })
            .map_err(|_| invalid(field, "must be an object"))
    }

    /// Removes a member; `null` counts as absent.
    fn take(&mut self, key: &str) -> Option<&'a RawValue> {
        self.map.remove(key).filter(|raw| raw.get() != "null")
    }

    fn optional<T: DeserializeOwned>(
        &mut self,
        field: &'static str,
        problem: &str,
    ) -> Result<Option<T>, CastError> {
        // The field's name in the object is its last dotted part.
        let key = field.rsplit('.').next().unwrap_or(field);
        self.take(key)
            .map(|raw| serde_json::from_str(raw.get()).map_err(|_| invalid(field, problem)))
            .transpose()
    }

    /// The remaining members as JSON values.
    fn into_extra(self) -> Result<Map<String, Value>, CastError> {
        self.map
            .into_iter()
            .map(|(key, raw)| {
                let value = serde_json::from_str(raw.get()).map_err(|e| CastError::Json {
                    line: 1,
                    reason: e.to_string(),
                    excerpt: excerpt(raw.get()),
                })?;
                Ok((key, value))
            })
            .collect()
    }
}
