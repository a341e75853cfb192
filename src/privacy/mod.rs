//! Privacy: policy versions and their purposes (and, as the domain grows, the consent ledger, export, erasure,
//! partners, disclosures, field encryption and the staff-access audit).

pub mod consent;
pub mod crypto;
pub mod graphql;
pub mod model;
pub mod service;
mod store;
