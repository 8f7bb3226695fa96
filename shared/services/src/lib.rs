//! Application services: the loops that read through the ports, decide with the domain, and write
//! through the ports. Shared by the functions that change a ledger (points, api, ledger sweep), so
//! each of them appends, retries and publishes the same way.

pub mod coupons;
pub mod each_shop;
pub mod ledger;
pub mod mail;
pub mod mailed_codes;
pub mod privacy;
pub mod reconsent;
pub mod sweep;

pub use coupons::{CodeGenerator, CodePool, Coupons};
pub use each_shop::sweep_each_shop;
pub use ledger::{LedgerError, LedgerOutcome, LedgerService};
pub use sweep::{LedgerSweep, SweepReport};
