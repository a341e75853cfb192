//! Realtime: notifications and security incidents, the per-instance feed behind subscriptions (woken by the
//! crate's [`crate::broker`]), and delivery tracking.
//!
//! - [`feed`]: the stream behind each `notifications` subscription (replay after a cursor, then live);
//! - [`loaders`]: the batched notice reader the feed shares among subscriptions;
//! - [`delivery`]: batched recording of when notices went out on a socket;
//! - [`devices`]: push devices (Web Push, FCM, APNs) and the worker that pushes every notice to them;
//! - [`service`]: the rules (notices, cursors, incidents), [`store`]: the queries, [`model`]: the rows;
//! - [`graphql`]: the schema part.

pub mod delivery;
pub mod devices;
pub mod feed;
pub mod loaders;
pub mod model;
pub mod service;
mod store;
