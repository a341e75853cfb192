//! The entry points of the rights domain for the graph, the HTTP layer and the jobs.

pub use super::audit::{
    PersonalData, StaffAccessRow, access_personal_data, check_reason, staff_accesses_page,
};
pub use super::cancellation::{
    Cancellation, cancellation_of, pending_cancellation, request_cancellation, revoke_cancellation,
};
pub use super::erasure::run_due as erase_due_accounts;
pub use super::export::link::{LinkError, verify as verify_export_link};
pub use super::export::{
    ExportRow, ExportStatus, Refusal as ExportRefusal, archive_for as export_archive, export_of,
    recent_exports, request_export, run_pending_exports,
};
