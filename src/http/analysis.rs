//! Checks on a parsed document that async-graphql does not make: which operation runs (and whether it is a
//! mutation, for GET), and limits on aliases, directives and field selections. Aliases are counted because
//! aliased `__typename` costs nothing in complexity and would otherwise escape the complexity limit.

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet,
};

use crate::config::Limits;

/// What a document asks for.
#[derive(Debug, Clone)]
pub struct Analysis {
    pub operation_type: OperationType,
    /// The operation name from the document (for metrics), when the chosen operation has one.
    pub operation_name: Option<String>,
}

/// Why a document is refused before execution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// No operation, or `operationName` names none of the document's operations.
    UnknownOperation(String),
    /// Over a configured limit.
    OverLimit(String),
    /// Introspection while it is turned off.
    Introspection,
}

impl Refusal {
    pub fn message(&self) -> &str {
        match self {
            Refusal::UnknownOperation(m) | Refusal::OverLimit(m) => m,
            Refusal::Introspection => "introspection is turned off on this server",
        }
    }
}

#[derive(Default)]
struct Counts {
    aliases: usize,
    directives: usize,
    fields: usize,
    introspection: bool,
}

/// Selects the operation and checks the document against `limits` (and refuses `__schema`/`__type` when
/// introspection is off, rather than answering null as async-graphql does).
pub fn analyze(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    limits: &Limits,
    introspection: bool,
) -> Result<Analysis, Refusal> {
    // An anonymous operation stands alone (`Single`); named ones are looked up by name.
    let (name, op) = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), None) => (None, op),
        (DocumentOperations::Single(_), Some(wanted)) => return Err(unknown(wanted)),
        (DocumentOperations::Multiple(ops), Some(wanted)) => {
            match ops.iter().find(|(n, _)| n.as_str() == wanted) {
                Some((n, op)) => (Some(n.to_string()), op),
                None => return Err(unknown(wanted)),
            }
        }
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            let (n, op) = ops.iter().next().expect("one operation");
            (Some(n.to_string()), op)
        }
        (DocumentOperations::Multiple(_), None) => {
            return Err(Refusal::UnknownOperation(
                "the document holds several operations: say which one to run with operationName"
                    .into(),
            ));
        }
    };

    let mut counts = Counts::default();
    for (_, op) in doc.operations.iter() {
        counts.directives += op.node.directives.len();
        for var in &op.node.variable_definitions {
            counts.directives += var.node.directives.len();
        }
        count_set(&op.node.selection_set.node, &mut counts);
    }
    for fragment in doc.fragments.values() {
        counts.directives += fragment.node.directives.len();
        count_set(&fragment.node.selection_set.node, &mut counts);
    }
    if counts.introspection && !introspection {
        return Err(Refusal::Introspection);
    }
    if counts.aliases > limits.max_aliases {
        return Err(Refusal::OverLimit(format!(
            "the query uses {} aliases; at most {} are allowed",
            counts.aliases, limits.max_aliases
        )));
    }
    if counts.directives > limits.max_directives {
        return Err(Refusal::OverLimit(format!(
            "the query uses {} directives; at most {} are allowed",
            counts.directives, limits.max_directives
        )));
    }
    if counts.fields > limits.max_complexity {
        return Err(Refusal::OverLimit(format!(
            "the query selects {} fields; at most {} are allowed",
            counts.fields, limits.max_complexity
        )));
    }
    Ok(Analysis {
        operation_type: op.node.ty,
        operation_name: name,
    })
}

fn unknown(wanted: &str) -> Refusal {
    Refusal::UnknownOperation(format!("the document has no operation named `{wanted}`"))
}

fn count_set(set: &SelectionSet, counts: &mut Counts) {
    for item in &set.items {
        match &item.node {
            Selection::Field(f) => {
                counts.fields += 1;
                let name = f.node.name.node.as_str();
                counts.introspection |= name == "__schema" || name == "__type";
                counts.aliases += usize::from(f.node.alias.is_some());
                counts.directives += f.node.directives.len();
                count_set(&f.node.selection_set.node, counts);
            }
            Selection::FragmentSpread(s) => counts.directives += s.node.directives.len(),
            Selection::InlineFragment(i) => {
                counts.directives += i.node.directives.len();
                count_set(&i.node.selection_set.node, counts);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::parse_query;

    fn run(q: &str, name: Option<&str>) -> Result<Analysis, Refusal> {
        analyze(&parse_query(q).unwrap(), name, &Limits::default(), false)
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
    fn counts_directives_everywhere() {
        let many: String = (0..21).map(|_| "@skip(if: false) ").collect();
        let err = run(&format!("{{ a {many} }}"), None).unwrap_err();
        assert!(matches!(err, Refusal::OverLimit(m) if m.contains("21 directives")));
        let frag = "query Q { ...F } fragment F on Query { a @include(if: true) }";
        assert!(run(frag, None).is_ok());
    }
}
