//! Any bytes through every importer: the first byte picks the format, the rest is split into
//! lines (or is a whole message file for eml). No importer may panic; a line is an event, a
//! header (nothing) or an error, and every event it gives must be an object.
#![no_main]

use libfuzzer_sys::fuzz_target;
use malhost::import::{ImportOptions, LineFormat};

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else { return };
    let opts = ImportOptions::default();
    let text = String::from_utf8_lossy(rest);
    let mut format: Box<dyn LineFormat> = match pick % 7 {
        0 => Box::new(malhost::import::zeek::Zeek::default()),
        1 => Box::new(malhost::import::squid::Squid),
        2 => Box::new(malhost::import::asa::Asa),
        3 => Box::new(malhost::import::iptables::Iptables),
        4 => Box::new(malhost::import::windows_firewall::WindowsFirewall::default()),
        5 => Box::new(malhost::import::argus::Argus::default()),
        _ => {
            if let Ok(v) = malhost::import::eml::to_event(rest, "fuzz.eml") {
                assert!(v.is_object());
            }
            return;
        }
    };
    for line in text.split('\n') {
        if let Ok(Some(v)) = format.parse_line(line, &opts) {
            assert!(v.is_object());
        }
    }
});
