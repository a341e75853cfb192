//! Push devices: the browsers (Web Push) and phones (FCM, APNs) a member registered, and the delivery of every
//! notice to them when no socket is open (or as well as the socket: a phone in a pocket hears it either way).
//!
//! A device's endpoint and keys, or its token, are sealed for its row; a blind index of the endpoint or token
//! finds the same device registering again, which replaces its row (and moves it, when another account signs
//! in on it). Notices are queued for every device of their account in the statement that writes them
//! ([`store::FAN_OUT_CTE`]), so they go out exactly when the notice commits; [`worker`] sends them.

pub mod store;
pub mod worker;

use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde_json::{Value, json};

use crate::crypto::{Column, DataKeys};
use crate::db::Pool;
use crate::error::{AppError, AppResult};
use crate::push::{Kind, Target};

pub use store::DeviceRow;

/// The most devices one account may register.
pub const MAX_DEVICES: i64 = 20;
/// The longest device label, in characters.
pub const MAX_LABEL_CHARS: usize = 100;

/// What a client registers.
#[derive(Debug, Clone)]
pub struct NewDevice {
    pub target: Target,
    pub label: String,
}

/// A device as its owner sees it.
#[derive(Debug, Clone)]
pub struct Device {
    pub id: i64,
    pub kind: Kind,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub last_delivered_at: Option<DateTime<Utc>>,
}

impl From<DeviceRow> for Device {
    fn from(row: DeviceRow) -> Device {
        Device {
            id: row.id,
            kind: Kind::parse(&row.kind).unwrap_or(Kind::WebPush),
            label: row.label,
            created_at: row.created_at,
            last_delivered_at: row.last_delivered_at,
        }
    }
}

/// The registration rules, fixed at start.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Plain-http Web Push endpoints on loopback are accepted (development and tests).
    pub allow_loopback_http: bool,
}

/// Checks and normalises what a client sent; `BAD_USER_INPUT` on the field at fault.
fn check(device: NewDevice, rules: Rules) -> AppResult<NewDevice> {
    let label = device.label.trim().to_string();
    if label.chars().count() > MAX_LABEL_CHARS {
        return Err(AppError::bad_input(
            "label",
            format!("a device label has at most {MAX_LABEL_CHARS} characters"),
        ));
    }
    let target = match device.target {
        Target::WebPush {
            endpoint,
            p256dh,
            auth,
        } => {
            let endpoint = endpoint.trim().to_string();
            crate::push::webpush::check_subscription(
                &endpoint,
                &p256dh,
                &auth,
                rules.allow_loopback_http,
            )
            .map_err(|(field, why)| AppError::bad_input(field, why))?;
            Target::WebPush {
                endpoint,
                p256dh: p256dh.trim().to_string(),
                auth: auth.trim().to_string(),
            }
        }
        Target::Fcm { token } => {
            let token = token.trim().to_string();
            if token.is_empty()
                || token.len() > 4096
                || !token.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(AppError::bad_input(
                    "token",
                    "an FCM registration token is 1 to 4096 printable characters",
                ));
            }
            Target::Fcm { token }
        }
        Target::Apns { token, environment } => {
            let token = token.trim().to_ascii_lowercase();
            if !(64..=200).contains(&token.len()) || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(AppError::bad_input(
                    "token",
                    "an APNs device token is 64 to 200 hexadecimal digits",
                ));
            }
            Target::Apns { token, environment }
        }
    };
    Ok(NewDevice { target, label })
}

/// Registers a device for an account, or renews it when the same endpoint or token registers again. At most
/// [`MAX_DEVICES`] per account.
pub async fn register(
    pool: &Pool,
    keys: &DataKeys,
    rules: Rules,
    account_id: i64,
    device: NewDevice,
) -> AppResult<Device> {
    let device = check(device, rules)?;
    let index = keys.blind_index("push", device.target.address());
    let json = serde_json::to_vec(&device.target).map_err(anyhow::Error::from)?;
    let mut conn = pool.get().await?;
    let row = conn
        .transaction::<_, AppError, _>(async |conn| {
            if !store::lock_account(conn, account_id).await? {
                return Err(AppError::Unauthenticated);
            }
            if let Some(existing) = store::by_index(conn, &index).await? {
                let sealed = keys.seal(Column::PushTarget, existing.id, &json);
                if existing.account_id != account_id
                    && store::count_of(conn, account_id).await? >= MAX_DEVICES
                {
                    return Err(too_many());
                }
                return Ok(
                    store::replace(conn, existing.id, account_id, &device.label, sealed).await?,
                );
            }
            if store::count_of(conn, account_id).await? >= MAX_DEVICES {
                return Err(too_many());
            }
            let id = store::next_id(conn).await?;
            Ok(store::insert(
                conn,
                store::NewDeviceRow {
                    id,
                    account_id,
                    kind: device.target.kind().as_str(),
                    label: &device.label,
                    target_ciphertext: keys.seal(Column::PushTarget, id, &json),
                    target_index: index,
                },
            )
            .await?)
        })
        .await?;
    Ok(row.into())
}

fn too_many() -> AppError {
    AppError::bad_input(
        "input",
        format!("an account has at most {MAX_DEVICES} push devices; unregister one first"),
    )
}

/// Unregisters one of the account's devices; false when it has none with that id.
pub async fn unregister(pool: &Pool, account_id: i64, id: i64) -> AppResult<bool> {
    let mut conn = pool.get().await?;
    Ok(store::delete_of(&mut conn, account_id, id).await?)
}

/// The account's devices, oldest first.
pub async fn devices_of(pool: &Pool, account_id: i64) -> AppResult<Vec<Device>> {
    let mut conn = pool.get().await?;
    Ok(store::of_account(&mut conn, account_id)
        .await?
        .into_iter()
        .map(Device::from)
        .collect())
}

/// Erases an account's devices (and what was queued for them), in the caller's transaction.
pub async fn erase_account_devices(
    conn: &mut AsyncPgConnection,
    account_id: i64,
) -> AppResult<usize> {
    Ok(store::delete_all_of(conn, account_id).await?)
}

/// The account's devices for its data export: what each is, where it is reached, when it last was.
pub async fn export_rows(
    conn: &mut AsyncPgConnection,
    keys: &DataKeys,
    account_id: i64,
) -> AppResult<Vec<Value>> {
    let rows = store::of_account(conn, account_id).await?;
    rows.into_iter()
        .map(|row| {
            let target = open_target(keys, row.id, &row.target_ciphertext)?;
            let address = match &target {
                Target::WebPush { endpoint, .. } => json!({ "endpoint": endpoint }),
                Target::Fcm { token } => json!({ "token": token }),
                Target::Apns { token, environment } => {
                    json!({ "token": token, "environment": environment })
                }
            };
            Ok(json!({
                "id": crate::graphql::ids::encode("PushDevice", row.id).0,
                "kind": row.kind,
                "label": row.label,
                "address": address,
                "createdAt": row.created_at,
                "lastDeliveredAt": row.last_delivered_at,
            }))
        })
        .collect()
}

/// Opens a device's sealed target.
pub fn open_target(keys: &DataKeys, id: i64, sealed: &[u8]) -> AppResult<Target> {
    let json = keys.open(Column::PushTarget, id, sealed).map_err(|_| {
        anyhow::anyhow!("push device {id} cannot be opened with the configured keys")
    })?;
    Ok(serde_json::from_slice(&json).map_err(anyhow::Error::from)?)
}
