//! The rights domain's part of the schema: data exports and the deletion of a personal field, account
//! cancellation, and the staff-access audit.

pub mod cancellation;
pub mod export;
pub mod staff_access;

pub use cancellation::{AccountCancellation, CancellationContent, CancellationMutation};
pub use export::{DataExport, DataRightsMutation, data_exports, export_node};
pub use staff_access::{StaffAccessConnection, StaffAccessMutation, staff_accesses};
