//! Replays the checked-in inputs of the fuzz target `config` (`fuzz/corpus/config/`,
//! `fuzz/artifacts/config/`) through its check on stable Rust.

mod config_fuzz;

use std::path::PathBuf;

#[test]
fn every_checked_in_config_input_passes_its_check() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut n = 0;
    for dir in ["corpus", "artifacts"] {
        let Ok(entries) = std::fs::read_dir(fuzz.join(dir).join("config")) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            config_fuzz::config(&std::fs::read(&path).unwrap());
            n += 1;
        }
    }
    assert!(n > 0, "no seed corpus for the config target");
}
