use super::*;
use async_graphql::parser::parse_query;

fn run(q: &str, name: Option<&str>) -> Result<Analysis, Refusal> {
    analyze(&parse_query(q).unwrap(), name, &Limits::default(), false)
}

fn run_open(q: &str) -> Result<Analysis, Refusal> {
    analyze(&parse_query(q).unwrap(), None, &Limits::default(), true)
}

/// `works { edges { node { author { works ... } } } }` with `levels` fields in the chain.
fn deep(levels: usize) -> String {
    let names = ["works", "edges", "node", "author"];
    let mut q = String::new();
    for i in 0..levels - 1 {
        q.push_str(&format!("{} {{ ", names[i % 4]));
    }
    q.push_str("__typename");
    q.push_str(&" }".repeat(levels - 1));
    format!("{{ {q} }}")
}

#[test]
fn application_depth_is_limited_and_introspection_is_not() {
    assert!(run(&deep(12), None).is_ok());
    let err = run(&deep(16), None).unwrap_err();
    assert!(
        matches!(&err, Refusal::OverLimit(m) if m.contains("nested too deep: 16 levels")),
        "{err:?}"
    );
    // Fragments count as their fields do.
    let frag = format!("query Q {{ ...F }} fragment F on Query {}", deep(16));
    assert!(matches!(run(&frag, None), Err(Refusal::OverLimit(_))));
    // A 20-deep `ofType` chain under `__schema` is fine when introspection is on.
    let of_type = format!(
        "{{ __schema {{ types {{ fields {{ type {{ {} name {} }} }} }} }} }}",
        "ofType { ".repeat(16),
        "}".repeat(16)
    );
    assert!(run_open(&of_type).is_ok());
    assert_eq!(run(&of_type, None).unwrap_err(), Refusal::Introspection);
}

#[test]
fn introspection_is_bounded_by_count() {
    let twice = "{ a: __schema { queryType { name } } b: __schema { queryType { name } } }";
    assert!(
        matches!(run_open(twice), Err(Refusal::OverLimit(m)) if m.contains("`__schema` 2 times"))
    );
    let types: String = (0..11)
        .map(|i| format!("t{i}: __type(name: \"Query\") {{ name }} "))
        .collect();
    assert!(
        matches!(run_open(&format!("{{ {types} }}")), Err(Refusal::OverLimit(m)) if m.contains("`__type` 11 times"))
    );
}

#[test]
fn picks_the_named_operation() {
    let a = run("query A { a } mutation B { b }", Some("B")).unwrap();
    assert_eq!(a.operation_type, OperationType::Mutation);
    assert_eq!(a.operation_name.as_deref(), Some("B"));
    assert!(matches!(
        run("query A { a } query B { b }", None),
        Err(Refusal::UnknownOperation(_))
    ));
    assert!(matches!(
        run("query A { a }", Some("C")),
        Err(Refusal::UnknownOperation(_))
    ));
    assert_eq!(
        run("query A { a }", None)
            .unwrap()
            .operation_name
            .as_deref(),
        Some("A")
    );
    assert_eq!(run("{ a }", None).unwrap().operation_name, None);
}

#[test]
fn counts_aliases_including_typename() {
    let many: String = (0..31).map(|i| format!("t{i}: __typename ")).collect();
    let err = run(&format!("{{ {many} }}"), None).unwrap_err();
    assert!(matches!(err, Refusal::OverLimit(m) if m.contains("31 aliases")));
}

#[test]
fn refuses_introspection_when_off() {
    assert_eq!(
        run("{ __schema { types { name } } }", None).unwrap_err(),
        Refusal::Introspection
    );
    assert_eq!(
        run(
            "query Q { ...F } fragment F on Query { __type(name: \"Query\") { name } }",
            None
        )
        .unwrap_err(),
        Refusal::Introspection
    );
    assert!(run("{ __typename }", None).is_ok());
}

#[test]
fn fragments_are_sized_expanded() {
    let mut doubling = String::from("{ ...F0 } ");
    for i in 0..30 {
        doubling.push_str(&format!(
            "fragment F{i} on Query {{ ...F{j} ...F{j} }} ",
            j = i + 1
        ));
    }
    doubling.push_str("fragment F30 on Query { a }");
    let err = run(&doubling, None).unwrap_err();
    assert!(matches!(err, Refusal::OverLimit(m) if m.contains("over a billion")));
    // A fragment used a few times is counted each time, as validation walks it.
    let reused = "{ a: w { ...W } b: w { ...W } } fragment W on Work { id title }";
    assert!(run(reused, None).is_ok());
    assert_eq!(expanded_selections(&parse_query(reused).unwrap()), 8);
    // Cycles end the count (validation refuses them).
    let cycle = "{ ...A } fragment A on Query { a ...B } fragment B on Query { ...A }";
    assert_eq!(expanded_selections(&parse_query(cycle).unwrap()), 4);
}

#[test]
fn nesting_is_bounded_before_parsing() {
    let nested = |n: usize| format!("{}{}", "{ a ".repeat(n), "}".repeat(n));
    assert!(check_nesting(&nested(MAX_NESTING), MAX_NESTING).is_ok());
    assert!(matches!(
        check_nesting(&nested(MAX_NESTING + 1), MAX_NESTING),
        Err(Refusal::OverLimit(m)) if m.contains("64 levels")
    ));
    let list = format!("{{ a(x: {}1{}) }}", "[".repeat(70), "]".repeat(70));
    assert!(check_nesting(&list, MAX_NESTING).is_err());
    // Brackets inside strings, block strings and comments do not count.
    let quiet = format!(
        "{{ a(x: \"{0}\\\"{0}\", y: \"\"\"{0}\\\"\"\"{0}\"\"\") # {0}\n }}",
        "{[(".repeat(100)
    );
    assert!(check_nesting(&quiet, MAX_NESTING).is_ok(), "{quiet}");
    // Unbalanced text is left to the parser.
    assert!(check_nesting("}}} {", MAX_NESTING).is_ok());
}

#[test]
fn counts_directives_everywhere() {
    let many: String = (0..21).map(|_| "@skip(if: false) ").collect();
    let err = run(&format!("{{ a {many} }}"), None).unwrap_err();
    assert!(matches!(err, Refusal::OverLimit(m) if m.contains("21 directives")));
    let frag = "query Q { ...F } fragment F on Query { a @include(if: true) }";
    assert!(run(frag, None).is_ok());
}
