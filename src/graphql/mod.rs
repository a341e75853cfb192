//! Building blocks every domain's GraphQL part uses: the viewer and guards, global ids, cursors, context
//! access, and the checks a document passes before it runs (`analysis`, with the checked documents remembered).

pub mod analysis;
pub mod cursor;
pub mod ids;
pub mod viewer;

use async_graphql::Context;

use crate::config::Config;
use crate::db::Pool;

/// A connection's page when `first` is absent.
pub const PAGE_DEFAULT: i64 = 20;
/// The largest page any connection serves.
pub const PAGE_MAX: i64 = 100;

/// The page size of every connection: `first` (20 when absent) from 0 to 100, as Relay allows (0 answers
/// `pageInfo` alone); anything else is `BAD_USER_INPUT` on `first`.
pub fn page_size(first: Option<i32>) -> Result<i64, crate::error::AppError> {
    match first.map(i64::from) {
        None => Ok(PAGE_DEFAULT),
        Some(n) if (0..=PAGE_MAX).contains(&n) => Ok(n),
        Some(_) => Err(crate::error::AppError::bad_input(
            "first",
            format!("first must be between 0 and {PAGE_MAX}"),
        )),
    }
}

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
    use super::{page_cost, page_size};

    #[test]
    fn pages_hold_0_to_100_items_and_20_by_default() {
        assert_eq!(page_size(None).unwrap(), 20);
        assert_eq!(page_size(Some(0)).unwrap(), 0);
        assert_eq!(page_size(Some(100)).unwrap(), 100);
        assert!(page_size(Some(101)).is_err() && page_size(Some(-1)).is_err());
    }

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
