//! Checked documents remembered by their text: clients send the same few operations over and over, and
//! parsing one (pest) and walking it for the limits was about a tenth of a signed-in feed request's
//! instructions under callgrind. Only documents that passed every check are kept, keyed by the query text and
//! the operation name, for this instance's limits (which do not change while it runs); a refused one is
//! checked again each time, so an attacker's variations cost what they cost before and evict nothing useful
//! for long. Bounded, least recently used first out (the `lru` crate).

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;

use super::Analysis;

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

impl Documents {
    /// The checked document for `query` and `operation_name`, from memory or from `check` (kept when it
    /// passes).
    pub fn get_or_check<E>(
        &self,
        query: &str,
        operation_name: Option<&str>,
        check: impl FnOnce() -> Result<Checked, E>,
    ) -> Result<Arc<Checked>, E> {
        let key = (query.to_owned(), operation_name.map(str::to_owned));
        if let Some(found) = self.lock().get(&key) {
            return Ok(found.clone());
        }
        let checked = Arc::new(check()?);
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
    use async_graphql::parser::types::OperationType;

    fn checked(query: &str) -> Result<Checked, String> {
        let doc = async_graphql::parser::parse_query(query).map_err(|e| e.to_string())?;
        Ok(Checked {
            doc,
            analysis: Analysis {
                operation_type: OperationType::Query,
                operation_name: None,
            },
        })
    }

    #[test]
    fn a_document_is_checked_once_and_a_refused_one_every_time() {
        let documents = Documents::default();
        let mut checks = 0;
        for _ in 0..3 {
            documents
                .get_or_check("{ a }", None, || {
                    checks += 1;
                    checked("{ a }")
                })
                .unwrap();
        }
        assert_eq!(checks, 1);
        // Another operation name is another entry.
        documents
            .get_or_check("{ a }", Some("A"), || {
                checks += 1;
                checked("{ a }")
            })
            .unwrap();
        assert_eq!(checks, 2);
        for _ in 0..2 {
            assert!(
                documents
                    .get_or_check("{ a", None, || {
                        checks += 1;
                        checked("{ a")
                    })
                    .is_err()
            );
        }
        assert_eq!(checks, 4);
    }
}
