//! The house has one direction: this test reads `src/` and fails on an import that points up or sideways, as
//! ArchUnit does for Java. Each top-level module stands on one floor of [`FLOORS`], top first; a module may
//! name (`crate::<module>`) only modules on floors below its own. Test modules (`#[cfg(test)]`) are not read.
//!
//! The GraphQL types of every domain live together in `schema`, one floor above the domains, because the graph
//! names itself in circles (a `User` has works, a `Work` has an author). Below it each domain names only lower
//! ones; where a lower domain needs what an upper one knows, it declares a small trait the upper one implements
//! (`realtime::service::Recipients`, implemented by `accounts::Audience`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top floor first. Building blocks sit below every domain; the domains below `schema`, in the order in which
/// one may call the next (rights gathers and erases accounts and content; accounts records consent through
/// privacy and posts notices through realtime).
const FLOORS: &[&str] = &[
    "main",
    "cli",
    "app",
    "http",
    "state",
    "schema",
    "demo",
    "rights",
    "accounts",
    "content",
    "privacy",
    "realtime",
    "media",
    "messaging",
    "push",
    "graphql",
    "crypto",
    "broker",
    "backoff",
    "client",
    "clock",
    "error",
    "db",
    "telemetry",
    "config",
];

/// Exported macros live at the crate root; each belongs to the module that defines it.
const MACROS: &[(&str, &str)] = &[("text_enum", "db")];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`src/accounts/graphql/me.rs` -> `accounts`).
fn module_of(relative: &Path) -> String {
    let first = relative
        .components()
        .nth(1)
        .unwrap()
        .as_os_str()
        .to_string_lossy()
        .to_string();
    first.trim_end_matches(".rs").to_string()
}

/// The modules a file names as `crate::<module>`, outside comments and its test module.
fn named_modules(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or("");
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
            rest = after;
        }
    }
    out
}

#[test]
fn imports_point_only_down() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    files.sort();
    let floor = |m: &str| FLOORS.iter().position(|f| *f == m);
    let mut upward = BTreeSet::new();
    let mut unplaced = Vec::new();
    for path in &files {
        let relative = path.strip_prefix(root).unwrap();
        let shown = relative.to_string_lossy().replace('\\', "/");
        if shown == "src/lib.rs" {
            continue;
        }
        let module = module_of(relative);
        let Some(own) = floor(&module) else {
            unplaced.push(format!("{shown} (module `{module}` is on no floor)"));
            continue;
        };
        for named in named_modules(&std::fs::read_to_string(path).unwrap()) {
            let named = MACROS
                .iter()
                .find(|(m, _)| *m == named)
                .map_or(named.clone(), |(_, home)| home.to_string());
            if named == module {
                continue;
            }
            match floor(&named) {
                None => unplaced.push(format!(
                    "{shown} names `crate::{named}`, which is on no floor"
                )),
                Some(theirs) if theirs <= own => {
                    upward.insert((shown.clone(), named));
                }
                Some(_) => {}
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "put every module on a floor:\n{}",
        unplaced.join("\n")
    );
    let upward: Vec<String> = upward
        .into_iter()
        .map(|(f, m)| format!("{f} names `crate::{m}`, on its own floor or above"))
        .collect();
    assert!(
        upward.is_empty(),
        "imports that point up or sideways:\n{}",
        upward.join("\n")
    );
}

#[test]
fn the_reader_sees_what_it_should() {
    let text = "use crate::db::Pool; // crate::http is only mentioned here\nfn f() { crate::error::AppError::Unauthenticated; }\n#[cfg(test)]\nmod tests { use crate::app; }";
    assert_eq!(
        named_modules(text).into_iter().collect::<Vec<_>>(),
        ["db", "error"]
    );
    assert_eq!(module_of(Path::new("src/schema/accounts/me.rs")), "schema");
    assert_eq!(module_of(Path::new("src/app.rs")), "app");
}

/// Files stay small enough to read in one sitting: none in `src/` passes 500 lines (the generated
/// `src/db/schema.rs` aside).
#[test]
fn no_source_file_passes_500_lines() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let long: Vec<String> = files
        .iter()
        .filter(|p| !p.ends_with("src/db/schema.rs"))
        .filter_map(|p| {
            let lines = std::fs::read_to_string(p).unwrap().lines().count();
            (lines > 500).then(|| {
                format!(
                    "{} has {lines} lines",
                    p.strip_prefix(root).unwrap().display()
                )
            })
        })
        .collect();
    assert!(long.is_empty(), "split these:\n{}", long.join("\n"));
}
