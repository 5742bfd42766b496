//! Replays every checked-in fuzz input of the web crate's targets — the seed corpora and
//! every input that once made a target fail (`fuzz/corpus/<target>/`,
//! `fuzz/artifacts/<target>/`) — through the same checks as the fuzz targets, on stable
//! Rust. CI needs no nightly to keep found bugs fixed.

mod fuzz_checks;

use std::path::PathBuf;

/// A target's check: panics when the input breaks a rule.
type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 2] = [
    ("web_input", fuzz_checks::web_input),
    ("xlsx", fuzz_checks::xlsx),
];

fn files(dir: PathBuf) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_checked_in_fuzz_input_passes_its_checks() {
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    for (target, check) in TARGETS {
        let corpus = files(fuzz.join("corpus").join(target));
        assert!(!corpus.is_empty(), "no seed corpus for {target}");
        let crashes = files(fuzz.join("artifacts").join(target));
        for path in corpus.iter().chain(&crashes) {
            let data = std::fs::read(path).unwrap();
            let run = std::panic::catch_unwind(|| check(&data));
            assert!(run.is_ok(), "{target}: {} fails its check", path.display());
        }
    }
}
