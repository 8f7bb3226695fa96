//! An import of consents a shop's previous tool held: each customer's consent recorded as the
//! merchant's word (`granted`, method `import`, the merchant's source and claimed time), counted
//! as consent until the re-permission deadline, and their re-permission mail scheduled.
//!
//! All or nothing for what can be checked: every row is read before anything is written, and an
//! unknown customer or an idempotency key used before for a different import refuses the whole
//! import. Customers who cannot or need not be asked (deleted, no address, suppressed,
//! unsubscribed, confirmed already, asked already) are skipped and counted. The same import again
//! (the same key and rows) writes nothing new and answers the same; one cut short by a crash
//! finishes on a retry, since every step of `schedule` is idempotent and a customer whose import
//! record exists is scheduled on that record's date.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use stammkunde_domain::config::ShopConfig;
use stammkunde_domain::consent::{
    confirmed_at, import_key, Actor, ConsentAction, ConsentBasis, ConsentMethod, ConsentRecord,
};
use stammkunde_domain::customer::Customer;
use stammkunde_domain::ids::{CustomerId, IdempotencyKey};
use stammkunde_domain::ports::CreateOutcome;

use super::{Reconsent, ReconsentError, Skip};

/// Unknown customers named in a refusal; the count is always whole.
const UNKNOWN_LISTED_MAX: usize = 20;

/// One customer's consent as the previous tool held it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRow {
    pub customer_id: CustomerId,
    /// When they consented there, if the merchant knows.
    pub claimed_at: Option<DateTime<Utc>>,
    /// Where they consented: the merchant's words (`import: Mailchimp, signup form 2021`).
    pub source: String,
}

#[derive(Clone, Debug)]
pub struct Import {
    pub key: IdempotencyKey,
    pub rows: Vec<ImportRow>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub rows: usize,
    /// Customers whose imported consent is on their ledger and whose re-permission is scheduled.
    pub imported: usize,
    pub skipped: BTreeMap<&'static str, usize>,
    /// The latest deadline set by this import.
    pub confirm_by: Option<DateTime<Utc>>,
}

/// What the import does for one row, decided from what was read (boxed: a plan to import holds
/// a whole customer, a skip a word).
enum Plan {
    Import(Box<(Customer, ConsentRecord)>),
    Skip(Skip),
}

impl Reconsent {
    pub async fn import(&self, shop: &ShopConfig, import: &Import) -> Result<ImportReport, ReconsentError> {
        if !shop.mail.enabled {
            return Err(ReconsentError::MailDisabled);
        }
        let mut plans = Vec::with_capacity(import.rows.len());
        let mut unknown = Vec::new();
        for row in &import.rows {
            match self.plan(shop, import, row).await? {
                Some(plan) => plans.push(plan),
                None => unknown.push(row.customer_id.clone()),
            }
        }
        if !unknown.is_empty() {
            unknown.truncate(UNKNOWN_LISTED_MAX);
            return Err(ReconsentError::UnknownCustomers(unknown));
        }
        let mut report = ImportReport { rows: import.rows.len(), ..ImportReport::default() };
        for plan in plans {
            match plan {
                Plan::Skip(skip) => *report.skipped.entry(skip.as_str()).or_default() += 1,
                Plan::Import(planned) => {
                    let (customer, record) = *planned;
                    let first = match self.consent.record_consent(&record).await? {
                        CreateOutcome::Created => record,
                        CreateOutcome::Exists(stored) => stored,
                    };
                    let imported_at = first.claimed_at.or(Some(first.at));
                    let deadline = self.schedule(shop, &customer, first.at.date_naive(), imported_at).await?;
                    report.imported += 1;
                    report.confirm_by = report.confirm_by.max(Some(deadline));
                }
            }
        }
        tracing::info!(shop = %shop.id, key = %import.key, rows = report.rows, imported = report.imported, "consents imported");
        Ok(report)
    }

    /// Reads what the row concerns; `None` for a customer the shop does not have.
    async fn plan(&self, shop: &ShopConfig, import: &Import, row: &ImportRow) -> Result<Option<Plan>, ReconsentError> {
        let Some(customer) = self.customers.customer(&shop.id, &row.customer_id).await? else { return Ok(None) };
        let record = ConsentRecord {
            shop: shop.id.clone(),
            customer_id: row.customer_id.clone(),
            key: import_key(import.key.as_str()),
            at: self.clock.now(),
            topic: None,
            action: ConsentAction::Granted,
            method: ConsentMethod::Import,
            source: row.source.clone(),
            wording: None,
            actor: Actor::default(),
            basis: ConsentBasis::Consent,
            claimed_at: row.claimed_at,
        };
        record.check()?;
        let records = self.consent.consents(&shop.id, &row.customer_id).await?;
        // This import's record, from an earlier attempt: the same claim continues, another is a
        // different import under a used key.
        if let Some(stored) = records.iter().find(|r| r.key == record.key) {
            if (stored.claimed_at, &stored.source) != (record.claimed_at, &record.source) {
                return Err(ReconsentError::KeyReused(row.customer_id.clone()));
            }
            return Ok(Some(Plan::Import(Box::new((customer, stored.clone())))));
        }
        let contact = self.mail.contact(&shop.id, &row.customer_id).await?.unwrap_or_default();
        if let Some(skip) = self.reachable(shop, &customer, &contact).await? {
            return Ok(Some(Plan::Skip(skip)));
        }
        if contact.double_opt_in_standing() && confirmed_at(&records).is_some() {
            return Ok(Some(Plan::Skip(Skip::AlreadyConfirmed)));
        }
        if contact.reconsent_by.is_some() {
            return Ok(Some(Plan::Skip(Skip::AlreadyPending)));
        }
        Ok(Some(Plan::Import(Box::new((customer, record)))))
    }
}
