//! Consent and privacy rights: policy versions, the consent ledger, export, deletion, cancellation and
//! erasure, partners and disclosures, de-identified statistics, and audited staff access.

mod cancellation;
mod consent;
mod current_policy;
mod export;
mod leaks;
mod partners;
mod reconsent;
mod staff_access;
mod statistics;
