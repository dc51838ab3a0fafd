//! Replays the fuzz targets' inputs without a fuzzer: the seeds in
//! `fuzz/seeds/<target>/` and every input a fuzzer crashed on, kept in
//! `tests/fuzz_regressions/<target>/`. Each goes through the same checks the
//! target runs (`fuzz/fuzz_targets/checks.rs`, included below), so a
//! property that failed once is checked on every `cargo test`. A file named
//! `ok_*` must be accepted and one named `err_*` refused; see fuzz/README.md.

#[path = "../../fuzz/fuzz_targets/checks.rs"]
mod checks;

use std::path::{Path, PathBuf};

/// Files of one folder under the crate root, sorted; empty when the folder
/// does not exist.
fn inputs(folder: &str, target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(folder)
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    files
}

/// Runs `check` on every seed and regression input of `target`; returns how
/// many regression inputs there were.
fn replay(target: &str, check: fn(&[u8]) -> bool) -> usize {
    let seeds = inputs("fuzz/seeds", target);
    assert!(
        seeds.len() >= 3,
        "fuzz/seeds/{target} is missing or has fewer than 3 seeds"
    );
    let regressions = inputs("tests/fuzz_regressions", target);
    for path in seeds.iter().chain(&regressions) {
        let name = path.file_name().unwrap().to_string_lossy();
        let expect_ok = match name.split('_').next() {
            Some("ok") => true,
            Some("err") => false,
            _ => panic!("{}: name must start with ok_ or err_", path.display()),
        };
        let bytes = std::fs::read(path).unwrap();
        let accepted = check(&bytes);
        assert_eq!(
            accepted,
            expect_ok,
            "{}: accepted = {accepted}",
            path.display()
        );
    }
    regressions.len()
}

#[test]
fn npy_reader_inputs_replay() {
    let kept = replay("npy_reader", checks::npy_reader);
    assert!(
        kept >= 1,
        "tests/fuzz_regressions/npy_reader is missing or empty"
    );
}

#[test]
fn tensor_validation_inputs_replay() {
    let kept = replay("tensor_validation", checks::tensor_validation);
    assert!(
        kept >= 1,
        "tests/fuzz_regressions/tensor_validation is missing or empty"
    );
}

#[test]
fn json_list_inputs_replay() {
    let kept = replay("json_list", checks::json_list);
    assert!(
        kept >= 1,
        "tests/fuzz_regressions/json_list is missing or empty"
    );
}

#[test]
fn image_header_inputs_replay() {
    let kept = replay("image_header", checks::image_header);
    assert!(
        kept >= 1,
        "tests/fuzz_regressions/image_header is missing or empty"
    );
}

#[test]
fn kserve_rest_inputs_replay() {
    replay("kserve_rest", checks::kserve_rest);
}

#[test]
fn multipart_inputs_replay() {
    replay("multipart", checks::multipart);
}
