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
            let state = crate::app::AppState::start(config).await?;
            crate::accounts::service::grant_role(&state.pool, &username, &role)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{username} now holds the {role} role");
            Ok(())
        }
        Command::DemoData => {
            let state = crate::app::AppState::start(config).await?;
            let report = crate::demo::load(&state.pool).await?;
            println!("{report}");
            Ok(())
        }
        Command::Schema => unreachable!("handled above"),
    }
}
