//! Checks on a parsed document that async-graphql does not make: which operation runs (and whether it is a
//! mutation, for GET), and limits on depth, aliases, directives and field selections. Aliases are counted
//! because aliased `__typename` costs nothing in complexity and would otherwise escape the complexity limit.
//!
//! Depth is measured here rather than by async-graphql's `limit_depth`, because introspection must not count:
//! graphql-js's `getIntrospectionQuery()` (what GraphiQL, codegen and IDE plugins send) nests 14 levels, and
//! an introspection subtree can never lead back to application data, so its cost is bounded by the schema's
//! size, not by the data. Introspection is bounded instead by its own rules: at most one `__schema` and a few
//! `__type` fields per document, and the document-wide field and expanded-selection counts.

mod documents;
pub use documents::{Checked, Documents, Rejected};

use std::collections::HashMap;

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

/// How many `__type` fields one document may select (GraphiQL and codegen send none or one).
pub const MAX_TYPE_LOOKUPS: usize = 10;

#[derive(Default)]
struct Counts {
    aliases: usize,
    directives: usize,
    fields: usize,
    schemas: usize,
    types: usize,
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
    if counts.schemas + counts.types > 0 && !introspection {
        return Err(Refusal::Introspection);
    }
    if counts.schemas > 1 {
        return Err(Refusal::OverLimit(format!(
            "the query selects `__schema` {} times; once is enough",
            counts.schemas
        )));
    }
    if counts.types > MAX_TYPE_LOOKUPS {
        return Err(Refusal::OverLimit(format!(
            "the query selects `__type` {} times; at most {MAX_TYPE_LOOKUPS} are allowed",
            counts.types
        )));
    }
    let depth = application_depth(doc);
    if depth > limits.max_depth {
        return Err(Refusal::OverLimit(format!(
            "the query is nested too deep: {depth} levels, at most {} are allowed",
            limits.max_depth
        )));
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
    let expanded = expanded_selections(doc);
    if expanded > limits.max_complexity {
        return Err(Refusal::OverLimit(format!(
            "the query makes {} selections once its fragments are expanded; at most {} are allowed",
            if expanded >= 1_000_000_000 {
                "over a billion".to_string()
            } else {
                expanded.to_string()
            },
            limits.max_complexity
        )));
    }
    Ok(Analysis {
        operation_type: op.node.ty,
        operation_name: name,
    })
}

/// How deeply braces, brackets and parentheses may nest in a query's text. The parser recurses once per
/// level, so a query of a few thousand nested selections (well under the length limit) would overflow a
/// thread's stack and abort the process; no useful operation comes near this.
pub const MAX_NESTING: usize = crate::config::MAX_NESTING;

/// Refuses a query whose `{`, `[` and `(` nest deeper than `max`, from its text alone, before it is parsed.
/// Strings, block strings and comments are skipped, so their contents never count.
pub fn check_nesting(query: &str, max: usize) -> Result<(), Refusal> {
    let bytes = query.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > max {
                    return Err(Refusal::OverLimit(format!(
                        "the query nests braces, brackets or parentheses more than {max} levels deep"
                    )));
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// How many selections the operations make with every fragment spread expanded in place, as the validation
/// of depth, complexity and recursion walks them. Each fragment is sized once, so this is linear in the
/// document, while the walk it guards is not: thirty fragments that each spread the next twice make a
/// kilobyte document whose walk meets a billion selections. Saturates; a spread that closes a cycle counts
/// nothing here (validation refuses cycles).
fn expanded_selections(doc: &ExecutableDocument) -> usize {
    let mut sizes = HashMap::new();
    doc.operations.iter().fold(0usize, |total, (_, op)| {
        total.saturating_add(expanded_set(
            doc,
            &op.node.selection_set.node,
            &mut sizes,
            &mut Vec::new(),
        ))
    })
}

fn expanded_set<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    sizes: &mut HashMap<&'a str, usize>,
    path: &mut Vec<&'a str>,
) -> usize {
    let mut total = 0usize;
    for item in &set.items {
        let inner = match &item.node {
            Selection::Field(f) => expanded_set(doc, &f.node.selection_set.node, sizes, path),
            Selection::InlineFragment(i) => {
                expanded_set(doc, &i.node.selection_set.node, sizes, path)
            }
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                match (
                    sizes.get(name),
                    doc.fragments.get(&s.node.fragment_name.node),
                ) {
                    (Some(&size), _) => size,
                    (None, Some(fragment))
                        if !path.contains(&name) && path.len() <= MAX_NESTING =>
                    {
                        path.push(name);
                        let size =
                            expanded_set(doc, &fragment.node.selection_set.node, sizes, path);
                        path.pop();
                        sizes.insert(name, size);
                        size
                    }
                    _ => 0,
                }
            }
        };
        total = total.saturating_add(1).saturating_add(inner);
    }
    total
}

/// The deepest chain of application fields any operation selects, with fragment spreads expanded and counted
/// as async-graphql counts depth (each field one level, fragments none). An introspection field (`__schema`,
/// `__type`) counts as one level and nothing below it does.
fn application_depth(doc: &ExecutableDocument) -> usize {
    let mut depths = HashMap::new();
    doc.operations
        .iter()
        .map(|(_, op)| {
            depth_of(
                doc,
                &op.node.selection_set.node,
                &mut depths,
                &mut Vec::new(),
            )
        })
        .max()
        .unwrap_or(0)
}

fn depth_of<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    depths: &mut HashMap<&'a str, usize>,
    path: &mut Vec<&'a str>,
) -> usize {
    let mut deepest = 0;
    for item in &set.items {
        let depth = match &item.node {
            Selection::Field(f) => match f.node.name.node.as_str() {
                "__schema" | "__type" => 1,
                _ => 1 + depth_of(doc, &f.node.selection_set.node, depths, path),
            },
            Selection::InlineFragment(i) => depth_of(doc, &i.node.selection_set.node, depths, path),
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                match (
                    depths.get(name),
                    doc.fragments.get(&s.node.fragment_name.node),
                ) {
                    (Some(&depth), _) => depth,
                    (None, Some(fragment))
                        if !path.contains(&name) && path.len() <= MAX_NESTING =>
                    {
                        path.push(name);
                        let depth = depth_of(doc, &fragment.node.selection_set.node, depths, path);
                        path.pop();
                        depths.insert(name, depth);
                        depth
                    }
                    _ => 0,
                }
            }
        };
        deepest = deepest.max(depth);
    }
    deepest
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
                counts.schemas += usize::from(name == "__schema");
                counts.types += usize::from(name == "__type");
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
mod tests;
