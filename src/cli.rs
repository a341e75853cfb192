//! The command line: `serve` (default), `migrate`, `schema`, `users grant-role`, `demo-data`.

use clap::{Parser, Subcommand};

use crate::config::Config;

/// Portico: one GraphQL endpoint for a creative community's accounts, works, articles, consent and notices.
#[derive(Debug, Parser)]
#[command(name = "portico", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve GraphQL over HTTP and WebSocket, with GraphiQL in development (the default).
    ///
    /// Without DATABASE_URL it uses postgres://postgres@127.0.0.1:5432/portico, creates the database when it
    /// is missing, applies migrations, and starts a private cluster in .portico/ when nothing answers there.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL); `schema.graphql` is this output.
    Schema,
    /// Manage accounts.
    Users {
        #[command(subcommand)]
        command: UsersCommand,
    },
    /// Load realistic demonstration data (members, works, articles and collections, in English and Chinese).
    DemoData,
    /// Field-encryption keys: check them against the database, reseal after a rotation.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Count the sealed values per key id and check that the configured keys open them (writes nothing).
    Check,
    /// Seal every stored value again under the current PORTICO_DATA_KEY, in batches; resumable and idempotent.
    /// Afterwards the retired keys can be removed from PORTICO_DATA_KEYS_RETIRED.
    Reseal {
        /// Rows per batch (one transaction each).
        #[arg(long, default_value_t = crate::crypto::reseal::DEFAULT_BATCH)]
        batch_size: i64,
    },
    /// Print the index key that blind indexes were made with before PORTICO_INDEX_KEY existed (derived from
    /// PORTICO_DATA_KEY): an existing deployment sets PORTICO_INDEX_KEY to it once, then keeps it.
    LegacyIndexKey,
    /// Print a Web Push (VAPID) key pair: a new one, or with `--current` the one this configuration uses (in
    /// development, the one derived from the index key), so a deployment keeps its browsers' subscriptions.
    Vapid {
        #[arg(long)]
        current: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum UsersCommand {
    /// Give an account a role: user, staff or admin.
    GrantRole {
        /// The account's username (any case).
        username: String,
        /// user, staff or admin.
        role: String,
    },
}

/// Runs the parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Schema = command {
        print!("{}", crate::schema::sdl());
        return Ok(());
    }
    let config = Config::load()?;
    crate::telemetry::init_tracing(&config);
    match command {
        Command::Serve => crate::app::serve(config).await,
        Command::Migrate => {
            let url = crate::db::bootstrap::prepare_database(&config).await?;
            let applied = crate::db::migrations::run_pending(&url).await?;
            if applied.is_empty() {
                println!("the database is up to date");
            } else {
                println!(
                    "applied {} migration(s): {}",
                    applied.len(),
                    applied.join(", ")
                );
            }
            Ok(())
        }
        Command::Users {
            command: UsersCommand::GrantRole { username, role },
        } => {
            let state = crate::state::AppState::start(config).await?;
            crate::accounts::service::grant_role(&state.pool, &username, &role)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{username} now holds the {role} role");
            Ok(())
        }
        Command::DemoData => {
            let state = crate::state::AppState::start(config).await?;
            let report = crate::demo::load(&state.pool).await?;
            println!("{report}");
            Ok(())
        }
        Command::Keys { command } => keys(config, command).await,
        Command::Schema => unreachable!("handled above"),
    }
}

async fn keys(config: Config, command: KeysCommand) -> anyhow::Result<()> {
    use base64::Engine;
    if let KeysCommand::Vapid { current } = command {
        let key = if current {
            let keys = crate::crypto::DataKeys::from_config(&config)?;
            let services =
                crate::push::Services::for_gateway(&config, &keys, reqwest::Client::new())?;
            services
                .web_push
                .map(|w| w.key().clone())
                .ok_or_else(|| anyhow::anyhow!("Web Push is not configured"))?
        } else {
            crate::push::webpush::VapidKey::generate()
        };
        println!("PORTICO_WEBPUSH_VAPID_PRIVATE_KEY={}", key.private_key());
        println!("# public key (applicationServerKey): {}", key.public_key());
        return Ok(());
    }
    if let KeysCommand::LegacyIndexKey = command {
        let key = crate::crypto::legacy_index_key(&config.data_key)?;
        println!("{}", base64::engine::general_purpose::STANDARD.encode(key));
        return Ok(());
    }
    let url = crate::db::bootstrap::prepare_database(&config).await?;
    crate::db::migrations::run_pending(&url).await?;
    let pool = crate::db::build_pool(&config, &url)?;
    let keys = crate::crypto::DataKeys::from_config(&config)?;
    match command {
        KeysCommand::Check => {
            crate::crypto::reseal::check_at_start(&pool, &keys, &config).await?;
            for census in crate::crypto::reseal::census(&pool, &keys).await? {
                let (table, _, column) = census.column.location();
                for (format, id, count) in census.counts {
                    println!(
                        "{table}.{column}: {count} value(s) under key id {id} (format {format})"
                    );
                }
            }
            println!("every stored value opens with the configured keys");
        }
        KeysCommand::Reseal { batch_size } => {
            let report = crate::crypto::reseal::reseal(&pool, &keys, batch_size, |p| {
                println!(
                    "{}: {} of {} stale value(s) resealed so far",
                    p.location, p.resealed, p.stale
                )
            })
            .await?;
            println!("{report}");
            println!(
                "every stored value is now sealed under key id {}",
                keys.current_id()
            );
        }
        KeysCommand::LegacyIndexKey | KeysCommand::Vapid { .. } => unreachable!("handled above"),
    }
    Ok(())
}
