//! The shared store conformance suite, run against SQLite: a fresh database file per test.

mod common;

use common::fresh_store;

stammkunde_store_conformance::conformance_tests!(fresh_store);

/// The mail suite, on the same kind of fresh database.
mod mail {
    use std::ops::Deref;

    use stammkunde_domain::ports::MailStore;

    pub struct MailTestStore(super::common::TestStore);

    impl Deref for MailTestStore {
        type Target = dyn MailStore;

        fn deref(&self) -> &Self::Target {
            &self.0.store
        }
    }

    async fn fresh_mail_store() -> MailTestStore {
        MailTestStore(super::fresh_store().await)
    }

    stammkunde_store_conformance::mail_conformance_tests!(fresh_mail_store);
}

/// The consent suite, on the same kind of fresh database.
mod consent {
    use std::ops::Deref;

    use stammkunde_domain::ports::ConsentStore;

    pub struct ConsentTestStore(super::common::TestStore);

    impl Deref for ConsentTestStore {
        type Target = dyn ConsentStore;

        fn deref(&self) -> &Self::Target {
            &self.0.store
        }
    }

    async fn fresh_consent_store() -> ConsentTestStore {
        ConsentTestStore(super::fresh_store().await)
    }

    stammkunde_store_conformance::consent_conformance_tests!(fresh_consent_store);
}

/// The erasure suite, on the same kind of fresh database.
mod erasure {
    use std::ops::Deref;

    use stammkunde_store_conformance::suite::PersonalDataStore;

    pub struct ErasureTestStore(super::common::TestStore);

    impl Deref for ErasureTestStore {
        type Target = dyn PersonalDataStore;

        fn deref(&self) -> &Self::Target {
            &self.0.store
        }
    }

    async fn fresh_erasure_store() -> ErasureTestStore {
        ErasureTestStore(super::fresh_store().await)
    }

    stammkunde_store_conformance::erasure_conformance_tests!(fresh_erasure_store);
}
