//! The application state every request handler shares: configuration, pool, schema, broker, keys, accounts.
//! It sits below `http` (which serves it) and above `schema`; `app` starts and serves it.

use std::sync::Arc;

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use crate::accounts::Accounts;
use crate::broker::Broker;
use crate::config::Config;
use crate::crypto::DataKeys;
use crate::db::{self, Pool};
use crate::schema::{self, PorticoSchema};

/// Everything a request handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Arc<Config>,
    pub pool: Pool,
    pub schema: PorticoSchema,
    pub broker: Broker,
    pub keys: DataKeys,
    pub accounts: Accounts,
    /// Wake-ups of each account's `access:<id>` changes, for its open sockets.
    pub access: crate::broker::KeyedWake,
    /// The configured push services (Web Push, FCM, APNs).
    pub push: Arc<crate::push::Services>,
    /// Uploaded images and their storage.
    pub media: crate::media::Media,
    pub database_url: String,
    /// The embedded migration versions `/readyz` expects in the database.
    pub migrations: Vec<String>,
    /// Cancelled when the server shuts down: WebSockets close with 1001.
    pub shutdown: CancellationToken,
    /// Documents that passed the checks, by their text (HTTP and WebSocket alike).
    pub documents: crate::graphql::analysis::Documents,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Prepares the database (zero-config when `DATABASE_URL` is unset), applies migrations and builds the state.
    pub async fn start(config: Config) -> anyhow::Result<AppState> {
        let url = db::bootstrap::prepare_database(&config).await?;
        let applied = db::migrations::run_pending(&url)
            .await
            .context("applying migrations")?;
        if !applied.is_empty() {
            tracing::info!(?applied, "applied migrations");
        }
        let state = Self::connect(config, &url)?;
        // Refuse to serve when the keys cannot open what is stored, or the index key finds nobody.
        crate::crypto::reseal::check_at_start(&state.pool, &state.keys, &state.config).await?;
        Ok(state)
    }

    /// Builds the state over an already migrated database.
    pub fn connect(config: Config, url: &str) -> anyhow::Result<AppState> {
        let pool = db::build_pool(&config, url)?;
        let keys = DataKeys::from_config(&config)?;
        let broker = Broker::start(url.to_string());
        let config = Arc::new(config);
        let accounts = Accounts::new(pool.clone(), keys.clone(), config.clone())?;
        accounts.live.listen(&broker);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .context("building the push HTTP client")?;
        let push = Arc::new(
            crate::push::Services::for_gateway(&config, &keys, client)
                .context("configuring push services")?,
        );
        let access = crate::broker::KeyedWake::start(&broker, "access");
        let media = crate::media::Media::new(
            pool.clone(),
            crate::media::Storage::from_config(&config.media.storage)?,
        );
        let schema = schema::build(
            &config,
            pool.clone(),
            broker.clone(),
            keys.clone(),
            accounts.clone(),
            push.clone(),
            media.clone(),
        );
        Ok(AppState(Arc::new(Inner {
            config,
            pool,
            schema,
            broker,
            keys,
            accounts,
            push,
            media,
            access,
            database_url: url.to_string(),
            migrations: db::migrations::embedded_versions(),
            shutdown: CancellationToken::new(),
            documents: Default::default(),
        })))
    }
}
