//! Refunds: stored in their order's partition (`{shop}#O#{order}` / `F#{refund}`), whether or not
//! the order is known yet, so the order and its refunds are one Query away from each other.

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{OrderId, ShopId};
use stammkunde_domain::refund::Refund;

use super::codec::refund::{decode_refund, encode_refund};
use super::schema::{order_pk, SK_REFUND_PREFIX};
use super::{DynamoStore, SkRange};

impl DynamoStore {
    /// `Change::RecordRefund`: one conditional PutItem under (order, refund id). A repeat
    /// delivery of the refund finds the key taken and changes nothing (not applied).
    pub(super) async fn record_refund(&self, refund: &Refund) -> Result<bool, StoreError> {
        self.put_new(encode_refund(refund)?).await
    }

    /// The order's refunds, oldest first (ties by refund id): a strongly consistent Query of the
    /// order's partition, whose sort keys order them by id only.
    pub(super) async fn order_refunds(&self, shop: &ShopId, order: &OrderId) -> Result<Vec<Refund>, StoreError> {
        let items = self.query_partition(&order_pk(shop, order), SkRange::Prefix(SK_REFUND_PREFIX)).await?;
        let mut refunds = items.iter().map(|item| decode_refund(shop, order, item)).collect::<Result<Vec<_>, _>>()?;
        refunds.sort_by(|a, b| (a.created_at, &a.refund_id).cmp(&(b.created_at, &b.refund_id)));
        Ok(refunds)
    }
}
