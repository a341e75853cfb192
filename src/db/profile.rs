//! The plain-text optional columns of `profiles`, as one struct the domains that read them share, and a
//! member's public face: the few account columns and the profile columns every reader may show, and the owner's
//! consent to `profile`. The face lives here, with the tables, because the content domain reads it with a page
//! of works (one statement for the page and its authors) and sits below accounts, whose user loader reads it
//! too. It never holds a phone, an email, a password hash or any other sealed column.

use diesel::prelude::*;

use crate::db::schema::{accounts, profiles};

/// The optional profile fields that are plain text: all of them but the sealed contact and the labels. The one
/// list every struct that carries them embeds (a profile change, what staff read, what a partner receives);
/// the field names are the stored names of the accounts domain's `profile::FIELDS`. It lives here, with the
/// tables, because the privacy domain (partners) reads these columns too and sits below accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, QueryableByName, Queryable, Selectable)]
#[diesel(table_name = profiles)]
pub struct ProfileText {
    pub avatar_url: Option<String>,
    pub hometown: Option<String>,
    pub signature: Option<String>,
    pub bio: Option<String>,
    pub education: Option<String>,
    pub link: Option<String>,
    pub equipment: Option<String>,
}

impl ProfileText {
    /// The field stored as `name`; `None` for a name that is not one of these fields.
    pub fn get(&self, name: &str) -> Option<&Option<String>> {
        Some(match name {
            "avatar_url" => &self.avatar_url,
            "hometown" => &self.hometown,
            "signature" => &self.signature,
            "bio" => &self.bio,
            "education" => &self.education,
            "link" => &self.link,
            "equipment" => &self.equipment,
            _ => return None,
        })
    }

    /// These fields with those `shown` refuses (by stored name) emptied.
    pub fn only(self, shown: impl Fn(&str) -> bool) -> ProfileText {
        let keep = |name: &str, value: Option<String>| value.filter(|_| shown(name));
        ProfileText {
            avatar_url: keep("avatar_url", self.avatar_url),
            hometown: keep("hometown", self.hometown),
            signature: keep("signature", self.signature),
            bio: keep("bio", self.bio),
            education: keep("education", self.education),
            link: keep("link", self.link),
            equipment: keep("equipment", self.equipment),
        }
    }
}

/// The account columns of a member's public face.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct PublicAccount {
    pub id: i64,
    pub username: String,
    pub gender: String,
    pub occupation: String,
    pub city: String,
}

/// The profile columns of a member's public face: the plain-text fields, the labels and which fields the owner
/// made private (not the sealed contact, which `User.contact` reads on its own when asked).
#[derive(Debug, Clone, Default, Queryable, Selectable)]
#[diesel(table_name = profiles)]
pub struct PublicProfile {
    #[diesel(embed)]
    pub text: ProfileText,
    pub labels: Vec<Option<String>>,
    pub private_fields: Vec<Option<String>>,
}

impl PublicProfile {
    pub fn is_private(&self, field: &str) -> bool {
        self.private_fields.iter().flatten().any(|f| f == field)
    }

    pub fn labels(&self) -> Vec<String> {
        super::listed(&self.labels)
    }
}

/// A member as everyone sees them: the account's public columns, its profile (empty without a row), and the
/// owner's current answer for `profile` (read in the same statement).
#[derive(Debug, Clone)]
pub struct Member {
    pub account: PublicAccount,
    pub profile: PublicProfile,
    pub profile_consent: bool,
}

impl Member {
    /// The member of a left-joined row: `None` when the account is missing or not active.
    pub fn of(
        account: Option<PublicAccount>,
        profile: Option<PublicProfile>,
        profile_consent: bool,
    ) -> Option<Member> {
        Some(Member {
            account: account?,
            profile: profile.unwrap_or_default(),
            profile_consent,
        })
    }
}

/// The owner's current general answer for `profile` (the newest record without a partner; never answered
/// is not granted), as a correlated subquery on `accounts` served by the `consent_records_account` index.
/// It is `consent_counts('profile', version)` written out: with the purpose fixed, the purpose's
/// `since_version_id` under the current policy is an uncorrelated subquery that PostgreSQL evaluates once per
/// statement (an InitPlan) instead of once per author; the feed's statement ran 1.7x as many times a second
/// under pgbench this way. Constant SQL text: queries that select it are wrapped in [`crate::db::Cached`] to stay prepared.
pub fn profile_consent() -> diesel::expression::SqlLiteral<diesel::sql_types::Bool> {
    diesel::dsl::sql::<diesel::sql_types::Bool>(
        "coalesce((SELECT c.granted AND c.policy_version_id >= (SELECT p.since_version_id FROM policy_purposes p \
           WHERE p.key = 'profile' AND p.policy_version_id = \
             (SELECT v.id FROM policy_versions v ORDER BY v.published_at DESC, v.id DESC LIMIT 1)) \
         FROM consent_records c \
         WHERE c.account_id = accounts.id AND c.purpose = 'profile' AND c.partner_id IS NULL \
         ORDER BY c.id DESC LIMIT 1), false)",
    )
}
