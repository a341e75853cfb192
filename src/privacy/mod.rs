//! Privacy: policy versions and their purposes, the consent ledger every flow checks, partners and what they
//! may receive, and the aggregate statistics partners read. Below `accounts` and `content`, which record and
//! check consent through [`service`]; what a member may ask of their data lives one floor up, in
//! `crate::rights`.

pub mod consent;
pub mod current;
pub mod model;
pub mod partners;
pub mod policy;
pub mod service;
pub mod statistics;
mod store;
