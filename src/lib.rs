//! Portico: a GraphQL gateway for a creative-community website.
//!
//! Data flows one way, down these floors: `cli` -> `app` -> `http` -> `state` -> `schema` (the graph) -> the
//! domains (`rights` -> `accounts` -> `content` -> `privacy` -> `realtime`) -> the building blocks (`media` -> `messaging` -> `push` -> `graphql` ->
//! `crypto` -> `broker` -> `backoff` -> `client` -> `clock` -> `error` -> `db` -> `telemetry` -> `config`). `tests/it/architecture.rs`
//! holds the order and fails on an import that points up or sideways.

pub mod accounts;
pub mod app;
pub mod backoff;
pub mod broker;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod content;
pub mod crypto;
pub mod db;
pub mod demo;
pub mod error;
pub mod graphql;
pub mod http;
pub mod media;
pub mod messaging;
pub mod privacy;
pub mod push;
pub mod realtime;
pub mod rights;
pub mod schema;
pub mod state;
pub mod telemetry;
