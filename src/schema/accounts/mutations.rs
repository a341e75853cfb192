//! Account mutations: codes, registration, sign-in, sessions, passwords, profile and email.

use async_graphql::{Context, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};

use super::types::*;
use super::{Me, accounts};
use crate::accounts::codes::Purpose;
use crate::accounts::profile::ProfileChange;
use crate::accounts::sessions::SignedInTokens;
use crate::accounts::signin::Registration;
use crate::client::ClientInfo;
use crate::db::profile::ProfileText;
use crate::error::AppError;
use crate::graphql::ids;
use crate::graphql::viewer::{SignedIn, Viewer};
use crate::messaging::Channel;

/// The tokens of a new or refreshed session.
#[derive(SimpleObject)]
pub struct AuthPayload {
    /// A JWT for `Authorization: Bearer`, valid 15 minutes.
    pub access_token: String,
    /// Trade it for new tokens with `refreshSession`; it works once.
    pub refresh_token: String,
    pub access_token_expires_at: DateTime<Utc>,
    /// The signed-in account.
    pub viewer: Me,
}

/// Web clients that ask for it (`Portico-Token-Delivery: cookie`) get the tokens as `__Host-` cookies too.
#[derive(Debug, Clone, Default)]
pub struct TokenDelivery {
    pub cookies: bool,
    /// The refresh token from the `__Host-portico-refresh` cookie, if any.
    pub refresh_cookie: Option<String>,
}

pub const ACCESS_COOKIE: &str = "__Host-portico-access";
pub const REFRESH_COOKIE: &str = "__Host-portico-refresh";

pub(super) fn client(ctx: &Context<'_>) -> ClientInfo {
    ctx.data_opt::<ClientInfo>().cloned().unwrap_or_default()
}

pub(super) fn signed_in<'a>(ctx: &Context<'a>) -> Result<&'a SignedIn, AppError> {
    Viewer::from_ctx(ctx).require()
}

/// A `Set-Cookie` value for one of the token cookies: `__Host-` (so `Path=/`, `Secure`, no `Domain`), HttpOnly,
/// SameSite=Lax; an age of 0 clears it.
fn token_cookie(name: &'static str, value: String, max_age_seconds: i64) -> String {
    cookie::Cookie::build((name, value))
        .path("/")
        .max_age(cookie::time::Duration::seconds(max_age_seconds))
        .http_only(true)
        .secure(true)
        .same_site(cookie::SameSite::Lax)
        .build()
        .to_string()
}

pub(super) async fn payload(
    ctx: &Context<'_>,
    t: SignedInTokens,
) -> async_graphql::Result<AuthPayload> {
    if ctx.data_opt::<TokenDelivery>().is_some_and(|d| d.cookies) {
        let access_age = (t.access_expires_at - Utc::now()).num_seconds().max(0);
        ctx.append_http_header(
            "set-cookie",
            token_cookie(ACCESS_COOKIE, t.access_token.clone(), access_age),
        );
        ctx.append_http_header(
            "set-cookie",
            token_cookie(
                REFRESH_COOKIE,
                t.refresh_token.clone(),
                crate::accounts::tokens::REFRESH_TTL_DAYS * 86_400,
            ),
        );
    }
    Ok(AuthPayload {
        viewer: Me::load(ctx, t.account_id).await?,
        access_token: t.access_token,
        refresh_token: t.refresh_token,
        access_token_expires_at: t.access_expires_at,
    })
}

fn clear_cookies(ctx: &Context<'_>) {
    if ctx.data_opt::<TokenDelivery>().is_some_and(|d| d.cookies) {
        for name in [ACCESS_COOKIE, REFRESH_COOKIE] {
            ctx.append_http_header("set-cookie", token_cookie(name, String::new(), 0));
        }
    }
}

#[derive(Default)]
pub struct AccountsMutation;

/// Account mutations.
#[Object]
impl AccountsMutation {
    /// Sends a verification code by SMS or email. The answer is the same whether or not an account exists.
    async fn request_verification_code(
        &self,
        ctx: &Context<'_>,
        input: RequestVerificationCodeInput,
    ) -> async_graphql::Result<CodeRequest> {
        let channel = match input.channel {
            CodeChannel::Sms => Channel::Sms,
            CodeChannel::Email => Channel::Email,
        };
        let purpose = match input.purpose {
            CodePurpose::Register => Purpose::Register,
            CodePurpose::Login => Purpose::Login,
            CodePurpose::ResetPassword => Purpose::ResetPassword,
            CodePurpose::BindEmail => Purpose::BindEmail,
            CodePurpose::CancelAccount => Purpose::CancelAccount,
            CodePurpose::ChangePhone => Purpose::ChangePhone,
        };
        let issued = accounts(ctx)
            .request_code(channel, &input.destination, purpose, &client(ctx))
            .await?;
        Ok(CodeRequest {
            retry_after_seconds: issued.retry_after_seconds as i32,
            expires_at: issued.expires_at,
        })
    }

    /// Creates an account with a phone number and its SMS code, and signs it in.
    async fn register(
        &self,
        ctx: &Context<'_>,
        input: RegisterInput,
    ) -> async_graphql::Result<AuthPayload> {
        let r = Registration {
            phone: input.phone,
            code: input.code,
            password: input.password,
            username: input.username.trim().to_string(),
            gender: input.gender.as_str().to_string(),
            occupation: input.occupation,
            city: input.city,
            adult_confirmed: input.adult_confirmed,
            consents: input.consents,
            policy_version: input.policy_version,
            device: input.device,
        };
        let tokens = accounts(ctx).register(r, &client(ctx)).await?;
        payload(ctx, tokens).await
    }

    /// Signs in with a phone number, email address or username and the password.
    async fn login(
        &self,
        ctx: &Context<'_>,
        input: LoginInput,
    ) -> async_graphql::Result<AuthPayload> {
        let tokens = accounts(ctx)
            .login(
                &input.identifier,
                &input.password,
                input.device.as_deref(),
                &client(ctx),
            )
            .await?;
        payload(ctx, tokens).await
    }

    /// Signs in with a phone number and an SMS code.
    async fn login_with_code(
        &self,
        ctx: &Context<'_>,
        input: LoginWithCodeInput,
    ) -> async_graphql::Result<AuthPayload> {
        let tokens = accounts(ctx)
            .login_with_code(
                &input.phone,
                &input.code,
                input.device.as_deref(),
                &client(ctx),
            )
            .await?;
        payload(ctx, tokens).await
    }

    /// Trades a refresh token (or the refresh cookie) for new tokens; each refresh token works once.
    async fn refresh_session(
        &self,
        ctx: &Context<'_>,
        refresh_token: Option<String>,
    ) -> async_graphql::Result<AuthPayload> {
        let token = refresh_token
            .or_else(|| {
                ctx.data_opt::<TokenDelivery>()
                    .and_then(|d| d.refresh_cookie.clone())
            })
            .ok_or(AppError::Unauthenticated)?;
        let tokens = accounts(ctx).refresh(&token, &client(ctx)).await?;
        payload(ctx, tokens).await
    }

    /// Ends the current session.
    async fn logout(&self, ctx: &Context<'_>) -> async_graphql::Result<bool> {
        let s = signed_in(ctx)?;
        let session = s.session_id.ok_or(AppError::Unauthenticated)?;
        accounts(ctx)
            .revoke_own_session(s.account_id, session, &client(ctx))
            .await?;
        clear_cookies(ctx);
        Ok(true)
    }

    /// Ends one of the viewer's sessions (its access token stops working at once).
    async fn revoke_session(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<bool> {
        let s = signed_in(ctx)?;
        let session = ids::decode_i64(&id, "Session", "id")?;
        accounts(ctx)
            .revoke_own_session(s.account_id, session, &client(ctx))
            .await?;
        Ok(true)
    }

    /// Changes the password; every other session ends.
    async fn change_password(
        &self,
        ctx: &Context<'_>,
        current: String,
        next: String,
    ) -> async_graphql::Result<bool> {
        let s = signed_in(ctx)?;
        accounts(ctx)
            .change_password(s.account_id, s.session_id, &current, &next, &client(ctx))
            .await?;
        Ok(true)
    }

    /// Sets a new password with an SMS code sent for RESET_PASSWORD; every session ends.
    async fn reset_password(
        &self,
        ctx: &Context<'_>,
        phone: String,
        code: String,
        password: String,
    ) -> async_graphql::Result<bool> {
        accounts(ctx)
            .reset_password(&phone, &code, &password, &client(ctx))
            .await?;
        Ok(true)
    }

    /// Changes profile fields.
    async fn update_profile(
        &self,
        ctx: &Context<'_>,
        input: UpdateProfileInput,
    ) -> async_graphql::Result<Me> {
        let s = signed_in(ctx)?;
        let change = ProfileChange {
            text: ProfileText {
                avatar_url: input.avatar_url,
                hometown: input.hometown,
                signature: input.signature,
                bio: input.bio,
                education: input.education,
                link: input.link,
                equipment: input.equipment,
            },
            contact: input.contact,
            labels: input.labels,
            city: input.city,
            occupation: input.occupation,
            gender: input.gender.map(|g| g.as_str().to_string()),
            avatar_image: input
                .avatar_image_id
                .map(|id| crate::graphql::ids::decode_i64(&id, "Image", "avatarImageId"))
                .transpose()
                .map_err(|_| {
                    AppError::bad_input("avatarImageId", "avatarImageId must be an Image id")
                })?,
        };
        accounts(ctx).update_profile(s.account_id, change).await?;
        Me::load(ctx, s.account_id).await
    }

    /// Makes a profile field public or visible only to its owner.
    async fn set_field_visibility(
        &self,
        ctx: &Context<'_>,
        field: ProfileField,
        visibility: Visibility,
    ) -> async_graphql::Result<Me> {
        let s = signed_in(ctx)?;
        accounts(ctx)
            .set_visibility(
                s.account_id,
                field.column(),
                visibility == Visibility::OnlyMe,
            )
            .await?;
        Me::load(ctx, s.account_id).await
    }

    /// Binds an email address with the code sent to it (BIND_EMAIL); it can then be used to sign in.
    async fn bind_email(
        &self,
        ctx: &Context<'_>,
        email: String,
        code: String,
    ) -> async_graphql::Result<Me> {
        let s = signed_in(ctx)?;
        accounts(ctx)
            .bind_email(s.account_id, &email, &code, &client(ctx))
            .await?;
        Me::load(ctx, s.account_id).await
    }

    /// Removes the bound email address.
    async fn unbind_email(&self, ctx: &Context<'_>) -> async_graphql::Result<Me> {
        let s = signed_in(ctx)?;
        accounts(ctx)
            .unbind_email(s.account_id, &client(ctx))
            .await?;
        Me::load(ctx, s.account_id).await
    }

    /// Replaces the account's phone number, or binds the first one (accounts made through WeChat, Weibo or
    /// QQ), with the code sent to the new number (`requestVerificationCode` with purpose `CHANGE_PHONE`).
    /// A number that belongs to another account is refused, and nothing changes.
    async fn change_phone(
        &self,
        ctx: &Context<'_>,
        new_phone: String,
        code: String,
    ) -> async_graphql::Result<Me> {
        let s = signed_in(ctx)?;
        accounts(ctx)
            .change_phone(s.account_id, &new_phone, &code, &client(ctx))
            .await?;
        Me::load(ctx, s.account_id).await
    }

    /// Renames the account, at most once in 30 days. The old name stays reserved for this account for 30 days.
    async fn change_username(
        &self,
        ctx: &Context<'_>,
        username: String,
    ) -> async_graphql::Result<Me> {
        let s = signed_in(ctx)?;
        accounts(ctx)
            .change_username(s.account_id, &username, &client(ctx))
            .await?;
        Me::load(ctx, s.account_id).await
    }
}
