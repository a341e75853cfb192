//! Third-party sign-in mutations: WeChat, Weibo and QQ.

use async_graphql::{Context, Object, SimpleObject};

use super::mutations::{AuthPayload, client, payload, signed_in};
use super::{Me, ThirdPartyProvider, accounts};
use crate::accounts::oauth::ProviderKind;
use crate::graphql::viewer::Viewer;

/// Where to send the user to sign in with a provider.
#[derive(SimpleObject)]
pub struct ThirdPartyStart {
    /// The provider's authorization page.
    pub authorize_url: String,
    /// A signed, single-use value the provider hands back with the code; pass it to the completing mutation.
    pub state: String,
}

fn kind(p: ThirdPartyProvider) -> ProviderKind {
    match p {
        ThirdPartyProvider::Wechat => ProviderKind::Wechat,
        ThirdPartyProvider::Weibo => ProviderKind::Weibo,
        ThirdPartyProvider::Qq => ProviderKind::Qq,
    }
}

#[derive(Default)]
pub struct ThirdPartyMutation;

/// Sign-in with WeChat, Weibo or QQ.
#[Object]
impl ThirdPartyMutation {
    /// Starts a sign-in with a provider. Signed in, it starts binding that provider to this account instead.
    /// A visitor who may be new gives what a new account needs here: the consents (the current policy's
    /// required purposes, plus `third-party-profile` to let us read nickname, avatar and gender from the
    /// provider) and `adultConfirmed: true` (18 or older).
    async fn start_third_party_login(
        &self,
        ctx: &Context<'_>,
        provider: ThirdPartyProvider,
        redirect_uri: String,
        consents: Option<Vec<String>>,
        policy_version: Option<String>,
        adult_confirmed: Option<bool>,
    ) -> async_graphql::Result<ThirdPartyStart> {
        let account = Viewer::from_ctx(ctx).account.as_ref().map(|s| s.account_id);
        let answers = crate::accounts::third_party::NewcomerAnswers {
            consents: consents.unwrap_or_default(),
            policy_version,
            adult_confirmed: adult_confirmed.unwrap_or(false),
        };
        let started = accounts(ctx)
            .start_third_party(kind(provider), &redirect_uri, account, answers)
            .await?;
        Ok(ThirdPartyStart {
            authorize_url: started.authorize_url,
            state: started.state,
        })
    }

    /// Completes a sign-in with the provider's code: signs in the bound account, or creates one. A new account
    /// needs `adultConfirmed: true`, here or when the sign-in started, and binds a phone number
    /// (`changePhone`, see `Me.needsPhone`) before it publishes.
    async fn complete_third_party_login(
        &self,
        ctx: &Context<'_>,
        provider: ThirdPartyProvider,
        code: String,
        state: String,
        adult_confirmed: Option<bool>,
    ) -> async_graphql::Result<AuthPayload> {
        let tokens = accounts(ctx)
            .complete_third_party(
                kind(provider),
                &code,
                &state,
                adult_confirmed.unwrap_or(false),
                &client(ctx),
            )
            .await?;
        payload(ctx, tokens).await
    }

    /// Binds a provider account to the signed-in account (state from `startThirdPartyLogin` while signed in).
    async fn bind_third_party(
        &self,
        ctx: &Context<'_>,
        provider: ThirdPartyProvider,
        code: String,
        state: String,
    ) -> async_graphql::Result<Me> {
        let s = signed_in(ctx)?;
        accounts(ctx)
            .bind_third_party(s.account_id, kind(provider), &code, &state, &client(ctx))
            .await?;
        Me::load(ctx, s.account_id).await
    }

    /// Removes a provider binding, unless it is the account's last way to sign in.
    async fn unbind_third_party(
        &self,
        ctx: &Context<'_>,
        provider: ThirdPartyProvider,
    ) -> async_graphql::Result<Me> {
        let s = signed_in(ctx)?;
        accounts(ctx)
            .unbind_third_party(s.account_id, kind(provider), &client(ctx))
            .await?;
        Me::load(ctx, s.account_id).await
    }
}
