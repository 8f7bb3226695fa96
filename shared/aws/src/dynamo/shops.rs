//! `ShopStore`: Shopware registrations, the app's uninstall, and the sweeps' bookmarks (one item
//! per shop and name, `{shop}#S` / `M#{name}`, overwritten by each `set_sweep_mark`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::ports::ShopStore;
use stammkunde_domain::registration::ShopwareRegistration;
use stammkunde_domain::secret::Secret;

use super::codec::shop::{
    decode_registration, encode_sweep_mark, API_KEY, CONFIRMED_AT, PENDING_SECRET, REGISTERED_AT, REQUESTED_AT,
    SECRET_KEY, SHOP_SECRET, SHOP_URL, SWEEP_MARK, UNINSTALLED_AT,
};
use super::codec::{s, time, Reader};
use super::errors::store_error;
use super::expr::Expr;
use super::schema::{registration_key, sweep_mark_key, uninstall_key};
use super::DynamoStore;

#[async_trait]
impl ShopStore for DynamoStore {
    async fn begin_registration(
        &self,
        shop: &ShopId,
        shop_url: &str,
        pending_secret: &Secret,
        requested_at: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // Conditional on the request being newer than the last accepted one, so a replayed
        // registration URL (the same signed timestamp) gets no new secret; of two registrations
        // with one timestamp, exactly one passes the condition. A newer registration replaces the
        // pending secret and leaves the confirmed one (and the credentials) signing until the new
        // one is confirmed.
        let mut expr = Expr::default();
        let update = expr
            .set_clause(vec![
                (SHOP_URL, s(shop_url)),
                (PENDING_SECRET, s(pending_secret.expose())),
                (REQUESTED_AT, time(requested_at)),
                (REGISTERED_AT, time(at)),
            ])
            .unwrap_or_default();
        let (last, requested) = (expr.name(REQUESTED_AT), expr.value(time(requested_at)));
        let condition = format!("attribute_not_exists({last}) OR {last} < {requested}");
        self.update_if(&registration_key(shop), update, condition, expr).await
    }

    async fn confirm_registration(
        &self,
        shop: &ShopId,
        confirmed_secret: &Secret,
        api_key: &Secret,
        secret_key: &Secret,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut expr = Expr::default();
        let mut update = expr
            .set_clause(vec![
                (SHOP_SECRET, s(confirmed_secret.expose())),
                (API_KEY, s(api_key.expose())),
                (SECRET_KEY, s(secret_key.expose())),
                (CONFIRMED_AT, time(at)),
            ])
            .unwrap_or_default();
        let pending = expr.name(PENDING_SECRET);
        update.push_str(&format!(" REMOVE {pending}"));
        // The guard compares with the value we are promoting, so a stale or replayed
        // confirmation (another secret, or none pending) changes nothing.
        let condition = format!("{pending} = {}", expr.value(s(confirmed_secret.expose())));
        self.update_if(&registration_key(shop), update, condition, expr).await
    }

    async fn registration(&self, shop: &ShopId) -> Result<Option<ShopwareRegistration>, StoreError> {
        self.get(&registration_key(shop)).await?.map(|item| decode_registration(shop, &item)).transpose()
    }

    async fn uninstalled_at(&self, shop: &ShopId) -> Result<Option<DateTime<Utc>>, StoreError> {
        match self.get(&uninstall_key(shop)).await? {
            Some(item) => Reader::new(&item).opt_time(UNINSTALLED_AT),
            None => Ok(None),
        }
    }

    async fn sweep_mark(&self, shop: &ShopId, name: &str) -> Result<Option<String>, StoreError> {
        match self.get(&sweep_mark_key(shop, name)).await? {
            Some(item) => Reader::new(&item).opt_s(SWEEP_MARK).map(|v| v.map(str::to_owned)),
            None => Ok(None),
        }
    }

    async fn set_sweep_mark(&self, shop: &ShopId, name: &str, value: &str) -> Result<(), StoreError> {
        // Unconditional: a bookmark is the sweep's own progress, and the last write is the latest.
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(encode_sweep_mark(shop, name, value)))
            .send()
            .await
            .map_err(|e| store_error("PutItem", e))?;
        Ok(())
    }

    async fn mark_shop_erased(&self, shop: &ShopId, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.mark_erased(shop, at).await
    }

    async fn shop_erased_at(&self, shop: &ShopId) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.erased_at(shop).await
    }

    async fn erase_shop_batch(&self, shop: &ShopId, limit: u32) -> Result<bool, StoreError> {
        self.erase_batch(shop, limit).await
    }
}
