//! Realtime: notifications and security incidents, the LISTEN/NOTIFY broker that carries events between
//! gateway instances, the per-instance feed behind subscriptions, and delivery tracking.
//!
//! - [`broker`]: one `LISTEN` connection per instance, fanned out in-process;
//! - [`feed`]: the stream behind each `notifications` subscription (replay after a cursor, then live);
//! - [`loaders`]: the batched notice reader the feed shares among subscriptions;
//! - [`delivery`]: batched recording of when notices went out on a socket;
//! - [`service`]: the rules (notices, cursors, incidents), [`store`]: the queries, [`model`]: the rows;
//! - [`graphql`]: the schema part.

pub mod broker;
pub mod delivery;
pub mod feed;
pub mod graphql;
pub mod loaders;
pub mod model;
pub mod service;
mod store;
