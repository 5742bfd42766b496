//! Fuzz target `xlsx`: see `fuzz_checks::xlsx` for what must hold for every input.
#![no_main]

#[path = "../../crates/vtsum-web/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::xlsx(data));
