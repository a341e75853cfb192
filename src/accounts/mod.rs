//! Accounts: identity, roles and (as the domain grows) registration, sign-in, tokens, sessions and profiles.

pub mod service;
mod store;
