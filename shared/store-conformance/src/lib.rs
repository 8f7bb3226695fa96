//! One conformance suite for every store adapter.
//!
//! The suite is written once against the store port (`stammkunde_domain::ports::Store`) and run by
//! every backend, so a fake can never drift from the real thing. Each behaviour is a plain
//! `pub async fn` in [`suite`] taking `&dyn Store`; [`conformance_tests!`] turns all of them into
//! `#[tokio::test]`s for one backend:
//!
//! ```ignore
//! async fn fresh_store() -> std::sync::Arc<dyn stammkunde_domain::ports::Store> { /* … */ }
//! stammkunde_store_conformance::conformance_tests!(fresh_store);
//! // or, for a backend that applies a delivery's changes one by one:
//! stammkunde_store_conformance::conformance_tests!(
//!     fresh_store,
//!     stammkunde_store_conformance::Capabilities { atomic_apply: false }
//! );
//! ```
//!
//! `fresh_store` may return any value `v` for which `&*v` is a `&dyn Store`: an
//! `Arc<dyn Store>`, or a wrapper that also owns the store's temporary directory and derefs to
//! `dyn Store` (as the SQLite tests do), so the directory lives exactly as long as the test.
//! The calling crate needs `tokio` (features `macros`, `rt-multi-thread`) as a dev-dependency.
//! Every test works in its own freshly named shops, so the tests never see each other's data even
//! when a backend shares one table (or one moto server) between tests and between runs.

pub mod fixtures;
pub mod suite;

/// What a backend can promise beyond the port's minimum. Where backends legitimately differ the
/// suite asserts the weaker contract for all and the stronger one only where it is claimed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// `apply_delivery` applies all of a delivery's changes and its record in one transaction, so
    /// a duplicate writes nothing at all (SQLite). Without it, a duplicate may re-apply its
    /// idempotent changes (DynamoDB), which must still leave stored state identical.
    pub atomic_apply: bool,
}

impl Capabilities {
    /// Everything the port allows a store to promise.
    pub const ALL: Capabilities = Capabilities { atomic_apply: true };
}

/// Expands to one `#[tokio::test]` per suite behaviour, each on a fresh store from `$fresh_store`
/// (an `async fn() -> Arc<dyn Store>`, or anything else that derefs to `dyn Store`). Multi-threaded, so the concurrency tests really race.
#[macro_export]
macro_rules! conformance_tests {
    ($fresh_store:path) => {
        $crate::conformance_tests!($fresh_store, $crate::Capabilities::ALL);
    };
    ($fresh_store:path, $capabilities:expr) => {
        $crate::__conformance_tests_plain!(
            $fresh_store;
            // Customers through ingest.
            a_new_customer_is_stored_as_given,
            a_newer_profile_replaces_the_fields_it_carries_and_keeps_the_rest,
            an_older_or_equal_profile_changes_nothing,
            a_snapshot_profile_creates_an_unknown_customer_but_never_changes_a_known_one,
            a_deleted_customer_is_marked_once,
            a_deleted_customer_takes_no_newer_profile_and_no_last_order,
            deleting_an_unknown_customer_leaves_a_tombstone_no_late_profile_or_order_revives,
            a_birthday_remembers_when_it_was_first_stored,
            a_birthday_set_by_the_customer_or_merchant_moves_the_index_and_its_stamp_only_when_it_changes,
            // Orders through ingest.
            a_recorded_order_is_stored,
            a_newer_order_version_replaces_the_stored_order,
            an_older_or_equal_order_version_changes_nothing_and_reports_the_stored_order,
            a_recorded_order_moves_the_last_order_date_forward_only,
            a_recorded_order_creates_a_minimal_customer_when_none_exists,
            a_guest_order_is_stored_without_a_customer,
            an_order_keeps_its_first_customer_and_a_guest_order_takes_one,
            a_deleted_order_is_marked_cancelled_keeping_its_version,
            deleting_an_unknown_order_changes_nothing,
            // Shop-level changes through ingest.
            a_privacy_request_is_recorded_once_per_kind_and_reference,
            the_latest_uninstall_wins,
            applied_flags_say_which_changes_changed_stored_state,
            // Deliveries.
            a_delivery_is_seen_by_each_of_its_ids_once_applied,
            delivery_ids_are_per_shop,
            concurrent_applies_of_one_delivery_apply_it_once,
            // Ledger.
            an_append_at_the_ledgers_end_is_stored_and_moves_the_balance,
            an_append_behind_the_ledgers_end_writes_nothing_and_reports_moved,
            concurrent_appends_at_one_position_store_exactly_one,
            several_entries_append_together_or_not_at_all,
            entries_are_listed_in_position_order_and_always_agree_with_the_balance,
            an_entry_failing_its_check_is_refused_and_nothing_is_written,
            an_append_for_an_unknown_customer_creates_the_customer,
            every_kind_of_entry_comes_back_equal,
            // Timers.
            a_timer_is_stored_and_read_back,
            a_timer_from_a_shorter_ledger_never_overwrites_one_from_a_longer_ledger,
            due_timers_lists_the_customers_due_by_now_earliest_first_in_their_shop_only,
            clearing_or_moving_a_timer_changes_who_is_due,
            due_timer_pages_return_every_due_customer_exactly_once,
            // Codes.
            imported_codes_are_added_once_per_code,
            a_claim_binds_one_pooled_code_to_the_redemption_and_repeats_return_it,
            concurrent_claims_give_each_code_to_one_redemption_and_an_empty_pool_gives_none,
            concurrent_claims_of_one_redemption_bind_one_code,
            a_generated_code_is_stored_once_per_redemption_and_a_taken_code_is_refused,
            a_returned_code_goes_back_to_its_pool_and_only_its_redemption_can_return_it,
            // Refunds, listings and sweep marks.
            a_refund_is_stored_once_under_its_order_and_id_even_before_its_order,
            refunds_are_listed_oldest_first_for_their_order_only,
            every_customer_of_a_shop_is_listed_once_across_pages,
            a_sweep_mark_is_kept_per_shop_and_name,
            // Indexes.
            customers_are_found_by_normalized_email_in_their_shop_only,
            customers_are_found_by_birthday_in_their_shop_only,
            customers_are_found_by_the_utc_date_of_their_last_order,
            the_email_and_birthday_indexes_follow_a_changed_profile,
            the_last_order_index_follows_a_later_order,
            indexes_never_return_deleted_customers,
            index_pages_return_every_match_exactly_once,
            // Registration and uninstall.
            an_unknown_shop_has_no_registration_and_no_uninstall,
            beginning_a_registration_stores_a_pending_secret,
            confirming_with_the_pending_secret_promotes_it_and_stores_the_credentials,
            confirming_with_a_wrong_or_stale_secret_changes_nothing,
            registering_again_keeps_the_confirmed_secret_and_sets_a_new_pending_one,
            a_replayed_or_older_registration_is_refused_and_changes_nothing,
            a_registration_newer_than_the_last_accepted_is_accepted,
            concurrent_registrations_with_the_same_timestamp_accept_exactly_one,
            // Round trips.
            an_order_with_three_lines_comes_back_equal,
            a_customer_with_every_field_set_comes_back_equal,
        );
        $crate::__conformance_tests_with_capabilities!(
            $fresh_store, $capabilities;
            a_duplicate_delivery_is_reported_and_changes_nothing,
        );
    };
}

/// Expands to one `#[tokio::test]` per mail-store behaviour, each on a fresh store from
/// `$fresh_store` (anything that derefs to `dyn MailStore`).
#[macro_export]
macro_rules! mail_conformance_tests {
    ($fresh_store:path) => {
        $crate::__conformance_tests_plain!(
            $fresh_store;
            a_send_is_created_once_and_a_second_create_returns_the_first_unchanged,
            concurrent_claims_of_one_send_create_exactly_one,
            a_send_moves_on_only_from_the_state_the_caller_expects,
            a_claim_is_deleted_only_while_still_claimed,
            sends_claimed_since_counts_only_handed_over_mail_of_that_customer,
            due_sends_lists_deferred_records_and_claims_past_their_lease_earliest_first_in_their_shop_only,
            a_link_token_is_found_by_its_digest_only,
            deferred_pages_return_every_due_record_exactly_once,
            flagged_sends_lists_exactly_the_shops_records_flagged_for_review_page_by_page,
            mail_settings_round_trip_and_the_last_write_wins,
            a_guarded_settings_write_applies_only_to_the_revision_it_read,
            concurrent_guarded_settings_writes_from_one_read_apply_exactly_one,
            a_suppression_keeps_its_first_reason_per_shop,
            a_soft_bounce_counts_once_per_message_of_its_address_in_its_shop,
            concurrent_soft_bounces_lose_no_count_and_count_a_message_once,
            a_window_takes_exactly_its_limit_per_key_and_shop_and_the_next_starts_afresh,
            concurrent_takes_never_pass_the_limit,
        );
    };
}

/// Expands to one `#[tokio::test]` per erasure behaviour, each on a fresh store from
/// `$fresh_store` (anything that derefs to `dyn suite::PersonalDataStore`).
#[macro_export]
macro_rules! erasure_conformance_tests {
    ($fresh_store:path) => {
        $crate::__conformance_tests_plain!(
            $fresh_store;
            erasing_a_customer_removes_every_personal_field_and_keeps_the_ledger,
            erasing_an_unknown_customer_leaves_a_tombstone_that_nothing_revives,
            erasing_a_shop_deletes_what_its_customers_left_and_keeps_the_suppressions,
        );
    };
}

/// Expands to one `#[tokio::test]` per consent-ledger behaviour, each on a fresh store from
/// `$fresh_store` (anything that derefs to `dyn ConsentStore`).
#[macro_export]
macro_rules! consent_conformance_tests {
    ($fresh_store:path) => {
        $crate::__conformance_tests_plain!(
            $fresh_store;
            a_consent_record_is_appended_once_under_its_key,
            an_imported_record_keeps_the_time_the_merchant_claims,
            a_customers_consents_list_oldest_first_and_only_theirs,
            a_record_with_an_unprintable_source_is_refused_and_nothing_is_written,
            a_wording_is_kept_once_per_shop_under_its_digest,
            concurrent_records_under_one_key_append_exactly_one,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests_plain {
    ($fresh_store:path; $($name:ident,)+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store = $fresh_store().await;
                $crate::suite::$name(&*store).await;
            }
        )+
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests_with_capabilities {
    ($fresh_store:path, $capabilities:expr; $($name:ident,)+) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let store = $fresh_store().await;
                $crate::suite::$name(&*store, $capabilities).await;
            }
        )+
    };
}
