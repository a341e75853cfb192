//! Assembles the one schema from the domains' parts, with its limits.

use async_graphql::{Context, ID, Interface, MergedObject, MergedSubscription, Object, Schema};

use crate::accounts::Accounts;
use crate::accounts::graphql::{AccountsMutation, AccountsQuery, ThirdPartyMutation, User};
use crate::config::Config;
use crate::db::Pool;
use crate::graphql::ids;
use crate::privacy::crypto::DataKeys;
use crate::privacy::graphql::{PrivacyPolicy, PrivacyQuery};
use crate::realtime::broker::Broker;
use crate::realtime::graphql::RealtimeSubscription;

/// Every type with a global id.
// A `Node` lives for one field resolution; boxing the larger variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Interface)]
#[graphql(field(
    name = "id",
    ty = "ID",
    desc = "Global, opaque identifier; `node(id:)` resolves it."
))]
pub enum Node {
    PrivacyPolicy(PrivacyPolicy),
    User(User),
}

#[derive(Default)]
pub struct NodeQuery;

/// Global-id lookup.
#[Object]
impl NodeQuery {
    /// Any object by its global id; null when nothing has that id (or the viewer may not see it).
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        let Some((kind, key)) = ids::decode(&id) else {
            return Err(crate::error::AppError::bad_input("id", "not a valid global id").into());
        };
        Ok(match kind.as_str() {
            "PrivacyPolicy" => crate::privacy::graphql::node(ctx, &key)
                .await?
                .map(Node::PrivacyPolicy),
            "User" => match key.parse() {
                Ok(id) => crate::accounts::graphql::user_node(ctx, id)
                    .await?
                    .map(Node::User),
                Err(_) => None,
            },
            _ => None,
        })
    }
}

/// The root query type: everything a visitor, member, staff member or partner can read.
#[derive(MergedObject, Default)]
pub struct Query(AccountsQuery, PrivacyQuery, NodeQuery);

/// The root mutation type.
#[derive(MergedObject, Default)]
pub struct Mutation(AccountsMutation, ThirdPartyMutation);

/// The root subscription type: live updates over WebSocket.
#[derive(MergedSubscription, Default)]
pub struct Subscription(RealtimeSubscription);

pub type PorticoSchema = Schema<Query, Mutation, Subscription>;

fn builder() -> async_graphql::SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
}

/// The schema a running gateway serves, with its data and the configured limits.
pub fn build(
    config: &Config,
    pool: Pool,
    broker: Broker,
    keys: DataKeys,
    accounts: Accounts,
) -> PorticoSchema {
    let limits = &config.limits;
    let mut b = builder()
        .data(pool)
        .data(broker)
        .data(keys)
        .data(accounts)
        .data(std::sync::Arc::new(config.clone()))
        .limit_depth(limits.max_depth)
        .limit_recursive_depth(limits.max_depth.max(32))
        .limit_complexity(limits.max_complexity)
        .limit_directives(limits.max_directives);
    if !config.introspection {
        b = b.disable_introspection();
    }
    if config.is_production() {
        b = b.disable_suggestions();
    }
    b.finish()
}

/// The SDL of the schema (what `portico schema` prints and `schema.graphql` holds).
pub fn sdl() -> String {
    builder().finish().sdl()
}
