//! Checked documents remembered by their text: clients send the same few operations over and over, and
//! parsing one (pest) and walking it for the limits was about a tenth of a signed-in feed request's
//! instructions under callgrind. Only documents that passed every check are kept, keyed by the query text and
//! the operation name, for this instance's limits (which do not change while it runs); a refused one is
//! checked again each time, so an attacker's variations cost what they cost before and evict nothing useful
//! for long. Bounded, least recently used first out (the `lru` crate).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;

use super::{Analysis, MAX_NESTING, Refusal, analyze, check_nesting};
use crate::config::Limits;

/// How many checked documents one instance keeps.
const CAPACITY: usize = 512;

/// A document that passed the checks, with what they found.
pub struct Checked {
    pub doc: ExecutableDocument,
    pub analysis: Analysis,
}

type Key = (String, Option<String>);

/// The remembered documents; cheap to clone.
#[derive(Clone)]
pub struct Documents {
    cache: Arc<Mutex<lru::LruCache<Key, Arc<Checked>>>>,
}

impl Default for Documents {
    fn default() -> Self {
        let capacity = NonZeroUsize::new(CAPACITY).expect("a positive capacity");
        Documents {
            cache: Arc::new(Mutex::new(lru::LruCache::new(capacity))),
        }
    }
}

/// Why a document was not checked in: it does not parse, or a check refused it.
#[derive(Debug)]
pub enum Rejected {
    Parse(String),
    Refused(Refusal),
}

impl Documents {
    /// The checked document for `query` and `operation_name`: from memory, or checked now (the nesting of the
    /// text, the parse, then [`analyze`] under `limits`) and kept when it passes.
    pub fn check(
        &self,
        query: &str,
        operation_name: Option<&str>,
        limits: &Limits,
        introspection: bool,
    ) -> Result<Arc<Checked>, Rejected> {
        let key = (query.to_owned(), operation_name.map(str::to_owned));
        if let Some(found) = self.lock().get(&key) {
            return Ok(found.clone());
        }
        check_nesting(query, MAX_NESTING).map_err(Rejected::Refused)?;
        let doc = async_graphql::parser::parse_query(query)
            .map_err(|e| Rejected::Parse(format!("the query cannot be parsed: {e}")))?;
        let analysis =
            analyze(&doc, operation_name, limits, introspection).map_err(Rejected::Refused)?;
        let checked = Arc::new(Checked { doc, analysis });
        self.lock().put(key, checked.clone());
        Ok(checked)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, lru::LruCache<Key, Arc<Checked>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_document_is_checked_once_and_a_refused_one_every_time() {
        let documents = Documents::default();
        let limits = Limits::default();
        let check = |query: &str, name: Option<&str>| documents.check(query, name, &limits, true);
        let two = "query A { a } query B { b }";
        let first = check(two, Some("A")).unwrap();
        assert!(Arc::ptr_eq(&first, &check(two, Some("A")).unwrap()));
        // Another operation name is another entry, with its own analysis.
        let other = check(two, Some("B")).unwrap();
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(other.analysis.operation_name.as_deref(), Some("B"));
        for _ in 0..2 {
            assert!(matches!(check("{ a", None), Err(Rejected::Parse(_))));
            assert!(matches!(
                check(two, Some("C")),
                Err(Rejected::Refused(Refusal::UnknownOperation(_)))
            ));
        }
    }
}
