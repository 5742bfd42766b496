//! Replays every checked-in fuzz input — the seed corpora and every input that once made a
//! target fail (`fuzz/corpus/<target>/`, `fuzz/artifacts/<target>/`) — through the same checks
//! as the fuzz targets, on stable Rust. CI needs no nightly to keep found bugs fixed.

mod fuzz_checks;

/// A target's check: panics when the input breaks a rule.
type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 6] = [
    ("extract", fuzz_checks::extract),
    ("v3", fuzz_checks::v3),
    ("v2", fuzz_checks::v2),
    ("rate", fuzz_checks::rate),
    ("csv", fuzz_checks::csv),
    ("html", fuzz_checks::html),
];

#[test]
fn every_checked_in_fuzz_input_passes_its_checks() {
    for (target, check) in TARGETS {
        vtsum_test_utils::replay_fuzz_inputs(target, check);
    }
}
