//! The history list's query string on arbitrary bytes, parsed exactly as the
//! handler parses it: a valid query or a 400, never a panic.
#![no_main]

use actix_web::{ResponseError, web::Query};
use libfuzzer_sys::fuzz_target;
use termaudit_api::history_query;
use termaudit_api_types::SessionQuery;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(Query(query)) = Query::<SessionQuery>::from_query(text) {
        match history_query(query) {
            Ok(parsed) => assert!((1..=200).contains(&parsed.limit)),
            Err(err) => assert_eq!(err.status_code().as_u16(), 400),
        }
    }
});
