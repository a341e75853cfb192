//! Building blocks every domain's GraphQL part uses: the viewer and guards, global ids, and context access.

pub mod ids;
pub mod viewer;

use async_graphql::Context;

use crate::config::Config;
use crate::db::Pool;

/// The complexity of a paginated list field, for async-graphql's complexity limit: its selection counts once
/// per item the page can hold (`first`, 20 when absent), so `works(first: 100) { author { works(first: 100)
/// { … } } }` costs what it would fetch, not its text's length. A `first` outside 1..=100 counts once: the
/// resolver refuses it (`BAD_USER_INPUT` on `first`) before anything under it runs, and that error says more
/// than a complexity refusal would. Capped far below `usize::MAX`, because async-graphql adds sibling costs
/// without saturating.
pub fn page_cost(first: Option<i32>, child_complexity: usize) -> usize {
    const CAP: usize = 1 << 40;
    let items = match first {
        None => 20,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(_) => 1,
    };
    items
        .saturating_mul(child_complexity)
        .saturating_add(1)
        .min(CAP)
}

/// The pool, from the schema's data.
pub fn pool<'a>(ctx: &Context<'a>) -> &'a Pool {
    ctx.data_unchecked::<Pool>()
}

/// The configuration, from the schema's data.
pub fn config<'a>(ctx: &Context<'a>) -> &'a Config {
    ctx.data_unchecked::<std::sync::Arc<Config>>()
}

#[cfg(test)]
mod tests {
    use super::page_cost;

    #[test]
    fn a_page_costs_its_selection_once_per_item() {
        assert_eq!(page_cost(None, 10), 201);
        assert_eq!(page_cost(Some(5), 10), 51);
        assert_eq!(page_cost(Some(100), 10), 1_001);
        // Out of range: refused by the resolver with a better error, so it costs one item here.
        assert_eq!(page_cost(Some(1_000), 10), 11);
        assert_eq!(page_cost(Some(-3), 10), 11);
        assert_eq!(page_cost(Some(100), usize::MAX), 1 << 40);
    }
}
