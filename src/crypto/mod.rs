//! Field encryption at rest and blind indexes: a building block below every domain. `reseal` holds the
//! start-up key check and `portico keys reseal`.
//!
//! Personal fields (phone, email, contact information, queued messages, export archives) are sealed with
//! AES-256-GCM. A sealed value is `[2 (format)] [key id] [12-byte nonce] [ciphertext + tag]`, and its
//! associated data names the table, column and row it belongs to, so a value copied into another row or
//! column does not open. The key id lets keys rotate: new values use the current key, old values open with
//! the key their id names, and `portico keys reseal` moves every stored value to the current key.
//! Values of format 1 (before associated data) still open, without it, until a reseal rewrites them.
//!
//! Equality lookups use a blind index: HMAC-SHA256 of the normalised value under the index key, scoped by a
//! domain string. The index key (`PORTICO_INDEX_KEY`) is separate from the data keys and never rotates with
//! them, so lookups by phone and email survive any number of data-key rotations.

pub mod reseal;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::config::Config;

/// Sealed without associated data (read only; a reseal rewrites these).
const FORMAT_LEGACY: u8 = 1;
/// Sealed with the value's table, column and row as associated data.
const FORMAT: u8 = 2;
const HEADER: usize = 2 + 12;
const TAG: usize = 16;
/// The label the development (and pre-`PORTICO_INDEX_KEY`) index key is derived with.
const INDEX_LABEL: &[u8] = b"portico blind index v1";

/// Where a sealed value lives. Its names go into the associated data of every value sealed for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    AccountPhone,
    AccountEmail,
    ProfileContact,
    OutboxPayload,
    ExportArchive,
    /// A push device's endpoint and keys, or its token.
    PushTarget,
    /// A partner's page cursor: never stored, bound to the partner it was issued to.
    PartnerCursor,
}

impl Column {
    /// Every stored sealed column, for `portico keys reseal`.
    pub const STORED: [Column; 6] = [
        Column::AccountPhone,
        Column::AccountEmail,
        Column::ProfileContact,
        Column::OutboxPayload,
        Column::ExportArchive,
        Column::PushTarget,
    ];

    /// `(table, row key column, value column)`.
    pub fn location(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Column::AccountPhone => ("accounts", "id", "phone_ciphertext"),
            Column::AccountEmail => ("accounts", "id", "email_ciphertext"),
            Column::ProfileContact => ("profiles", "account_id", "contact_ciphertext"),
            Column::OutboxPayload => ("outbox_messages", "id", "payload_ciphertext"),
            Column::ExportArchive => ("data_exports", "id", "archive_ciphertext"),
            Column::PushTarget => ("push_devices", "id", "target_ciphertext"),
            Column::PartnerCursor => ("partner_cursor", "partner_id", "cursor"),
        }
    }

    fn associated_data(self, row: i64) -> Vec<u8> {
        let (table, _, column) = self.location();
        format!("portico\0{table}.{column}\0{row}").into_bytes()
    }
}

/// The keys Portico seals personal data with, and the index key of its blind indexes.
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

/// A sealed value could not be opened (wrong key, unknown key id, wrong row, tampered bytes).
#[derive(Debug, thiserror::Error)]
#[error("sealed value cannot be opened")]
pub struct OpenError;

impl DataKeys {
    /// The keys from the configuration: `PORTICO_DATA_KEY` is current (id `PORTICO_DATA_KEY_ID`, default 1);
    /// `PORTICO_DATA_KEYS_RETIRED` (`id:base64,...`) still opens older values; `PORTICO_INDEX_KEY` keys the
    /// blind indexes (in development, when unset, a key derived from the development data key).
    pub fn from_config(config: &Config) -> anyhow::Result<DataKeys> {
        let current = decode_key(&config.data_key)?;
        let mut keys = vec![(config.data_key_id, cipher(&current))];
        for (id, key) in &config.retired_data_keys {
            keys.push((*id, cipher(&decode_key(key)?)));
        }
        let index_key = match &config.index_key {
            Some(key) => decode_key(key)?,
            None => legacy_index_key(crate::config::DEV_DATA_KEY)?,
        };
        Ok(DataKeys {
            current_id: config.data_key_id,
            keys,
            index_key,
        })
    }

    /// The id of the key new values are sealed with.
    pub fn current_id(&self) -> u8 {
        self.current_id
    }

    /// Whether a key with this id is configured.
    pub fn has_key(&self, id: u8) -> bool {
        self.keys.iter().any(|(k, _)| *k == id)
    }

    /// Seals `plaintext` under the current key, bound to `column` of `row`.
    pub fn seal(&self, column: Column, row: i64, plaintext: &[u8]) -> Vec<u8> {
        let (id, cipher) = &self.keys[0];
        let mut nonce = [0u8; 12];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = column.associated_data(row);
        let sealed = cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("AES-GCM encryption does not fail for in-memory buffers");
        let mut out = Vec::with_capacity(HEADER + sealed.len());
        out.push(FORMAT);
        out.push(*id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Seals a string.
    pub fn seal_str(&self, column: Column, row: i64, plaintext: &str) -> Vec<u8> {
        self.seal(column, row, plaintext.as_bytes())
    }

    /// Opens a value sealed for `column` of `row`, with the key its id names.
    pub fn open(&self, column: Column, row: i64, sealed: &[u8]) -> Result<Vec<u8>, OpenError> {
        if sealed.len() < HEADER + TAG {
            return Err(OpenError);
        }
        let (_, cipher) = self
            .keys
            .iter()
            .find(|(k, _)| *k == sealed[1])
            .ok_or(OpenError)?;
        let nonce = Nonce::from_slice(&sealed[2..HEADER]);
        let msg = &sealed[HEADER..];
        match sealed[0] {
            FORMAT => cipher.decrypt(
                nonce,
                Payload {
                    msg,
                    aad: &column.associated_data(row),
                },
            ),
            FORMAT_LEGACY => cipher.decrypt(nonce, msg),
            _ => return Err(OpenError),
        }
        .map_err(|_| OpenError)
    }

    /// Opens a sealed string.
    pub fn open_str(&self, column: Column, row: i64, sealed: &[u8]) -> Result<String, OpenError> {
        String::from_utf8(self.open(column, row, sealed)?).map_err(|_| OpenError)
    }

    /// Whether a sealed value should be sealed again: it uses a retired key or the format without
    /// associated data.
    pub fn needs_reseal(&self, sealed: &[u8]) -> bool {
        sealed.first() != Some(&FORMAT) || sealed.get(1) != Some(&self.current_id)
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

/// The key id and format of a sealed value, when it has a header.
pub fn header(sealed: &[u8]) -> Option<(u8, u8)> {
    (sealed.len() >= HEADER + TAG).then(|| (sealed[0], sealed[1]))
}

/// The index key that blind indexes were made with before `PORTICO_INDEX_KEY` existed: derived from the data
/// key that was current when they were written (base64). An existing deployment sets `PORTICO_INDEX_KEY` to
/// this once (`portico keys legacy-index-key`) and keeps it from then on.
pub fn legacy_index_key(data_key: &str) -> anyhow::Result<[u8; 32]> {
    Ok(derive(&decode_key(data_key)?, INDEX_LABEL))
}

/// The blind index `value` had under the index key derived from `data_key` (see [`legacy_index_key`]).
pub fn legacy_blind_index(data_key: &str, domain: &str, value: &str) -> Option<Vec<u8>> {
    Some(keyed_hash(
        &legacy_index_key(data_key).ok()?,
        domain,
        value.as_bytes(),
    ))
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
    const PHONE: Column = Column::AccountPhone;

    #[test]
    fn seal_and_open() {
        let k = keys(&[]);
        let sealed = k.seal_str(PHONE, 7, "+8613800138000");
        assert!(!sealed.windows(5).any(|w| w == b"13800"));
        assert_eq!(k.open_str(PHONE, 7, &sealed).unwrap(), "+8613800138000");
        assert_ne!(
            k.seal_str(PHONE, 7, "x"),
            k.seal_str(PHONE, 7, "x"),
            "nonces differ"
        );
    }

    #[test]
    fn a_value_opens_only_in_its_own_row_and_column() {
        let k = keys(&[]);
        let sealed = k.seal_str(PHONE, 7, "+8613800138000");
        assert!(k.open(PHONE, 8, &sealed).is_err(), "another row");
        assert!(
            k.open(Column::AccountEmail, 7, &sealed).is_err(),
            "another column"
        );
        assert!(
            k.open(Column::ProfileContact, 7, &sealed).is_err(),
            "another table"
        );
    }

    #[test]
    fn tampering_is_detected() {
        let k = keys(&[]);
        let mut sealed = k.seal_str(PHONE, 1, "secret");
        let last = sealed.len() - 1;
        sealed[last] ^= 1;
        assert!(k.open(PHONE, 1, &sealed).is_err());
        assert!(k.open(PHONE, 1, b"short").is_err());
    }

    #[test]
    fn legacy_values_without_associated_data_still_open_and_need_a_reseal() {
        let k = keys(&[]);
        let legacy_cipher = cipher(&decode_key(crate::config::DEV_DATA_KEY).unwrap());
        let nonce = [9u8; 12];
        let mut legacy = vec![FORMAT_LEGACY, 1];
        legacy.extend_from_slice(&nonce);
        legacy.extend(
            legacy_cipher
                .encrypt(Nonce::from_slice(&nonce), &b"old"[..])
                .unwrap(),
        );
        assert_eq!(k.open(PHONE, 3, &legacy).unwrap(), b"old");
        assert!(k.needs_reseal(&legacy));
        assert!(!k.needs_reseal(&k.seal(PHONE, 3, b"old")));
    }

    #[test]
    fn keys_rotate() {
        let old = keys(&[]);
        let sealed = old.seal_str(Column::AccountEmail, 5, "email@example.com");
        let new = keys(&[
            ("PORTICO_DATA_KEY", K2),
            ("PORTICO_DATA_KEY_ID", "2"),
            (
                "PORTICO_DATA_KEYS_RETIRED",
                &format!("1:{}", crate::config::DEV_DATA_KEY),
            ),
        ]);
        assert_eq!(
            new.open_str(Column::AccountEmail, 5, &sealed).unwrap(),
            "email@example.com"
        );
        assert!(new.needs_reseal(&sealed));
        assert!(!new.needs_reseal(&new.seal_str(PHONE, 1, "x")));
        let without_old = keys(&[("PORTICO_DATA_KEY", K2), ("PORTICO_DATA_KEY_ID", "2")]);
        assert!(without_old.open(Column::AccountEmail, 5, &sealed).is_err());
    }

    #[test]
    fn blind_indexes_survive_a_data_key_rotation() {
        let before = keys(&[]);
        let after = keys(&[
            ("PORTICO_DATA_KEY", K2),
            ("PORTICO_DATA_KEY_ID", "2"),
            (
                "PORTICO_DATA_KEYS_RETIRED",
                &format!("1:{}", crate::config::DEV_DATA_KEY),
            ),
        ]);
        assert_eq!(
            before.blind_index("phone", "+86138"),
            after.blind_index("phone", "+86138")
        );
        assert_eq!(
            before.pseudonym("login-subject", b"mei"),
            after.pseudonym("login-subject", b"mei")
        );
        // The development index key is the one earlier versions derived from the development data key.
        assert_eq!(
            before.index_key,
            legacy_index_key(crate::config::DEV_DATA_KEY).unwrap()
        );
        let other_index = keys(&[("PORTICO_INDEX_KEY", K2)]);
        assert_ne!(
            before.blind_index("phone", "+86138"),
            other_index.blind_index("phone", "+86138")
        );
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
