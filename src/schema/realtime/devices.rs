//! Push devices in the schema: registering and unregistering them, listing them, and the VAPID public key.

use std::sync::Arc;

use async_graphql::{Context, Enum, ID, InputObject, Object};
use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::crypto::DataKeys;
use crate::error::{AppError, AppResult};
use crate::graphql::viewer::Viewer;
use crate::graphql::{ids, pool};
use crate::push::{ApnsEnvironment as Environment, Kind, Services, Target};
use crate::realtime::devices::{self, Device, NewDevice, Rules};

/// The service a push device is reached through.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum PushDeviceKind {
    /// A browser's Web Push subscription (`PushManager.subscribe`).
    WebPush,
    /// An Android (or other) app's Firebase Cloud Messaging registration token.
    Fcm,
    /// An iOS app's Apple Push Notification service device token.
    Apns,
}

impl From<Kind> for PushDeviceKind {
    fn from(kind: Kind) -> Self {
        match kind {
            Kind::WebPush => PushDeviceKind::WebPush,
            Kind::Fcm => PushDeviceKind::Fcm,
            Kind::Apns => PushDeviceKind::Apns,
        }
    }
}

/// Which APNs gateway an APNs token belongs to.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ApnsEnvironment {
    /// Development builds of the app.
    Sandbox,
    /// App Store and TestFlight builds.
    Production,
}

/// A device to register for push notifications. For `WEB_PUSH` give `endpoint`, `p256dh` and `auth` (the
/// fields of `PushSubscription.toJSON()`); for `FCM` and `APNS` the device `token` (and for `APNS` its
/// `environment`).
#[derive(InputObject)]
pub struct RegisterPushDeviceInput {
    pub kind: PushDeviceKind,
    /// A name the member recognises the device by ("Firefox on my laptop"), at most 100 characters.
    pub label: Option<String>,
    /// Web Push: the push service URL of the subscription.
    pub endpoint: Option<String>,
    /// Web Push: the subscription's P-256 public key, base64url (`keys.p256dh`).
    #[graphql(name = "p256dh")]
    pub p256dh: Option<String>,
    /// Web Push: the subscription's 16-byte auth secret, base64url (`keys.auth`).
    pub auth: Option<String>,
    /// FCM or APNs: the device token.
    pub token: Option<String>,
    /// APNs: the gateway the token belongs to (default `PRODUCTION`).
    pub environment: Option<ApnsEnvironment>,
}

fn required(value: Option<String>, field: &str, kind: &str) -> AppResult<String> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| AppError::bad_input(field, format!("{kind} devices need `{field}`")))
}

impl RegisterPushDeviceInput {
    fn into_device(self) -> AppResult<NewDevice> {
        let stray = |fields: &[(&str, bool)]| -> AppResult<()> {
            match fields.iter().find(|(_, given)| *given) {
                Some((field, _)) => Err(AppError::bad_input(
                    *field,
                    format!("`{field}` does not belong to a {:?} device", self.kind),
                )),
                None => Ok(()),
            }
        };
        let target = match self.kind {
            PushDeviceKind::WebPush => {
                stray(&[
                    ("token", self.token.is_some()),
                    ("environment", self.environment.is_some()),
                ])?;
                Target::WebPush {
                    endpoint: required(self.endpoint, "endpoint", "WEB_PUSH")?,
                    p256dh: required(self.p256dh, "p256dh", "WEB_PUSH")?,
                    auth: required(self.auth, "auth", "WEB_PUSH")?,
                }
            }
            PushDeviceKind::Fcm => {
                stray(&[
                    ("endpoint", self.endpoint.is_some()),
                    ("p256dh", self.p256dh.is_some()),
                    ("auth", self.auth.is_some()),
                    ("environment", self.environment.is_some()),
                ])?;
                Target::Fcm {
                    token: required(self.token, "token", "FCM")?,
                }
            }
            PushDeviceKind::Apns => {
                stray(&[
                    ("endpoint", self.endpoint.is_some()),
                    ("p256dh", self.p256dh.is_some()),
                    ("auth", self.auth.is_some()),
                ])?;
                Target::Apns {
                    token: required(self.token, "token", "APNS")?,
                    environment: match self.environment {
                        Some(ApnsEnvironment::Sandbox) => Environment::Sandbox,
                        _ => Environment::Production,
                    },
                }
            }
        };
        Ok(NewDevice {
            target,
            label: self.label.unwrap_or_default(),
        })
    }
}

/// A device the signed-in member registered for push notifications.
pub struct PushDevice(pub Device);

/// A browser or phone that receives the member's notices as push notifications, also when no app is open.
#[Object]
impl PushDevice {
    /// Global id of this device (`unregisterPushDevice` takes it).
    async fn id(&self) -> ID {
        ids::encode("PushDevice", self.0.id)
    }
    /// The service it is reached through.
    async fn kind(&self) -> PushDeviceKind {
        self.0.kind.into()
    }
    /// The name the member gave it.
    async fn label(&self) -> &str {
        &self.0.label
    }
    /// When it was registered (or last registered again).
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    /// When a push last reached its service; null until one has.
    async fn last_delivered_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_delivered_at
    }
}

fn services<'a>(ctx: &'a Context<'_>) -> &'a Arc<Services> {
    ctx.data_unchecked::<Arc<Services>>()
}

/// The signed-in member's push devices, oldest first (`viewer { pushDevices }`).
pub async fn devices_of(ctx: &Context<'_>, account_id: i64) -> AppResult<Vec<PushDevice>> {
    Ok(devices::devices_of(pool(ctx), account_id)
        .await?
        .into_iter()
        .map(PushDevice)
        .collect())
}

#[derive(Default)]
pub struct PushQuery;

/// Web Push set-up.
#[Object]
impl PushQuery {
    /// The VAPID public key (base64url, an uncompressed P-256 point) a browser passes as
    /// `applicationServerKey` to `PushManager.subscribe`; null when Web Push is not configured.
    async fn web_push_public_key(&self, ctx: &Context<'_>) -> Option<String> {
        services(ctx).web_push_public_key().map(str::to_string)
    }
}

#[derive(Default)]
pub struct PushMutation;

/// Registering the member's devices for push notifications.
#[Object]
impl PushMutation {
    /// Registers a browser or phone for push notifications of the signed-in member's notices: security
    /// incidents, account-security notices and policy updates reach it even when no app is open. The same
    /// endpoint or token registering again renews its device. At most 20 devices per member.
    async fn register_push_device(
        &self,
        ctx: &Context<'_>,
        input: RegisterPushDeviceInput,
    ) -> async_graphql::Result<PushDevice> {
        let account_id = Viewer::from_ctx(ctx).require()?.account_id;
        let device = input.into_device()?;
        if !services(ctx).accepts(device.target.kind()) {
            return Err(AppError::bad_input(
                "kind",
                "this server has no credentials for that push service",
            )
            .into());
        }
        let config = ctx.data_unchecked::<Arc<Config>>();
        let rules = Rules {
            allow_loopback_http: !config.is_production(),
        };
        let keys = ctx.data_unchecked::<DataKeys>();
        let device = devices::register(pool(ctx), keys, rules, account_id, device).await?;
        Ok(PushDevice(device))
    }

    /// Unregisters one of the signed-in member's push devices; false when it has none with that id.
    async fn unregister_push_device(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<bool> {
        let account_id = Viewer::from_ctx(ctx).require()?.account_id;
        let id = ids::decode_i64(&id, "PushDevice", "id")?;
        Ok(devices::unregister(pool(ctx), account_id, id).await?)
    }
}
