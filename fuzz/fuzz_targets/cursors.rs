//! `cargo fuzz run cursors`: see [`portico_fuzz::cursors`] for what is checked.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::cursors(data));
