//! The plain-text optional columns of `profiles`, as one struct the domains that read them share.

use diesel::QueryableByName;

use crate::db::schema::profiles;

/// The optional profile fields that are plain text: all of them but the sealed contact and the labels. The one
/// list every struct that carries them embeds (a profile change, what staff read, what a partner receives);
/// the field names are the stored names of the accounts domain's `profile::FIELDS`. It lives here, with the
/// tables, because the privacy domain (partners) reads these columns too and sits below accounts.
#[derive(Debug, Clone, Default, PartialEq, Eq, QueryableByName)]
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
