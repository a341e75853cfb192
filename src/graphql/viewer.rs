//! Who is asking: the viewer of a request, and guards for fields that need a signed-in account or a role.

use async_graphql::{Context, Guard};

use crate::error::AppError;

/// The roles an account can hold, weakest first (`accounts.role`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    diesel::expression::AsExpression,
    diesel::deserialize::FromSqlRow,
)]
#[diesel(sql_type = diesel::sql_types::Text)]
pub enum Role {
    User,
    Staff,
    Admin,
}

crate::text_enum!(Role { User => "user", Staff => "staff", Admin => "admin" });

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        Role::from_stored(s)
    }
}

/// The signed-in account behind a request, if any.
#[derive(Debug, Clone, Default)]
pub struct Viewer {
    pub account: Option<SignedIn>,
}

#[derive(Debug, Clone)]
pub struct SignedIn {
    pub account_id: i64,
    pub session_id: Option<i64>,
    pub role: Role,
    /// Whether the account has a confirmed phone number (accounts made through WeChat, Weibo or QQ bind one
    /// before they publish).
    pub has_phone: bool,
}

impl Viewer {
    pub fn visitor() -> Self {
        Viewer { account: None }
    }

    pub fn from_ctx<'a>(ctx: &Context<'a>) -> &'a Viewer {
        static VISITOR: Viewer = Viewer { account: None };
        ctx.data_opt::<Viewer>().unwrap_or(&VISITOR)
    }

    /// The signed-in account, or `UNAUTHENTICATED`.
    pub fn require(&self) -> Result<&SignedIn, AppError> {
        self.account.as_ref().ok_or(AppError::Unauthenticated)
    }

    /// The signed-in account when it may publish: it has a confirmed phone number (real-name rule), else
    /// `FORBIDDEN`.
    pub fn require_publisher(&self) -> Result<&SignedIn, AppError> {
        let signed_in = self.require()?;
        if signed_in.has_phone {
            Ok(signed_in)
        } else {
            Err(AppError::Forbidden(
                "bind a phone number first: publishing needs a phone confirmed by SMS code (changePhone)".into(),
            ))
        }
    }
}

/// Allows a field only to accounts holding at least `min` role.
pub struct RoleGuard {
    pub min: Role,
}

impl Guard for RoleGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let signed_in = Viewer::from_ctx(ctx).require()?;
        if signed_in.role >= self.min {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("this needs the {} role", self.min.as_str())).into())
        }
    }
}
