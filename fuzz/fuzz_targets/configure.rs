//! Any bytes as a config document: must not panic, and a rejection must name a path.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = malhost::Config::from_json(data) {
        assert!(!e.path.is_empty() && !e.message.is_empty());
    }
});
