//! Privacy: policy versions and their purposes (and, as the domain grows, the consent ledger, export, erasure,
//! partners, disclosures, field encryption and the staff-access audit).

pub mod audit;
pub mod cancellation;
pub mod consent;
pub mod erasure;
pub mod export;
pub mod graphql;
pub mod model;
pub mod partners;
pub mod policy;
pub mod retention;
pub mod service;
pub mod statistics;
mod store;
