//! The history list's query string on arbitrary bytes, decoded as the
//! handler's extractor decodes it (actix's `Query` is `serde_urlencoded`
//! into `SessionQuery`) and parsed by the domain's parser the handler
//! calls: a valid query or an error naming a field (a 400), never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use termaudit_api_types::SessionQuery;
use termaudit_domain::{HistoryQuery, history_query_params};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(q) = serde_urlencoded::from_str::<SessionQuery>(text) else { return };
    match HistoryQuery::parse(history_query_params!(q)) {
        Ok(parsed) => {
            assert!((1..=200).contains(&parsed.limit));
            if let Some(text) = parsed.filter.text {
                assert!((2..=200).contains(&text.chars().count()));
            }
        }
        Err(err) => assert!(!err.field_errors().is_empty()),
    }
});
