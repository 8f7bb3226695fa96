//! The points ledger: append-only entries per customer, the account they replay into, and the
//! decisions that say which entries a fact calls for.

pub mod decide;
pub mod entry;
pub mod lots;
pub mod reversal;
pub mod schedule;
pub mod state;
pub mod tiers;

pub use decide::{AdjustmentRequest, Decided, Decision, DecisionError, RedemptionRequest, Refusal, ReviewFact};
pub use entry::{
    AppendOutcome, Balance, Bucket, BusinessKey, EarnBasis, EntryDetail, EntryKind, LedgerEntry, LineCredit,
    LineReversal, ReversalCause, ReversalDetail, ENTRY_TEXT_LENGTH_MAX,
};
pub use state::{LedgerState, LedgerViolation};
