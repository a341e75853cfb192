//! Portico: a GraphQL gateway for a creative-community website.
//!
//! Data flows one way: `http` -> `schema` -> the domains (`accounts`, `content`, `privacy`, `realtime`) ->
//! the building blocks (`graphql`, `error`, `db`, `messaging`, `telemetry`).

pub mod accounts;
pub mod app;
pub mod cli;
pub mod config;
pub mod content;
pub mod db;
pub mod demo;
pub mod error;
pub mod graphql;
pub mod http;
pub mod keys;
pub mod messaging;
pub mod privacy;
pub mod realtime;
pub mod schema;
pub mod telemetry;
