//! `ConsentStore`: records in the customer's partition under `Q#{key}`, wordings in a partition
//! per shop (`{shop}#W`); item shapes in `codec::consent`.
//!
//! `record_consent` is a PutItem under `attribute_not_exists(pk)`: the business key is the sort
//! key, so a retried or concurrent second record fails the condition, which hands back the stored
//! one (ALL_OLD; if DynamoDB sent none, a strongly consistent GetItem reads it). `put_wording` is
//! the same create, its failure success: the same digest is the same words. `consents` is one
//! strongly consistent Query on `begins_with(sk, "Q#")`, sorted by time and key here (a customer
//! has a handful of records).

use async_trait::async_trait;
use stammkunde_domain::consent::{ConsentRecord, ConsentWording, WordingDigest};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::ports::{ConsentStore, CreateOutcome};

use super::codec::consent::{decode_record, decode_wording, encode_record, encode_wording};
use super::expr::Expr;
use super::schema::{consent_record_key, customer_pk, wording_key, PK, SK_CONSENT_PREFIX};
use super::{DynamoStore, SkRange};

#[async_trait]
impl ConsentStore for DynamoStore {
    async fn put_wording(&self, wording: &ConsentWording) -> Result<(), StoreError> {
        self.put_new(encode_wording(wording)?).await.map(|_| ())
    }

    async fn wording(&self, shop: &ShopId, digest: &WordingDigest) -> Result<Option<ConsentWording>, StoreError> {
        self.get(&wording_key(shop, digest)).await?.map(|item| decode_wording(&item)).transpose()
    }

    async fn record_consent(&self, record: &ConsentRecord) -> Result<CreateOutcome<ConsentRecord>, StoreError> {
        record.check().map_err(|e| StoreError::Invariant(e.to_string()))?;
        let mut expr = Expr::default();
        let condition = format!("attribute_not_exists({})", expr.name(PK));
        let Some(old) = self.put_if(encode_record(record)?, condition, expr).await? else {
            return Ok(CreateOutcome::Created);
        };
        let stored = if old.is_empty() {
            self.get(&consent_record_key(&record.shop, &record.customer_id, &record.key)).await?
        } else {
            Some(old)
        };
        match stored {
            Some(item) => decode_record(&item).map(CreateOutcome::Exists),
            None => Err(StoreError::Invariant(format!("consent record {} neither created nor found", record.key))),
        }
    }

    async fn consents(&self, shop: &ShopId, customer: &CustomerId) -> Result<Vec<ConsentRecord>, StoreError> {
        let items = self.query_partition(&customer_pk(shop, customer), SkRange::Prefix(SK_CONSENT_PREFIX)).await?;
        let mut records = items.iter().map(decode_record).collect::<Result<Vec<_>, _>>()?;
        records.sort_by(|a, b| (a.at, &a.key).cmp(&(b.at, &b.key)));
        Ok(records)
    }
}
