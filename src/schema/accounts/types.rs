//! The accounts domain's GraphQL types: enums, inputs and outputs.

use async_graphql::{Enum, InputObject, SimpleObject};
use chrono::{DateTime, Utc};

/// A person's gender, as they state it.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Gender {
    Female,
    Male,
    Other,
    Undisclosed,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Female => "female",
            Gender::Male => "male",
            Gender::Other => "other",
            Gender::Undisclosed => "undisclosed",
        }
    }

    pub fn parse(s: &str) -> Gender {
        match s {
            "female" => Gender::Female,
            "male" => Gender::Male,
            "other" => Gender::Other,
            _ => Gender::Undisclosed,
        }
    }
}

/// How a verification code travels.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CodeChannel {
    Sms,
    Email,
}

/// What a verification code is for.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum CodePurpose {
    Register,
    Login,
    ResetPassword,
    BindEmail,
    CancelAccount,
    /// A new phone number for the signed-in account (`changePhone`); sent to the new number.
    ChangePhone,
}

/// An optional profile field.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ProfileField {
    AvatarUrl,
    Hometown,
    Signature,
    Bio,
    Education,
    Contact,
    Link,
    Equipment,
    Labels,
}

impl ProfileField {
    pub fn column(self) -> &'static str {
        match self {
            ProfileField::AvatarUrl => "avatar_url",
            ProfileField::Hometown => "hometown",
            ProfileField::Signature => "signature",
            ProfileField::Bio => "bio",
            ProfileField::Education => "education",
            ProfileField::Contact => "contact",
            ProfileField::Link => "link",
            ProfileField::Equipment => "equipment",
            ProfileField::Labels => "labels",
        }
    }
}

/// Who may see a profile field.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Visibility {
    /// Everyone, visitors included.
    Public,
    /// Only the account's owner.
    OnlyMe,
}

/// Ask for a verification code.
#[derive(InputObject)]
pub struct RequestVerificationCodeInput {
    /// SMS for phone numbers, EMAIL for email addresses.
    pub channel: CodeChannel,
    /// The phone number (mainland China numbers may omit +86) or email address.
    pub destination: String,
    pub purpose: CodePurpose,
}

/// Create an account.
#[derive(InputObject)]
pub struct RegisterInput {
    pub phone: String,
    /// The SMS code sent for the REGISTER purpose.
    pub code: String,
    /// At least 8 characters, hard to guess, without the username or phone number.
    pub password: String,
    /// 2 to 32 letters, digits, `_` or `-`; unique regardless of case.
    pub username: String,
    pub gender: Gender,
    pub occupation: String,
    pub city: String,
    /// Must be true: the service is for people aged 18 or older.
    pub adult_confirmed: bool,
    /// The purposes consented to; must include every required purpose of the current policy.
    pub consents: Vec<String>,
    /// The policy version the consents refer to; must be the current one.
    pub policy_version: String,
    /// A name for this device, shown in the session list.
    pub device: Option<String>,
}

/// Sign in with a password.
#[derive(InputObject)]
pub struct LoginInput {
    /// Phone number, bound email address, or username.
    pub identifier: String,
    pub password: String,
    pub device: Option<String>,
}

/// Sign in with an SMS code.
#[derive(InputObject)]
pub struct LoginWithCodeInput {
    pub phone: String,
    pub code: String,
    pub device: Option<String>,
}

/// Change profile fields; an absent field stays as it is, an empty string clears it.
#[derive(InputObject, Default)]
pub struct UpdateProfileInput {
    /// An http(s) URL.
    pub avatar_url: Option<String>,
    /// One of the viewer's uploads (`uploadImage`) as the avatar, instead of `avatarUrl`.
    pub avatar_image_id: Option<async_graphql::ID>,
    pub hometown: Option<String>,
    pub signature: Option<String>,
    pub bio: Option<String>,
    pub education: Option<String>,
    pub contact: Option<String>,
    /// An http(s) URL.
    pub link: Option<String>,
    pub equipment: Option<String>,
    /// At most 10 labels of at most 20 characters.
    pub labels: Option<Vec<String>>,
    pub city: Option<String>,
    pub occupation: Option<String>,
    pub gender: Option<Gender>,
}

/// A verification code is on its way (or, when nothing may be revealed, appears to be).
#[derive(SimpleObject)]
pub struct CodeRequest {
    /// Seconds before another code may be requested for the same destination and purpose.
    pub retry_after_seconds: i32,
    /// When the code stops working.
    pub expires_at: DateTime<Utc>,
}

/// A WeChat, Weibo or QQ account bound to this account.
#[derive(SimpleObject)]
pub struct ThirdPartyBinding {
    pub provider: super::ThirdPartyProvider,
    /// Read from the provider only with consent to `third-party-profile`.
    pub nickname: Option<String>,
    pub avatar_url: Option<String>,
    pub bound_at: DateTime<Utc>,
}

/// The current state of consent to one purpose (defined by the privacy domain, which keeps the ledger).
pub use crate::schema::privacy::Consent;
