//! The asciicast parser on arbitrary bytes: the first line as a header (v2
//! or v3), every following line as an event. It must never panic, and an
//! event it accepts must read back the same from its canonical line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use termaudit_domain::asciicast::{Decoder, Version};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut lines = text.lines();
    let first = lines.next().unwrap_or_default();
    let mut decoders = vec![Decoder::new(Version::V2), Decoder::new(Version::V3)];
    if let Ok((_, decoder)) = Decoder::from_header_line(first) {
        decoders.push(decoder);
    }
    for decoder in &mut decoders {
        let mut canonical = Decoder::new(Version::V2);
        for line in text.lines() {
            if let Ok(Some(event)) = decoder.decode_line(line) {
                let again = canonical.decode_line(&event.to_line());
                assert_eq!(again, Ok(Some(event)));
            }
        }
    }
});
