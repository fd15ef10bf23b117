//! Fuzz the RAW file reader (header parsing + EVT 3.0 body).
#![no_main]
use libfuzzer_sys::fuzz_target;
use spikectl::tracking::raw::read_raw;

fuzz_target!(|data: &[u8]| {
    if let Ok(rec) = read_raw(data) {
        for e in &rec.events {
            assert!(e.x < rec.geometry.0 && e.y < rec.geometry.1);
        }
    }
});
