//! Field encryption at rest and blind indexes.
//!
//! Personal fields (phone, email, contact information, outbox payloads) are sealed with AES-256-GCM. A sealed
//! value is `[1 (format)] [key id] [12-byte nonce] [ciphertext + tag]`, so keys can rotate: new values use the
//! current key, old values open with the key their id names. Equality lookups use a blind index: HMAC-SHA256
//! of the normalised value under a key derived from the data key, scoped by a domain string.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::Config;

const FORMAT: u8 = 1;

/// The keys Portico seals personal data with.
#[derive(Clone)]
pub struct DataKeys {
    current_id: u8,
    keys: Vec<(u8, Aes256Gcm)>,
    index_key: [u8; 32],
}

impl std::fmt::Debug for DataKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DataKeys(current={}, {} keys)",
            self.current_id,
            self.keys.len()
        )
    }
}

/// A sealed value could not be opened (wrong key, unknown key id, tampered bytes).
#[derive(Debug, thiserror::Error)]
#[error("sealed value cannot be opened")]
pub struct OpenError;

impl DataKeys {
    /// The keys from the configuration: `PORTICO_DATA_KEY` is current (id `PORTICO_DATA_KEY_ID`, default 1);
    /// `PORTICO_DATA_KEYS_RETIRED` (`id:base64,...`) still opens older values.
    pub fn from_config(config: &Config) -> anyhow::Result<DataKeys> {
        let current = decode_key(&config.data_key)?;
        let mut keys = vec![(config.data_key_id, cipher(&current))];
        for (id, key) in &config.retired_data_keys {
            keys.push((*id, cipher(&decode_key(key)?)));
        }
        Ok(DataKeys {
            current_id: config.data_key_id,
            keys,
            index_key: derive(&current, b"portico blind index v1"),
        })
    }

    /// Seals `plaintext` under the current key.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let (id, cipher) = &self.keys[0];
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .expect("AES-GCM encryption does not fail for in-memory buffers");
        let mut out = Vec::with_capacity(2 + 12 + sealed.len());
        out.push(FORMAT);
        out.push(*id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Seals a string.
    pub fn seal_str(&self, plaintext: &str) -> Vec<u8> {
        self.seal(plaintext.as_bytes())
    }

    /// Opens a sealed value with the key its id names.
    pub fn open(&self, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < 2 + 12 + 16 || sealed[0] != FORMAT {
            return Err(OpenError);
        }
        let id = sealed[1];
        let (_, cipher) = self.keys.iter().find(|(k, _)| *k == id).ok_or(OpenError)?;
        cipher
            .decrypt(Nonce::from_slice(&sealed[2..14]), &sealed[14..])
            .map_err(|_| OpenError)
    }

    /// Opens a sealed string.
    pub fn open_str(&self, sealed: &[u8]) -> Result<String, OpenError> {
        String::from_utf8(self.open(sealed)?).map_err(|_| OpenError)
    }

    /// Whether a sealed value uses a retired key (and should be sealed again).
    pub fn is_stale(&self, sealed: &[u8]) -> bool {
        sealed.get(1) != Some(&self.current_id)
    }

    /// The blind index of `value` in `domain` (e.g. `"phone"`, `"email"`).
    pub fn blind_index(&self, domain: &str, value: &str) -> Vec<u8> {
        keyed_hash(&self.index_key, domain, value.as_bytes())
    }

    /// A pseudonymous hash of a client address, user agent or token, for records that must not hold the value.
    pub fn pseudonym(&self, domain: &str, value: &[u8]) -> Vec<u8> {
        keyed_hash(&self.index_key, domain, value)
    }
}

fn keyed_hash(key: &[u8; 32], domain: &str, value: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(domain.as_bytes());
    mac.update(&[0]);
    mac.update(value);
    mac.finalize().into_bytes().to_vec()
}

fn derive(key: &[u8; 32], label: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(label);
    mac.finalize().into_bytes().into()
}

fn cipher(key: &[u8; 32]) -> Aes256Gcm {
    Aes256Gcm::new_from_slice(key).expect("32-byte key")
}

fn decode_key(b64: &str) -> anyhow::Result<[u8; 32]> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(b64.trim())?;
    bytes
        .try_into()
        .map_err(|_| anyhow::anyhow!("a data key must be 32 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn keys(pairs: &[(&str, &str)]) -> DataKeys {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        DataKeys::from_config(&Config::from_map(&map).unwrap()).unwrap()
    }

    const K2: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    #[test]
    fn seal_and_open() {
        let k = keys(&[]);
        let sealed = k.seal_str("+8613800138000");
        assert!(!sealed.windows(5).any(|w| w == b"13800"));
        assert_eq!(k.open_str(&sealed).unwrap(), "+8613800138000");
        assert_ne!(k.seal_str("x"), k.seal_str("x"), "nonces differ");
    }

    #[test]
    fn tampering_is_detected() {
        let k = keys(&[]);
        let mut sealed = k.seal_str("secret");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(k.open(&sealed).is_err());
        assert!(k.open(b"short").is_err());
    }

    #[test]
    fn keys_rotate() {
        let old = keys(&[]);
        let sealed = old.seal_str("email@example.com");
        let new = keys(&[
            ("PORTICO_DATA_KEY", K2),
            ("PORTICO_DATA_KEY_ID", "2"),
            (
                "PORTICO_DATA_KEYS_RETIRED",
                &format!("1:{}", crate::config::DEV_DATA_KEY),
            ),
        ]);
        assert_eq!(new.open_str(&sealed).unwrap(), "email@example.com");
        assert!(new.is_stale(&sealed));
        assert!(!new.is_stale(&new.seal_str("x")));
        let without_old = keys(&[("PORTICO_DATA_KEY", K2), ("PORTICO_DATA_KEY_ID", "2")]);
        assert!(without_old.open(&sealed).is_err());
    }

    #[test]
    fn blind_indexes_are_stable_and_scoped() {
        let k = keys(&[]);
        assert_eq!(
            k.blind_index("phone", "+86138"),
            k.blind_index("phone", "+86138")
        );
        assert_ne!(
            k.blind_index("phone", "+86138"),
            k.blind_index("email", "+86138")
        );
        assert_eq!(k.blind_index("phone", "x").len(), 32);
    }
}
