//! The interface contract: `schema.graphql` is what the code generates, and the operations our web and mobile
//! clients send (`tests/client-operations.graphql`, a copy of the shared file) validate against it, checked by
//! an independent validator (apollo-compiler).

use apollo_compiler::{ExecutableDocument, Schema};

const SCHEMA_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql");
const OPERATIONS: &str = include_str!("../client-operations.graphql");

/// The copy in the repository is the shared file itself (where the shared folder sits beside the checkout).
#[test]
fn the_operations_copy_matches_the_shared_file() {
    let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/client-operations.graphql");
    if let Ok(text) = std::fs::read_to_string(&shared) {
        assert_eq!(
            text,
            OPERATIONS,
            "copy {} to tests/client-operations.graphql",
            shared.display()
        );
    }
}

/// Client operations whose schema parts are still being built, by the issue that builds them. An operation
/// listed here must still fail validation (so the list shrinks as the schema grows); every other one must pass.
const PENDING: &[(&str, u32)] = &[];

/// Splits the operations file into (name, source) per top-level operation.
fn operations() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in OPERATIONS.lines() {
        let starts = ["query ", "mutation ", "subscription "]
            .iter()
            .any(|k| line.starts_with(k));
        if starts {
            let name = line.split_whitespace().nth(1).unwrap();
            let name = name.split(['(', '{']).next().unwrap().to_string();
            out.push((name, String::new()));
        }
        if let Some((_, src)) = out.last_mut()
            && !line.starts_with('#')
        {
            src.push_str(line);
            src.push('\n');
        }
    }
    out
}

#[test]
fn schema_file_matches_the_code() {
    let on_disk = std::fs::read_to_string(SCHEMA_FILE).expect("schema.graphql exists");
    let generated = portico::schema::sdl();
    assert!(
        on_disk == generated,
        "schema.graphql is stale: regenerate it with `cargo run -- schema > schema.graphql`"
    );
}

#[test]
fn client_operations_validate_against_the_schema() {
    let sdl = std::fs::read_to_string(SCHEMA_FILE).unwrap();
    let schema =
        Schema::parse_and_validate(sdl, "schema.graphql").expect("the generated schema is valid");
    let ops = operations();
    assert!(ops.len() >= 45, "found only {} operations", ops.len());
    let mut failures = Vec::new();
    for (name, src) in &ops {
        let result = ExecutableDocument::parse_and_validate(
            &schema,
            src.as_str(),
            format!("{name}.graphql"),
        );
        let pending = PENDING.iter().find(|(n, _)| n == name);
        match (result, pending) {
            (Ok(_), None) => {}
            (Err(e), None) => failures.push(format!("{name} does not validate:\n{}", e.errors)),
            (Ok(_), Some((_, issue))) => failures.push(format!(
                "{name} now validates: remove it from PENDING (issue {issue})"
            )),
            (Err(_), Some(_)) => {}
        }
    }
    for (name, _) in PENDING {
        assert!(
            ops.iter().any(|(n, _)| n == name),
            "PENDING names unknown operation {name}"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
