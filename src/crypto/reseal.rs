//! Sealed values at rest and the keys that open them: the check made at start (the configured keys open what
//! is stored, and the index key is the one the stored blind indexes were made with) and `portico keys reseal`,
//! which moves every stored sealed value to the current data key.
//!
//! A reseal first checks, without writing anything, that every key id found in the database is configured and
//! opens a value sealed under it. It then walks each sealed column in key order, in batches of one transaction
//! each; a value is rewritten only when it still holds what was read (so a concurrent update wins), and only
//! when it uses a retired key or the format without associated data. Running it again after an interruption
//! resumes where it stopped, and running it when nothing is stale writes nothing.

use std::fmt;

use diesel::sql_types::{BigInt, Bytea, Integer, Nullable};
use diesel_async::{AsyncConnection, RunQueryDsl};

use crate::crypto::{self, Column, DataKeys};
use crate::db::Pool;

/// Values read per reseal batch (one transaction each).
pub const DEFAULT_BATCH: i64 = 500;

/// Why the stored values and the configured keys do not agree.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "{count} value(s) in {location} are sealed under data key id {id}, which is not configured. Add that key to \
         PORTICO_DATA_KEYS_RETIRED as `{id}:<base64>` (or make it PORTICO_DATA_KEY with PORTICO_DATA_KEY_ID={id}); \
         nothing was written."
    )]
    MissingKey {
        id: u8,
        location: String,
        count: i64,
    },
    #[error(
        "the data key configured with id {id} does not open a value sealed under id {id} ({location}, row {row}): \
         PORTICO_DATA_KEY or PORTICO_DATA_KEYS_RETIRED holds a different key for that id; nothing was written."
    )]
    WrongKey { id: u8, location: String, row: i64 },
    #[error(
        "PORTICO_INDEX_KEY is not the key the stored blind indexes were made with (accounts row {row}), so no one \
         could sign in by phone or email. Set it back to the key in use{hint}."
    )]
    WrongIndexKey { row: i64, hint: String },
    #[error(
        "{location} row {row} holds a value that is not sealed data ({len} bytes); nothing was written."
    )]
    Malformed {
        location: String,
        row: i64,
        len: usize,
    },
    #[error(transparent)]
    Database(#[from] anyhow::Error),
}

impl From<diesel::result::Error> for KeyError {
    fn from(e: diesel::result::Error) -> Self {
        KeyError::Database(e.into())
    }
}

impl From<crate::db::PoolError> for KeyError {
    fn from(e: crate::db::PoolError) -> Self {
        KeyError::Database(anyhow::Error::new(e).context("database pool"))
    }
}

fn location(column: Column) -> String {
    let (table, _, value) = column.location();
    format!("{table}.{value}")
}

#[derive(diesel::QueryableByName)]
struct KeyCount {
    #[diesel(sql_type = Nullable<Integer>)]
    format: Option<i32>,
    #[diesel(sql_type = Nullable<Integer>)]
    key_id: Option<i32>,
    #[diesel(sql_type = BigInt)]
    count: i64,
}

#[derive(diesel::QueryableByName)]
struct SealedRow {
    #[diesel(sql_type = BigInt)]
    row_key: i64,
    #[diesel(sql_type = Bytea)]
    value: Vec<u8>,
}

/// How many values of one column are sealed under each (format, key id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Census {
    pub column: Column,
    /// `(format, key id, values)`.
    pub counts: Vec<(u8, u8, i64)>,
}

/// Counts the sealed values of every stored column by format and key id, and checks that each key id is
/// configured and opens a sample value. Writes nothing.
pub async fn census(pool: &Pool, keys: &DataKeys) -> Result<Vec<Census>, KeyError> {
    let mut conn = pool.get().await?;
    let mut out = Vec::new();
    for column in Column::STORED {
        let (table, key, value) = column.location();
        let rows: Vec<KeyCount> = diesel::sql_query(format!(
            "SELECT CASE WHEN length({value}) >= 30 THEN get_byte({value}, 0) END AS format, \
                    CASE WHEN length({value}) >= 30 THEN get_byte({value}, 1) END AS key_id, count(*) AS count \
             FROM {table} WHERE {value} IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2"
        ))
        .load(&mut conn)
        .await?;
        let mut counts = Vec::new();
        for r in rows {
            let (Some(format), Some(id)) = (r.format, r.key_id) else {
                let bad: SealedRow = diesel::sql_query(format!(
                    "SELECT {key} AS row_key, {value} AS value FROM {table} \
                     WHERE {value} IS NOT NULL AND length({value}) < 30 LIMIT 1"
                ))
                .get_result(&mut conn)
                .await?;
                return Err(KeyError::Malformed {
                    location: location(column),
                    row: bad.row_key,
                    len: bad.value.len(),
                });
            };
            let id = id as u8;
            if !keys.has_key(id) {
                return Err(KeyError::MissingKey {
                    id,
                    location: location(column),
                    count: r.count,
                });
            }
            let sample: SealedRow = diesel::sql_query(format!(
                "SELECT {key} AS row_key, {value} AS value FROM {table} \
                 WHERE length({value}) >= 30 AND get_byte({value}, 0) = $1 AND get_byte({value}, 1) = $2 \
                 ORDER BY {key} LIMIT 1"
            ))
            .bind::<Integer, _>(format)
            .bind::<Integer, _>(id as i32)
            .get_result(&mut conn)
            .await?;
            if keys.open(column, sample.row_key, &sample.value).is_err() {
                return Err(KeyError::WrongKey {
                    id,
                    location: location(column),
                    row: sample.row_key,
                });
            }
            counts.push((format as u8, id, r.count));
        }
        out.push(Census { column, counts });
    }
    Ok(out)
}

/// The check made at start: the oldest and the newest account with a phone open with the configured keys, and
/// their blind indexes match the configured index key. An empty database passes. Cheap: two indexed rows.
pub async fn check_at_start(
    pool: &Pool,
    keys: &DataKeys,
    config: &crate::config::Config,
) -> Result<(), KeyError> {
    #[derive(diesel::QueryableByName)]
    struct Sample {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Bytea)]
        phone_ciphertext: Vec<u8>,
        #[diesel(sql_type = Bytea)]
        phone_index: Vec<u8>,
    }
    let mut conn = pool.get().await?;
    let samples: Vec<Sample> = diesel::sql_query(
        "(SELECT id, phone_ciphertext, phone_index FROM accounts \
           WHERE phone_ciphertext IS NOT NULL AND phone_index IS NOT NULL ORDER BY id LIMIT 1) \
         UNION ALL \
         (SELECT id, phone_ciphertext, phone_index FROM accounts \
           WHERE phone_ciphertext IS NOT NULL AND phone_index IS NOT NULL ORDER BY id DESC LIMIT 1)",
    )
    .load(&mut conn)
    .await?;
    for s in samples {
        let Some((_, id)) = crypto::header(&s.phone_ciphertext) else {
            return Err(KeyError::Malformed {
                location: location(Column::AccountPhone),
                row: s.id,
                len: s.phone_ciphertext.len(),
            });
        };
        if !keys.has_key(id) {
            return Err(KeyError::MissingKey {
                id,
                location: location(Column::AccountPhone),
                count: 1,
            });
        }
        let Ok(phone) = keys.open_str(Column::AccountPhone, s.id, &s.phone_ciphertext) else {
            return Err(KeyError::WrongKey {
                id,
                location: location(Column::AccountPhone),
                row: s.id,
            });
        };
        if keys.blind_index("phone", &phone) != s.phone_index {
            // Indexes made before PORTICO_INDEX_KEY existed used a key derived from the data key of the time.
            let legacy = std::iter::once(&config.data_key)
                .chain(config.retired_data_keys.iter().map(|(_, k)| k))
                .any(|k| {
                    crypto::legacy_blind_index(k, "phone", &phone).as_ref() == Some(&s.phone_index)
                });
            let hint = match legacy {
                true => "; this database's indexes were made before PORTICO_INDEX_KEY existed, from one of the \
                    configured data keys: set PORTICO_INDEX_KEY to the output of `portico keys legacy-index-key`"
                    .to_string(),
                false => String::new(),
            };
            return Err(KeyError::WrongIndexKey { row: s.id, hint });
        }
    }
    Ok(())
}

/// Progress of a reseal, reported after each batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnReport {
    pub location: String,
    /// Stale values found (a retired key or the old format).
    pub stale: i64,
    /// Values sealed again under the current key.
    pub resealed: i64,
}

/// What a reseal did, per column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResealReport {
    pub columns: Vec<ColumnReport>,
}

impl ResealReport {
    pub fn resealed(&self) -> i64 {
        self.columns.iter().map(|c| c.resealed).sum()
    }
}

impl fmt::Display for ResealReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in &self.columns {
            writeln!(f, "{}: {} resealed", c.location, c.resealed)?;
        }
        write!(
            f,
            "{} value(s) resealed under the current key",
            self.resealed()
        )
    }
}

/// Seals every stored value that uses a retired key (or the format without associated data) again under the
/// current key, in batches of `batch` rows; `progress` hears of each batch. Checks the keys first (see
/// [`census`]) and writes nothing when they do not open what is stored.
pub async fn reseal(
    pool: &Pool,
    keys: &DataKeys,
    batch: i64,
    mut progress: impl FnMut(&ColumnReport),
) -> Result<ResealReport, KeyError> {
    census(pool, keys).await?;
    let mut report = ResealReport::default();
    let mut conn = pool.get().await?;
    let current = i32::from(keys.current_id());
    for column in Column::STORED {
        let (table, key, value) = column.location();
        let mut col = ColumnReport {
            location: location(column),
            ..Default::default()
        };
        let mut last = i64::MIN;
        loop {
            let rows: Vec<SealedRow> = diesel::sql_query(format!(
                "SELECT {key} AS row_key, {value} AS value FROM {table} \
                 WHERE {key} > $1 AND {value} IS NOT NULL \
                   AND (get_byte({value}, 0) <> 2 OR get_byte({value}, 1) <> $2) \
                 ORDER BY {key} LIMIT $3"
            ))
            .bind::<BigInt, _>(last)
            .bind::<Integer, _>(current)
            .bind::<BigInt, _>(batch.max(1))
            .load(&mut conn)
            .await?;
            let Some(end) = rows.last().map(|r| r.row_key) else {
                break;
            };
            let resealed = conn
                .transaction::<_, KeyError, _>(async |conn| {
                    let mut n = 0;
                    for r in &rows {
                        let plain = keys.open(column, r.row_key, &r.value).map_err(|_| {
                            KeyError::WrongKey {
                                id: r.value.get(1).copied().unwrap_or(0),
                                location: location(column),
                                row: r.row_key,
                            }
                        })?;
                        let sealed = keys.seal(column, r.row_key, &plain);
                        n += diesel::sql_query(format!(
                            "UPDATE {table} SET {value} = $1 WHERE {key} = $2 AND {value} = $3"
                        ))
                        .bind::<Bytea, _>(&sealed)
                        .bind::<BigInt, _>(r.row_key)
                        .bind::<Bytea, _>(&r.value)
                        .execute(conn)
                        .await? as i64;
                    }
                    Ok(n)
                })
                .await?;
            col.stale += rows.len() as i64;
            col.resealed += resealed;
            last = end;
            progress(&col);
        }
        report.columns.push(col);
    }
    Ok(report)
}
