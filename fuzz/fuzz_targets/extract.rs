//! Fuzz target `extract`: see `fuzz_checks::extract` for what must hold for every input.
#![no_main]

#[path = "../../crates/vtsum-core/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::extract(data));
