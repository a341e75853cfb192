//! Building blocks every domain's GraphQL part uses: the viewer and guards, global ids, and context access.

pub mod ids;
pub mod viewer;

use async_graphql::Context;

use crate::config::Config;
use crate::db::Pool;

/// The pool, from the schema's data.
pub fn pool<'a>(ctx: &Context<'a>) -> &'a Pool {
    ctx.data_unchecked::<Pool>()
}

/// The configuration, from the schema's data.
pub fn config<'a>(ctx: &Context<'a>) -> &'a Config {
    ctx.data_unchecked::<std::sync::Arc<Config>>()
}
