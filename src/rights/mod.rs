//! Rights: what a member may ask of the data held about them, and the duties that serve it. Export (access and
//! portability, policy 6.1), erasure and account cancellation (6.3, 6.4), the staff-access audit a member can
//! read (5.2), and the retention job that deletes what is kept no longer than needed (4.1).
//!
//! One floor above `accounts` and `content`, whose data it gathers and erases through their service functions,
//! and above `privacy`, whose ledger it reads; the graph (`crate::schema`) and the jobs in `crate::app` call it.

pub mod audit;
pub mod cancellation;
pub mod erasure;
pub mod export;
pub mod retention;
pub mod service;
