//! Password rules and hashing: at least 8 characters, strong enough (zxcvbn score 3 or more), not containing
//! the username or phone number; hashed with Argon2id at OWASP's parameters and rehashed on sign-in when the
//! parameters change.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

use crate::error::AppError;

/// OWASP's Argon2id recommendation: 19 MiB, 2 iterations, 1 lane.
const M_COST: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const MIN_LENGTH: usize = 8;
const MAX_LENGTH: usize = 128;

/// Runs CPU-heavy password work (Argon2id, zxcvbn) on a blocking thread, at most one job per core at a time:
/// a burst of sign-ins waits here instead of filling tokio's blocking pool with 19 MiB hashes, and never runs
/// on the async threads that serve every other request.
async fn cpu_bound<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> anyhow::Result<T> {
    static PERMITS: std::sync::LazyLock<tokio::sync::Semaphore> = std::sync::LazyLock::new(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    });
    let _permit = PERMITS.acquire().await?;
    Ok(tokio::task::spawn_blocking(work).await?)
}

fn argon2() -> Argon2<'static> {
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(M_COST, T_COST, P_COST, None).expect("static parameters are valid"),
    )
}

/// Checks a new password against the rules; `field` names the input in the error. The zxcvbn estimate runs
/// off the async threads (see [`cpu_bound`]).
pub async fn check_strength(
    password: &str,
    username: &str,
    phone: Option<&str>,
    field: &str,
) -> Result<(), AppError> {
    let len = password.chars().count();
    if len < MIN_LENGTH {
        return Err(AppError::bad_input(
            field,
            format!("the password must have at least {MIN_LENGTH} characters"),
        ));
    }
    if len > MAX_LENGTH {
        return Err(AppError::bad_input(
            field,
            format!("the password may have at most {MAX_LENGTH} characters"),
        ));
    }
    let lower = password.to_lowercase();
    if !username.is_empty() && lower.contains(&username.to_lowercase()) {
        return Err(AppError::bad_input(
            field,
            "the password must not contain the username",
        ));
    }
    if let Some(phone) = phone {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let national = digits.get(digits.len().saturating_sub(11)..).unwrap_or("");
        if national.len() >= 7 && password.contains(national) {
            return Err(AppError::bad_input(
                field,
                "the password must not contain the phone number",
            ));
        }
    }
    let (password, mut inputs) = (password.to_string(), vec![username.to_string()]);
    if let Some(p) = phone {
        inputs.push(p.to_string());
    }
    let score = cpu_bound(move || {
        let inputs: Vec<&str> = inputs.iter().map(String::as_str).collect();
        zxcvbn::zxcvbn(&password, &inputs).score()
    })
    .await
    .map_err(AppError::Internal)?;
    if (score as u8) < 3 {
        return Err(AppError::bad_input(
            field,
            "the password is too easy to guess; use a longer phrase or mix unrelated words",
        ));
    }
    Ok(())
}

/// Hashes a password with Argon2id (runs on a blocking thread: it takes tens of milliseconds by design).
pub async fn hash(password: &str) -> anyhow::Result<String> {
    let password = password.to_string();
    cpu_bound(move || {
        argon2()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
    })
    .await?
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Wrong,
    Right,
    /// Right, and the stored hash uses old parameters: store a new hash.
    RightNeedsRehash,
}

/// A valid hash of a random password, verified when an account does not exist, so that the answer takes as
/// long as for a real account.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0O5fCZgwQ6QXKbOTanYAmT5yLSpoKcVSIJUIKNrjjOg";

/// Verifies `password` against `stored` (or against a dummy hash when there is none).
pub async fn verify(password: &str, stored: Option<&str>) -> Verdict {
    let password = password.to_string();
    let real = stored.is_some();
    let stored = stored.unwrap_or(DUMMY_HASH).to_string();
    cpu_bound(move || {
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return Verdict::Wrong;
        };
        let ok = argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        if !ok || !real {
            return Verdict::Wrong;
        }
        let current = Params::try_from(&parsed)
            .map(|p| p.m_cost() == M_COST && p.t_cost() == T_COST && p.p_cost() == P_COST)
            .unwrap_or(false);
        if current && parsed.algorithm.as_str() == "argon2id" {
            Verdict::Right
        } else {
            Verdict::RightNeedsRehash
        }
    })
    .await
    .unwrap_or(Verdict::Wrong)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn strength_rules() {
        let ok = "correct horse battery staple";
        assert!(
            check_strength(ok, "mei", Some("+8613800138000"), "password")
                .await
                .is_ok()
        );
        for (bad, why) in [
            ("short", "at least"),
            ("password1", "easy"),
            ("mei-is-the-best-2024!", "username"),
            ("x13800138000yz!", "phone"),
        ] {
            let err = check_strength(bad, "mei", Some("+8613800138000"), "password")
                .await
                .unwrap_err();
            assert!(err.to_string().contains(why), "{bad}: {err}");
        }
    }

    #[tokio::test]
    async fn hash_and_verify() {
        let h = hash("correct horse battery staple").await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            verify("correct horse battery staple", Some(&h)).await,
            Verdict::Right
        );
        assert_eq!(verify("wrong", Some(&h)).await, Verdict::Wrong);
        assert_eq!(verify("anything", None).await, Verdict::Wrong);
    }

    #[tokio::test]
    async fn old_parameters_ask_for_a_rehash() {
        let weak = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).unwrap(),
        );
        let h = weak
            .hash_password(b"correct horse battery staple")
            .unwrap()
            .to_string();
        assert_eq!(
            verify("correct horse battery staple", Some(&h)).await,
            Verdict::RightNeedsRehash
        );
    }
}
