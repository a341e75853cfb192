//! `cargo fuzz run request_decoding`: see [`portico_fuzz::request_decoding`] for what is checked.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| portico_fuzz::request_decoding(data));
