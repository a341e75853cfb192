//! De-identified statistics for staff and the aggregate figures advertising partners receive: counts only,
//! with every group smaller than k = 10 suppressed.

use async_graphql::{Context, Enum, Object, SimpleObject};

use crate::graphql::pool;
use crate::graphql::viewer::{Role, RoleGuard};
use crate::privacy::statistics::{self, Dimension, K_ANONYMITY, Suppressed};

/// What advertising reach can be grouped by.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ReachDimension {
    /// The city members gave at registration.
    City,
    /// The occupation members gave at registration.
    Occupation,
    /// The gender members stated (`FEMALE`, `MALE`, `OTHER`, `UNDISCLOSED`).
    Gender,
}

impl From<ReachDimension> for Dimension {
    fn from(d: ReachDimension) -> Self {
        match d {
            ReachDimension::City => Dimension::City,
            ReachDimension::Occupation => Dimension::Occupation,
            ReachDimension::Gender => Dimension::Gender,
        }
    }
}

/// What sign-up statistics can be grouped by (what the `statistics` purpose covers).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum StatisticDimension {
    /// The city given at registration.
    City,
    /// The occupation given at registration.
    Occupation,
}

impl From<StatisticDimension> for Dimension {
    fn from(d: StatisticDimension) -> Self {
        match d {
            StatisticDimension::City => Dimension::City,
            StatisticDimension::Occupation => Dimension::Occupation,
        }
    }
}

/// One group of an advertising aggregate.
#[derive(SimpleObject, Debug, PartialEq, Eq)]
pub struct AggregateGroup {
    /// The group's value of the dimension; null for the one group that totals the groups too small to show.
    pub key: Option<String>,
    /// How many accounts are in it (always at least 10).
    pub count: i32,
}

fn int(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The groups an advertiser sees: those of at least k accounts, then, when the suppressed ones together reach
/// k, their total under a null key (a smaller remainder would itself be a group under k, so it is left out).
pub fn aggregate_groups(figures: Suppressed) -> Vec<AggregateGroup> {
    let mut out: Vec<AggregateGroup> = figures
        .groups
        .into_iter()
        .map(|g| AggregateGroup {
            key: g.keys.into_iter().next(),
            count: int(g.count),
        })
        .collect();
    if figures.suppressed_count >= K_ANONYMITY {
        out.push(AggregateGroup {
            key: None,
            count: int(figures.suppressed_count),
        });
    }
    out
}

/// One group of a statistic.
#[derive(SimpleObject)]
pub struct StatisticGroup {
    /// The group's values, one per dimension asked for, in the order asked.
    pub keys: Vec<String>,
    /// How many are in it (always at least 10).
    pub count: i32,
}

/// A statistic after k-anonymity suppression.
#[derive(SimpleObject)]
pub struct StatisticTable {
    /// The groups of at least 10, largest first.
    pub groups: Vec<StatisticGroup>,
    /// How many groups were left out for being smaller than 10.
    pub suppressed_groups: i32,
    /// How many were counted in the groups left out, together.
    pub suppressed_count: i32,
}

impl From<Suppressed> for StatisticTable {
    fn from(s: Suppressed) -> Self {
        StatisticTable {
            groups: s
                .groups
                .into_iter()
                .map(|g| StatisticGroup {
                    keys: g.keys,
                    count: int(g.count),
                })
                .collect(),
            suppressed_groups: int(s.suppressed_groups),
            suppressed_count: int(s.suppressed_count),
        }
    }
}

pub struct PrivacyStatistics;

/// De-identified statistics (privacy policy 3.3): counts without any identifier, groups under 10 suppressed.
#[Object]
impl PrivacyStatistics {
    /// The smallest group any statistic or aggregate shows (k).
    async fn k(&self) -> i32 {
        int(K_ANONYMITY)
    }

    /// Accounts (not erased) whose current answer for the `statistics` purpose is a grant, grouped by the
    /// dimensions named (a cross-tabulation when both).
    async fn sign_ups(
        &self,
        ctx: &Context<'_>,
        by: Vec<StatisticDimension>,
    ) -> async_graphql::Result<StatisticTable> {
        let dims: Vec<Dimension> = by.into_iter().map(Dimension::from).collect();
        Ok(statistics::sign_ups(pool(ctx), &dims).await?.into())
    }

    /// Views of published works per category key (views are counted only with consent and carry no
    /// identity); categories with fewer than 10 views are suppressed.
    async fn views_by_category(&self, ctx: &Context<'_>) -> async_graphql::Result<StatisticTable> {
        Ok(statistics::views_by_category(pool(ctx)).await?.into())
    }
}

#[derive(Default)]
pub struct StatisticsQuery;

/// Statistics for staff.
#[Object]
impl StatisticsQuery {
    /// De-identified statistics (staff).
    #[graphql(guard = "RoleGuard { min: Role::Staff }")]
    async fn privacy_statistics(&self) -> PrivacyStatistics {
        PrivacyStatistics
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::privacy::statistics::Group;

    fn figures(suppressed_count: i64) -> Suppressed {
        Suppressed {
            groups: vec![Group {
                keys: vec!["Hangzhou".into()],
                count: 12,
            }],
            suppressed_groups: 3,
            suppressed_count,
        }
    }

    #[test]
    fn a_remainder_under_k_is_left_out() {
        assert_eq!(
            aggregate_groups(figures(9)),
            vec![AggregateGroup {
                key: Some("Hangzhou".into()),
                count: 12
            }]
        );
    }

    #[test]
    fn a_remainder_of_k_or_more_is_one_null_group() {
        let groups = aggregate_groups(figures(10));
        assert_eq!(
            groups[1],
            AggregateGroup {
                key: None,
                count: 10
            }
        );
    }
}
