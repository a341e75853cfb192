//! The realtime domain's part of the schema: subscriptions.

use async_graphql::{Context, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::broker::{Broker, BrokerEvent};
use crate::graphql::pool;
use crate::privacy::graphql::PrivacyPolicy;
use crate::privacy::service as privacy;

#[derive(Default)]
pub struct RealtimeSubscription;

/// Live updates pushed over WebSocket (`/graphql/ws`).
#[Subscription]
impl RealtimeSubscription {
    /// The privacy policy in force now, then each newly published version as it is published, so clients
    /// can ask for renewed consent without polling.
    async fn privacy_policy(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<PrivacyPolicy>>> {
        let pool = pool(ctx).clone();
        let mut events = ctx.data_unchecked::<Broker>().subscribe();
        let first = privacy::current_policy(&pool).await?;
        Ok(async_stream::try_stream! {
            let mut last = first.as_ref().map(|p| p.version.id);
            if let Some(policy) = first {
                yield PrivacyPolicy(policy);
            }
            loop {
                match events.recv().await {
                    Ok(BrokerEvent::Notify { topic, .. }) if topic != "policy" => continue,
                    Ok(_) | Err(RecvError::Lagged(_)) => {}
                    Err(RecvError::Closed) => break,
                }
                let current = privacy::current_policy(&pool).await?;
                if let Some(policy) = current
                    && Some(policy.version.id) != last
                {
                    last = Some(policy.version.id);
                    yield PrivacyPolicy(policy);
                }
            }
        })
    }
}
