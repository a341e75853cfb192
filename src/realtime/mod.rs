//! Realtime: the LISTEN/NOTIFY broker that carries events between gateway instances, and subscriptions.

pub mod broker;
pub mod graphql;
