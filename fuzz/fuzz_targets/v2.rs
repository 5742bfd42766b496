//! Fuzz target `v2`: see `fuzz_checks::v2` for what must hold for every input.
#![no_main]

#[path = "../../crates/vtsum-core/tests/fuzz_checks/mod.rs"]
mod fuzz_checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| fuzz_checks::v2(data));
