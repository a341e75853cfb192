//! Prepared-statement caching for queries written as SQL text.
//!
//! diesel prepares a query once per connection and reuses the statement when the query's type identifies it
//! (the query DSL), but it never caches SQL it cannot see through: `sql_query` and `dsl::sql` fragments are
//! parsed and planned by PostgreSQL on every run, one more round trip each time. That is the right default for
//! SQL built at run time, and a waste for a constant statement on a hot path (the session check of every
//! signed-in request, the search page, the authors of a feed with their consent). [`Cached`] marks a query
//! whose text comes from a fixed set, so the connection caches its prepared statement keyed by that text and
//! the bind types.

use diesel::QueryResult;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};

/// A query whose SQL text is one of a fixed few, so its prepared statement may be cached per connection.
/// Never wrap SQL that embeds values: every distinct text would stay cached for the connection's life.
#[derive(Debug, Clone, Copy)]
pub struct Cached<Q>(pub Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Cached<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No type-level id: the statement cache then keys the statement by its SQL text.
impl<Q> QueryId for Cached<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Cached<Q> {
    type SqlType = Q::SqlType;
}
