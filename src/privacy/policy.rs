//! Publishing a policy version (staff): its text and its catalogue of purposes, checked, written in one
//! transaction and announced on the broker, so open `privacyPolicy` subscriptions receive it at once.

use chrono::{DateTime, Duration, Utc};
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::model::{NewPolicy, NewPurpose, Policy, PolicyVersion, Purpose};
use super::store;
use crate::db::Pool;
use crate::error::{AppError, AppResult};

/// The purposes every version must keep, and keep required: without them there is no service.
pub const REQUIRED_PURPOSES: &[&str] = &["account", "security"];
/// The broker topic a new version is announced on (the id is the version's row id).
pub const POLICY_TOPIC: &str = "policy";

const MAX_VERSION_CHARS: usize = 32;
const MAX_TEXT_CHARS: usize = 100_000;
const MAX_PURPOSES: usize = 100;
const MAX_TITLE_CHARS: usize = 200;
const MAX_DESCRIPTION_CHARS: usize = 2_000;
const MAX_LIST_ITEMS: usize = 32;
const MAX_ITEM_CHARS: usize = 64;

fn purposes_error(message: String) -> AppError {
    AppError::bad_input("purposes", message)
}

/// A purpose key: a lower-case letter, then 1 to 47 lower-case letters, digits or `-`.
pub fn valid_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && (2..=48).contains(&key.len())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

fn list(items: &[String], key: &str, what: &str) -> AppResult<Vec<String>> {
    if items.len() > MAX_LIST_ITEMS {
        return Err(purposes_error(format!(
            "`{key}` may list at most {MAX_LIST_ITEMS} {what}"
        )));
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        let item = item.trim();
        if item.is_empty() || item.chars().count() > MAX_ITEM_CHARS {
            return Err(purposes_error(format!(
                "each of `{key}`'s {what} needs 1 to {MAX_ITEM_CHARS} characters"
            )));
        }
        if !out.iter().any(|o| o == item) {
            out.push(item.to_string());
        }
    }
    Ok(out)
}

/// Checks a version before it is published and returns it trimmed: the version name (1-32 characters),
/// a text, and purposes with valid, unique keys, titles and descriptions, keeping `account` and `security`
/// present and required.
pub fn check(policy: &NewPolicy) -> AppResult<NewPolicy> {
    let version = policy.version.trim();
    let chars = version.chars().count();
    if chars == 0 || chars > MAX_VERSION_CHARS {
        return Err(AppError::bad_input(
            "version",
            format!("a version has 1 to {MAX_VERSION_CHARS} characters"),
        ));
    }
    let text = policy.text.trim();
    if text.is_empty() || text.chars().count() > MAX_TEXT_CHARS {
        return Err(AppError::bad_input(
            "text",
            format!("the policy text has 1 to {MAX_TEXT_CHARS} characters"),
        ));
    }
    if policy.purposes.is_empty() || policy.purposes.len() > MAX_PURPOSES {
        return Err(purposes_error(format!(
            "a version lists 1 to {MAX_PURPOSES} purposes"
        )));
    }
    let mut purposes: Vec<NewPurpose> = Vec::with_capacity(policy.purposes.len());
    for p in &policy.purposes {
        let key = p.key.trim();
        if !valid_key(key) {
            return Err(purposes_error(format!(
                "`{key}` is not a valid purpose key: a lower-case letter, then 1 to 47 lower-case letters, digits or `-`"
            )));
        }
        if purposes.iter().any(|q| q.key == key) {
            return Err(purposes_error(format!("`{key}` is listed twice")));
        }
        let title = p.title.trim();
        if title.is_empty() || title.chars().count() > MAX_TITLE_CHARS {
            return Err(purposes_error(format!(
                "`{key}` needs a title of 1 to {MAX_TITLE_CHARS} characters"
            )));
        }
        let description = p.description.trim();
        if description.is_empty() || description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(purposes_error(format!(
                "`{key}` needs a description of 1 to {MAX_DESCRIPTION_CHARS} characters"
            )));
        }
        purposes.push(NewPurpose {
            key: key.to_string(),
            title: title.to_string(),
            description: description.to_string(),
            required: p.required,
            data_categories: list(&p.data_categories, key, "data categories")?,
            recipients: list(&p.recipients, key, "recipients")?,
        });
    }
    for key in REQUIRED_PURPOSES {
        if !purposes.iter().any(|p| p.key == *key && p.required) {
            return Err(purposes_error(format!(
                "`{key}` must stay in every version, marked required"
            )));
        }
    }
    Ok(NewPolicy {
        version: version.to_string(),
        text: text.to_string(),
        purposes,
    })
}

/// A new version's publication time: now, or just after the newest version should the clock be behind it,
/// so the version published last is always the current one.
fn publication_time(latest: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let now = Utc::now();
    match latest {
        Some(t) if t >= now => t + Duration::microseconds(1),
        _ => now,
    }
}

/// The notice every member gets of a new version: what it adds or changes, and that grants for those purposes
/// wait for a new answer.
fn version_notice(
    version: &PolicyVersion,
    purposes: &[Purpose],
) -> crate::realtime::service::NewNotice {
    let changed: Vec<&str> = purposes
        .iter()
        .filter(|p| p.since_version_id == version.id)
        .map(|p| p.title.as_str())
        .collect();
    let body = if changed.is_empty() {
        format!(
            "Version {} of the privacy policy is published. None of the purposes you answered changed.",
            version.version
        )
    } else {
        format!(
            "Version {} of the privacy policy is published. It adds or changes these purposes: {}. Consent given \
             before for them no longer counts until you answer again in your privacy settings; until then, no \
             data flows for them.",
            version.version,
            changed.join("; ")
        )
    };
    crate::realtime::service::NewNotice {
        account_id: 0,
        kind: crate::realtime::service::NoticeKind::Announcement,
        title: format!("Privacy policy updated to version {}", version.version),
        body,
        refs: serde_json::json!({ "policyVersion": version.version, "event": "policy_published", "changedPurposes": purposes.iter().filter(|p| p.since_version_id == version.id).map(|p| p.key.clone()).collect::<Vec<_>>() }),
    }
}

/// The policy version in force, on the caller's connection; a gateway without one is misconfigured (every
/// database gets version 1 when it is migrated).
pub(super) async fn in_force(
    conn: &mut diesel_async::AsyncPgConnection,
) -> AppResult<PolicyVersion> {
    store::current_version(conn)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no policy version is published")))
}

/// Publishes a new version in one transaction (the version row, naming who published it, and its purposes)
/// and announces it on the broker when the transaction commits. A version name already taken is refused.
pub async fn publish_policy_version(
    pool: &Pool,
    staff_id: i64,
    policy: &NewPolicy,
) -> AppResult<Policy> {
    let policy = check(policy)?;
    let mut conn = pool.get().await?;
    conn.transaction::<_, AppError, _>(async |conn| {
        store::lock_versions(conn).await?;
        if store::version_by_name(conn, &policy.version).await?.is_some() {
            return Err(AppError::bad_input(
                "version",
                format!(
                    "version `{}` is already published; versions are never changed, publish a new one",
                    policy.version
                ),
            ));
        }
        let at = publication_time(store::latest_published_at(conn).await?);
        let version = store::insert_version(conn, &policy, at, staff_id).await?;
        store::insert_purposes(conn, version.id, &policy.purposes).await?;
        diesel::sql_query(crate::broker::notify_sql(POLICY_TOPIC, version.id))
            .execute(conn)
            .await?;
        let purposes = store::purposes_of(conn, version.id).await?;
        crate::realtime::service::post_notice_to_everyone(conn, &version_notice(&version, &purposes))
            .await?;
        Ok(Policy { version, purposes })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn purpose(key: &str, required: bool) -> NewPurpose {
        NewPurpose {
            key: key.into(),
            title: format!("Title of {key}"),
            description: format!("What {key} covers."),
            required,
            data_categories: vec!["usage".into(), " usage ".into()],
            recipients: vec![],
        }
    }

    fn policy(purposes: Vec<NewPurpose>) -> NewPolicy {
        NewPolicy {
            version: " 2 ".into(),
            text: "The text.".into(),
            purposes,
        }
    }

    fn base() -> Vec<NewPurpose> {
        vec![purpose("account", true), purpose("security", true)]
    }

    fn field(p: &NewPolicy) -> String {
        match check(p) {
            Err(AppError::BadUserInput { field, .. }) => field.unwrap_or_default(),
            other => panic!("expected bad input, got {other:?}"),
        }
    }

    #[test]
    fn keys() {
        for good in ["ab", "analytics", "partner-business", "x2", &"a".repeat(48)] {
            assert!(valid_key(good), "{good}");
        }
        for bad in [
            "",
            "a",
            "A1",
            "1a",
            "-a",
            "a_b",
            "ab ",
            "ä1",
            &"a".repeat(49),
        ] {
            assert!(!valid_key(bad), "{bad}");
        }
    }

    #[test]
    fn a_good_version_is_trimmed_and_deduplicated() {
        let mut purposes = base();
        purposes.push(purpose("newsletter", false));
        let checked = check(&policy(purposes)).unwrap();
        assert_eq!(checked.version, "2");
        assert_eq!(checked.purposes.len(), 3);
        assert_eq!(checked.purposes[2].data_categories, ["usage"]);
    }

    #[test]
    fn bad_versions_name_the_field() {
        let mut p = policy(base());
        p.version = "".into();
        assert_eq!(field(&p), "version");
        p.version = "v".repeat(33);
        assert_eq!(field(&p), "version");
        let mut p = policy(base());
        p.text = "  ".into();
        assert_eq!(field(&p), "text");
        assert_eq!(field(&policy(vec![])), "purposes");
        let mut twice = base();
        twice.push(purpose("account", true));
        assert_eq!(field(&policy(twice)), "purposes");
        let mut bad_key = base();
        bad_key.push(purpose("Bad_Key", false));
        assert_eq!(field(&policy(bad_key)), "purposes");
        let mut untitled = base();
        untitled.push(NewPurpose {
            title: " ".into(),
            ..purpose("newsletter", false)
        });
        assert_eq!(field(&policy(untitled)), "purposes");
        let mut undescribed = base();
        undescribed.push(NewPurpose {
            description: String::new(),
            ..purpose("newsletter", false)
        });
        assert_eq!(field(&policy(undescribed)), "purposes");
    }

    #[test]
    fn account_and_security_stay_required() {
        assert_eq!(field(&policy(vec![purpose("account", true)])), "purposes");
        assert_eq!(
            field(&policy(vec![
                purpose("account", true),
                purpose("security", false)
            ])),
            "purposes"
        );
    }

    #[test]
    fn publication_times_only_move_forward() {
        let past = Utc::now() - Duration::days(1);
        assert!(publication_time(Some(past)) > past);
        let future = Utc::now() + Duration::days(1);
        assert_eq!(
            publication_time(Some(future)),
            future + Duration::microseconds(1)
        );
        assert!(publication_time(None) <= Utc::now());
    }
}
