//! Replays the checked-in inputs of the fuzz target `config` (`fuzz/corpus/config/`,
//! `fuzz/artifacts/config/`) through its check on stable Rust.

mod config_fuzz;

#[test]
fn every_checked_in_config_input_passes_its_check() {
    vtsum_test_utils::replay_fuzz_inputs("config", config_fuzz::config);
}
