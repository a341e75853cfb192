//! The zero-config start: find or make a database so `cargo run --release` works on a machine with PostgreSQL.
//!
//! 1. Use `DATABASE_URL`, or `postgres://postgres@127.0.0.1:5432/portico` when it is unset.
//! 2. Create the database when the server answers but the database is missing.
//! 3. When nothing answers at the default address and PostgreSQL's binaries are installed, start a private
//!    cluster in `.portico/` (through the `postgres` system user when running as root, since `initdb` refuses root).
//! 4. Otherwise, explain in one paragraph what to do.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail};
use diesel_async::AsyncConnection;
use diesel_async::AsyncPgConnection;
use diesel_async::RunQueryDsl;

use super::{database_name, url_with_database};
use crate::config::{Config, DEFAULT_DATABASE_URL};

/// Resolves the database URL, creating the database (and a private cluster) when needed.
pub async fn prepare_database(config: &Config) -> anyhow::Result<String> {
    let explicit = config.database_url.is_some();
    let url = config
        .database_url
        .clone()
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string());
    match ensure_database(&url).await {
        Ok(()) => Ok(url),
        Err(e) if !explicit && is_unreachable(&e) => {
            tracing::info!(
                "nothing answers at {url}; looking for PostgreSQL binaries to start a private cluster"
            );
            let Some(bin) = find_postgres_bin() else {
                bail!(no_database_paragraph(&url, &e));
            };
            start_private_cluster(&bin, Path::new(".portico"), port_of(&url))
                .await
                .with_context(|| no_database_paragraph(&url, &e))?;
            ensure_database(&url).await?;
            Ok(url)
        }
        Err(e) if is_unreachable(&e) => bail!(no_database_paragraph(&url, &e)),
        Err(e) => Err(e),
    }
}

fn no_database_paragraph(url: &str, e: &anyhow::Error) -> String {
    format!(
        "Portico needs PostgreSQL and could not reach it at {url} ({e:#}). Start a PostgreSQL server \
         (on Debian: `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`), or install \
         PostgreSQL's server binaries so Portico can start a private cluster in .portico/, or set DATABASE_URL \
         to a server you can reach, for example postgres://user:password@host:5432/portico."
    )
}

fn is_unreachable(e: &anyhow::Error) -> bool {
    let text = format!("{e:#}").to_ascii_lowercase();
    [
        "connection refused",
        "could not connect",
        "no such file",
        "timed out",
        "error connecting",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// Connects to the server's maintenance database and creates the target database when it is missing.
pub async fn ensure_database(url: &str) -> anyhow::Result<()> {
    let name = database_name(url).context("DATABASE_URL names no database")?;
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        bail!("database name `{name}` may only hold letters, digits, `_` and `-`");
    }
    let admin_url = url_with_database(url, "postgres");
    let mut conn = tokio::time::timeout(
        Duration::from_secs(5),
        AsyncPgConnection::establish(&admin_url),
    )
    .await
    .map_err(|_| anyhow::anyhow!("timed out connecting to {admin_url}"))?
    .with_context(|| format!("could not connect to {admin_url}"))?;
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let found: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(&name)
            .get_result(&mut conn)
            .await?;
    if !found.exists {
        match diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await
        {
            Ok(_) => tracing::info!(database = %name, "created database"),
            // Another process created it at the same moment.
            Err(e) if e.to_string().contains("already exists") => {}
            Err(e) => return Err(e).context(format!("could not create database {name}")),
        }
    }
    Ok(())
}

/// The newest installed PostgreSQL `bin` directory that holds `initdb` and `pg_ctl`.
pub fn find_postgres_bin() -> Option<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("bin"))
        .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
        .collect();
    candidates.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    candidates.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL binary, as the `postgres` system user when we are root.
fn run_pg(bin: &Path, args: &[&str]) -> anyhow::Result<()> {
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    let out = cmd
        .args(args)
        .output()
        .with_context(|| format!("could not run {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "{} failed: {}{}",
            bin.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

/// The port of a PostgreSQL URL (5432 when it names none).
fn port_of(url: &str) -> u16 {
    let after = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let authority = after.split(['/', '?']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    host.rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or(5432)
}

/// Initialises (once) and starts a private cluster under `dir`, listening on 127.0.0.1:`port`.
pub async fn start_private_cluster(bin: &Path, dir: &Path, port: u16) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let dir = dir.canonicalize()?;
    let data = dir.join("pgdata");
    if is_root() {
        Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()?;
    }
    if !data.join("PG_VERSION").exists() {
        tracing::info!(dir = %data.display(), "initialising a private PostgreSQL cluster");
        run_pg(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-instructions",
            ],
        )?;
    }
    tracing::info!("starting the private PostgreSQL cluster on 127.0.0.1:{port}");
    let opts = format!(
        "-c listen_addresses=127.0.0.1 -p {port} -k {}",
        dir.display()
    );
    let log = dir.join("postgres.log");
    run_pg(
        &bin.join("pg_ctl"),
        &[
            "-D",
            data.to_str().unwrap(),
            "-o",
            &opts,
            "-l",
            log.to_str().unwrap(),
            "-w",
            "-t",
            "30",
            "start",
        ],
    )?;
    Ok(())
}

/// Stops a private cluster started by [`start_private_cluster`].
pub fn stop_private_cluster(bin: &Path, dir: &Path) -> anyhow::Result<()> {
    let data = dir.canonicalize()?.join("pgdata");
    run_pg(
        &bin.join("pg_ctl"),
        &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports() {
        assert_eq!(port_of("postgres://postgres@127.0.0.1:5432/portico"), 5432);
        assert_eq!(port_of("postgres://u:p@h:6000/db?x=1"), 6000);
        assert_eq!(port_of("postgres://h/db"), 5432);
    }
}
