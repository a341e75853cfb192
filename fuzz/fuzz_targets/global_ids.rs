//! `cargo fuzz run global_ids`: see [`portico_fuzz::global_ids`] for what is checked.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::global_ids(data));
