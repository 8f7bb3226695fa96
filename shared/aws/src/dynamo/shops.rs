//! `ShopStore`: Shopware registrations and the app's uninstall.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::ShopId;
use stammkunde_domain::ports::ShopStore;
use stammkunde_domain::registration::ShopwareRegistration;
use stammkunde_domain::secret::Secret;

use super::codec::shop::{
    decode_registration, API_KEY, CONFIRMED_AT, PENDING_SECRET, REGISTERED_AT, SECRET_KEY, SHOP_SECRET, SHOP_URL,
    UNINSTALLED_AT,
};
use super::codec::{s, time, Reader};
use super::errors::store_error;
use super::expr::Expr;
use super::schema::{registration_key, uninstall_key};
use super::DynamoStore;
use crate::dynamo::codec::key_item;

#[async_trait]
impl ShopStore for DynamoStore {
    async fn begin_registration(
        &self,
        shop: &ShopId,
        shop_url: &str,
        pending_secret: &Secret,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // Unconditional: a repeated registration replaces the pending secret and leaves the
        // confirmed one (and the credentials) signing until the new one is confirmed.
        let mut expr = Expr::default();
        let update = expr
            .set_clause(vec![
                (SHOP_URL, s(shop_url)),
                (PENDING_SECRET, s(pending_secret.expose())),
                (REGISTERED_AT, time(at)),
            ])
            .unwrap_or_default();
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&registration_key(shop))))
            .update_expression(update)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", e))?;
        Ok(())
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
}
