//! A recording's first chunk on arbitrary bytes, as ingest plays it: the
//! header line, then every event through the terminal emulation that the
//! seek snapshots come from. It must never panic nor exhaust memory (a
//! header or resize declaring 65535 x 65535 once did), and a snapshot of
//! the screen must restore to the same screen.
#![no_main]

use libfuzzer_sys::fuzz_target;
use termaudit_domain::asciicast::{Decoder, Replay};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.split('\n');
    let Ok((header, mut decoder)) = Decoder::from_header_line(lines.next().unwrap_or_default())
    else {
        return;
    };
    let mut replay = Replay::new(header.width, header.height);
    for line in lines {
        match decoder.decode_line(line) {
            Ok(Some(event)) => replay.apply(&event),
            Ok(None) => {}
            // Ingest refuses the whole chunk here.
            Err(_) => return,
        }
    }
    let restored = Replay::restore(&replay.snapshot());
    assert_eq!(restored.size(), replay.size());
    assert_eq!(restored.screen_text(), replay.screen_text());
    assert_eq!(restored.cursor(), replay.cursor());
});
