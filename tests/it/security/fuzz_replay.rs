//! The fuzz targets' checks on stable Rust: every seed in `fuzz/seeds/<target>/` (and, on a machine that ran
//! `cargo fuzz`, its `fuzz/corpus/<target>/` and `fuzz/artifacts/<target>/`) is replayed, then each target
//! meets a few hundred generated inputs. The checks are the fuzz crate's own (`fuzz/src/lib.rs`), included
//! here so they compile and run in every `cargo test`.

use std::path::Path;

use proptest::prelude::*;

#[path = "../../../fuzz/src/lib.rs"]
mod checks;

/// A fuzz target's check.
type Check = fn(&[u8]);

const TARGETS: [(&str, Check); 3] = [
    ("request_decoding", checks::request_decoding),
    ("global_ids", checks::global_ids),
    ("cursors", checks::cursors),
];

fn inputs(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.path().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn seeds_and_local_corpora_replay_cleanly() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    for (target, check) in TARGETS {
        let seeds = inputs(&fuzz.join("seeds").join(target));
        assert!(seeds.len() >= 5, "{target} has {} seeds", seeds.len());
        let local = ["corpus", "artifacts"]
            .iter()
            .flat_map(|dir| inputs(&fuzz.join(dir).join(target)));
        for (name, bytes) in seeds.into_iter().chain(local) {
            let outcome = std::panic::catch_unwind(|| check(&bytes));
            assert!(outcome.is_ok(), "{target} failed on {name}");
        }
    }
}

/// Text that looks like GraphQL and JSON often enough to reach the parser and the document checks.
fn graphql_like() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just("(".to_string()),
        Just(")".to_string()),
        Just("\"".to_string()),
        Just("\"\"\"".to_string()),
        Just("\\".to_string()),
        Just("#".to_string()),
        Just("\n".to_string()),
        Just("...".to_string()),
        Just(" on Query ".to_string()),
        Just("fragment F on Query ".to_string()),
        Just("...F ".to_string()),
        Just("query Q ".to_string()),
        Just("mutation ".to_string()),
        Just("@include(if: true) ".to_string()),
        Just("a: __typename ".to_string()),
        Just("works(first: 1) ".to_string()),
        Just("__schema ".to_string()),
        Just("{\"query\":\"".to_string()),
        Just("\",\"variables\":{\"x\":[1]}}".to_string()),
        "[a-z_]{1,8}",
    ];
    proptest::collection::vec(token, 0..80).prop_map(|tokens| tokens.concat().into_bytes())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn request_decoding_on_generated_input(bytes in prop_oneof![graphql_like(), proptest::collection::vec(any::<u8>(), 0..300)]) {
        checks::request_decoding(&bytes);
    }

    #[test]
    fn global_ids_on_generated_input(bytes in proptest::collection::vec(any::<u8>(), 0..300), text in "[A-Za-z0-9_:-]{0,120}") {
        checks::global_ids(&bytes);
        checks::global_ids(text.as_bytes());
    }

    #[test]
    fn cursors_on_generated_input(bytes in proptest::collection::vec(any::<u8>(), 0..300), text in "[A-Za-z0-9_:-]{0,120}") {
        checks::cursors(&bytes);
        checks::cursors(text.as_bytes());
    }
}
