//! Erasing a customer's personal data (`CustomerEdits::erase_customer`): one UpdateItem of the
//! profile that removes its personal attributes and the index keys made of them (`g1` holds the
//! address) and marks it deleted, one DeleteItem of the mail settings, and a DeleteItem per consent
//! record (a strongly consistent Query of `Q#` finds them; a customer has a handful). Each write is
//! idempotent, so a retry after a failure part-way finishes the job.

use chrono::{DateTime, Utc};

use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};

use super::codec::customer::{
    BIRTHDAY, BIRTHDAY_SINCE, COUNTRY, DELETED_AT, EMAIL, FIRST_NAME, LAST_NAME, LOCALE, MARKETING,
};
use super::codec::{key_item, s, time, Reader};
use super::errors::store_error;
use super::expr::Expr;
use super::schema::{
    consent_record_key, customer_pk, mail_contact_key, profile_key, shop_customers_index_value, Key, BY_SHOP,
    CUSTOMER_INDEXES, SK, SK_CONSENT_PREFIX,
};
use super::{DynamoStore, SkRange};

/// The profile's personal attributes: all of it but the keys, the balance-free bookkeeping
/// (`su`, `lo`) and the deletion time.
const PERSONAL: [&str; 8] = [EMAIL, FIRST_NAME, LAST_NAME, LOCALE, COUNTRY, BIRTHDAY, BIRTHDAY_SINCE, MARKETING];

impl DynamoStore {
    pub(super) async fn erase(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut expr = Expr::default();
        let deleted = expr.name(DELETED_AT);
        let at = expr.value(time(at));
        let listing = expr.name(BY_SHOP.attribute);
        let shop_value = expr.value(s(shop_customers_index_value(shop)));
        let mut removed: Vec<String> = PERSONAL.iter().map(|a| expr.name(a)).collect();
        removed.extend(CUSTOMER_INDEXES.iter().map(|i| expr.name(i.attribute)));
        // Deleted customers stay in the shop's listing (`by_shop`), as a deletion leaves them.
        let update = format!(
            "SET {deleted} = if_not_exists({deleted}, {at}), {listing} = {shop_value} REMOVE {}",
            removed.join(", ")
        );
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&profile_key(shop, customer))))
            .update_expression(update)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await
            .map_err(|e| store_error("UpdateItem", e))?;
        self.delete(&mail_contact_key(shop, customer)).await?;
        let records = self.query_partition(&customer_pk(shop, customer), SkRange::Prefix(SK_CONSENT_PREFIX)).await?;
        for item in &records {
            let key = Reader::new(item).s(SK)?;
            let record_key = key.strip_prefix(SK_CONSENT_PREFIX).unwrap_or(key);
            self.delete(&consent_record_key(shop, customer, record_key)).await?;
        }
        Ok(())
    }

    async fn delete(&self, key: &Key) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .send()
            .await
            .map_err(|e| store_error("DeleteItem", e))?;
        Ok(())
    }
}
