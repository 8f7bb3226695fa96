//! How the API answers what the ledger says: refusals are the client's to fix (409/422), the
//! rest is ours (5xx) and retryable where the service says so.

use http::StatusCode;

use stammkunde_domain::error::cause_chain;
use stammkunde_domain::ledger::Refusal;
use stammkunde_http::Reply;
use stammkunde_services::LedgerError;

pub(crate) fn no_customer() -> Reply {
    Reply::error(StatusCode::NOT_FOUND, "not_found", "no such customer in this shop")
}

pub(crate) fn refusal(refusal: &Refusal) -> Reply {
    let (status, code) = match refusal {
        Refusal::InsufficientPoints { .. } => (StatusCode::CONFLICT, "insufficient_points"),
        Refusal::NotBought => (StatusCode::CONFLICT, "not_bought"),
        Refusal::KeyReused => (StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused"),
        Refusal::UnknownReward => (StatusCode::NOT_FOUND, "unknown_reward"),
        _ => (StatusCode::BAD_REQUEST, "bad_request"),
    };
    Reply::error(status, code, refusal.to_string())
}

pub(crate) fn ledger_error(error: LedgerError) -> Reply {
    match error {
        LedgerError::Refused(r) => refusal(&r),
        LedgerError::Store(e) => e.into(),
        LedgerError::Bus(e) => e.into(),
        LedgerError::Contention { .. } => {
            Reply::error(StatusCode::SERVICE_UNAVAILABLE, "store_unavailable", "the ledger is busy; retry")
        }
        LedgerError::Violation(v) => {
            tracing::error!(error = %cause_chain(&v), "ledger invariant");
            Reply::error(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the ledger refused the write")
        }
    }
}
