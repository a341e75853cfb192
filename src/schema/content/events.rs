//! `recordEvent`: page views and clicks, counted only with consent to analytics and stored without identity.

use async_graphql::{Context, Enum, ID, Object};

use crate::content::views::{self, CookieConsent, Requester, Target};
use crate::graphql::pool;
use crate::graphql::viewer::Viewer;

/// What happened on a page.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum EventKind {
    /// The page of a work or article was viewed.
    View,
    /// Something on that page was clicked.
    Click,
}

impl From<EventKind> for views::EventKind {
    fn from(k: EventKind) -> Self {
        match k {
            EventKind::View => views::EventKind::View,
            EventKind::Click => views::EventKind::Click,
        }
    }
}

#[derive(Default)]
pub struct EventsMutation;

/// View and click counting.
#[Object]
impl EventsMutation {
    /// Counts a view or click of a published work or article when the viewer consented to `analytics` (members
    /// in their consents, visitors in the `portico_consent` cookie). Nothing about who asked is stored.
    /// Returns whether the event was counted; an unknown target is `NOT_FOUND`.
    async fn record_event(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "VIEW or CLICK.")] kind: EventKind,
        #[graphql(desc = "A `Work` or `Article` id.")] target: ID,
    ) -> async_graphql::Result<bool> {
        let target = Target::parse(&target)?;
        let who = match &Viewer::from_ctx(ctx).account {
            Some(signed_in) => Requester::Member(signed_in.account_id),
            None => Requester::Visitor {
                cookie_consent: ctx.data_opt::<CookieConsent>().is_some_and(|c| c.analytics),
            },
        };
        Ok(views::record(pool(ctx), target, kind.into(), who).await?)
    }
}
