//! Fuzz target `image_header`: see `checks::image_header` and fuzz/README.md.
//!
//! `image::header` catches panics of the third-party decoders (`guarded`)
//! and turns them into `ImageError::Malformed`, as the server relies on.
//! libFuzzer's panic hook would abort on those caught panics, so `init`
//! replaces it with one that only reports each new panic location once (a
//! decoder bug to report upstream, not ours). A panic that escapes the
//! module still aborts: libfuzzer-sys's `catch_unwind` around the target
//! aborts on it.
#![no_main]

#[allow(dead_code)]
mod checks;
mod common;

use std::collections::HashSet;
use std::sync::Mutex;

#[global_allocator]
static GUARD: common::Guard = common::Guard;

static SEEN: Mutex<Option<HashSet<String>>> = Mutex::new(None);

libfuzzer_sys::fuzz_target!(
    init: {
        std::panic::set_hook(Box::new(|info| {
            let at = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
            if seen.get_or_insert_with(HashSet::new).insert(at.clone()) {
                eprintln!("==fuzz== caught panic (first at {at}): {info}");
            }
        }));
    },
    |data: &[u8]| {
        checks::image_header(data);
    }
);
