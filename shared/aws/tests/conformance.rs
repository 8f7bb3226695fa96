//! The shared store conformance suite, on DynamoDB (moto). Each test gets a table of its own.

mod common;

use std::sync::Arc;

use stammkunde_domain::ports::Store;
use stammkunde_store_conformance::Capabilities;

async fn fresh_store() -> Arc<dyn Store> {
    Arc::new(common::fresh_dynamo_store().await)
}

// DynamoDB applies a delivery's changes one conditional write at a time (a failed guard must not
// cancel the others), so a duplicate may re-apply idempotent changes: no atomic apply.
stammkunde_store_conformance::conformance_tests!(fresh_store, Capabilities { atomic_apply: false });

/// The mail suite, on the same kind of fresh table.
mod mail {
    use std::sync::Arc;

    use stammkunde_domain::ports::MailStore;

    async fn fresh_mail_store() -> Arc<dyn MailStore> {
        Arc::new(super::common::fresh_dynamo_store().await)
    }

    stammkunde_store_conformance::mail_conformance_tests!(fresh_mail_store);
}

/// The consent suite, on the same kind of fresh table.
mod consent {
    use std::sync::Arc;

    use stammkunde_domain::ports::ConsentStore;

    async fn fresh_consent_store() -> Arc<dyn ConsentStore> {
        Arc::new(super::common::fresh_dynamo_store().await)
    }

    stammkunde_store_conformance::consent_conformance_tests!(fresh_consent_store);
}

/// The erasure suite, on the same kind of fresh table.
mod erasure {
    use std::sync::Arc;

    use stammkunde_store_conformance::suite::PersonalDataStore;

    async fn fresh_erasure_store() -> Arc<dyn PersonalDataStore> {
        Arc::new(super::common::fresh_dynamo_store().await)
    }

    stammkunde_store_conformance::erasure_conformance_tests!(fresh_erasure_store);
}
