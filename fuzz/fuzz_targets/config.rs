//! Fuzz target `config`: see `crates/vtsum/tests/config_fuzz` for what must hold.
#![no_main]

#[path = "../../crates/vtsum/tests/config_fuzz/mod.rs"]
mod config_fuzz;

libfuzzer_sys::fuzz_target!(|data: &[u8]| config_fuzz::config(data));
