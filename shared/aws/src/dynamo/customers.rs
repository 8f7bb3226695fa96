//! `CustomerStore`: customer and order reads, and one Query page per index read (never a Scan).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::NaiveDate;
use stammkunde_domain::customer::{Birthday, Customer, Email};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, OrderId, ShopId};
use stammkunde_domain::ingest::PrivacyRequest;
use stammkunde_domain::order::Order;
use stammkunde_domain::ports::{CustomerStore, Page, PageRequest, PAGE_LIMIT_MAX};

use super::codec::customer::decode_customer;
use super::codec::ledger::decode_entry;
use super::codec::order::decode_order;
use super::codec::shop::decode_privacy_request;
use super::codec::{Item, Reader};
use super::errors::store_error;
use super::expr::Expr;
use super::paging::{decode_cursor, encode_cursor};
use super::schema::{
    birthday_index_value, customer_from_pk, customer_pk, email_index_value, last_order_index_value, order_key,
    privacy_pk, CustomerIndex, BY_BIRTHDAY, BY_EMAIL, BY_LAST_ORDER, PK, SK, SK_LEDGER_PREFIX, SK_PROFILE,
};
use super::DynamoStore;

#[async_trait]
impl CustomerStore for DynamoStore {
    async fn customer(&self, shop: &ShopId, customer: &CustomerId) -> Result<Option<Customer>, StoreError> {
        // The profile (`C`) and the ledger entries (`L#…`) share the customer's partition: one
        // paginated Query reads them all, and the balance is the replay of the entries (there is
        // no stored balance to read). Any other item in the partition is not part of the customer
        // and is skipped.
        let items = self.query_partition(&customer_pk(shop, customer), None).await?;
        let mut profile = None;
        let mut entries = Vec::new();
        for item in &items {
            let sk = Reader::new(item).s(SK)?;
            if sk == SK_PROFILE {
                profile = Some(item);
            } else if sk.starts_with(SK_LEDGER_PREFIX) {
                entries.push(decode_entry(shop, customer, item)?);
            }
        }
        decode_customer(shop, customer, profile, &entries)
    }

    async fn order(&self, shop: &ShopId, order: &OrderId) -> Result<Option<Order>, StoreError> {
        self.get(&order_key(shop, order)).await?.map(|item| decode_order(shop, order, &item)).transpose()
    }

    async fn privacy_requests(&self, shop: &ShopId) -> Result<Vec<PrivacyRequest>, StoreError> {
        let items = self.query_partition(&privacy_pk(shop), None).await?;
        let mut requests =
            items.iter().map(|item| decode_privacy_request(shop, item)).collect::<Result<Vec<_>, _>>()?;
        requests.sort_by(|a, b| {
            (a.received_at, a.kind.as_str(), &a.request_ref).cmp(&(b.received_at, b.kind.as_str(), &b.request_ref))
        });
        Ok(requests)
    }

    async fn customers_by_email(
        &self,
        shop: &ShopId,
        email: &Email,
        page: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError> {
        self.index_page(shop, BY_EMAIL, email_index_value(shop, email.as_str()), page).await
    }

    async fn customers_by_birthday(
        &self,
        shop: &ShopId,
        month: u8,
        day: u8,
        page: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError> {
        // An impossible date matches nobody; asking for it is not an error.
        let Ok(birthday) = Birthday::new(month, day, None) else {
            return Ok(Page { items: Vec::new(), next: None });
        };
        self.index_page(shop, BY_BIRTHDAY, birthday_index_value(shop, &birthday.month_day()), page).await
    }

    async fn customers_by_last_order_date(
        &self,
        shop: &ShopId,
        date: NaiveDate,
        page: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError> {
        self.index_page(shop, BY_LAST_ORDER, last_order_index_value(shop, date), page).await
    }
}

impl DynamoStore {
    /// One Query on a sparse index. Asks for one item more than the page so `next` is `None`
    /// exactly when this is the last page (DynamoDB alone would hand back a cursor to an empty
    /// page whenever the last page happens to be full).
    async fn index_page(
        &self,
        shop: &ShopId,
        index: CustomerIndex,
        value: String,
        page: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError> {
        let limit = page.limit.clamp(1, PAGE_LIMIT_MAX);
        let start = page.cursor.as_deref().map(|c| decode_cursor(c, index.attribute, &value)).transpose()?;
        let mut expr = Expr::default();
        let condition = format!("{} = {}", expr.name(index.attribute), expr.value(AttributeValue::S(value)));
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index.name)
            .key_condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .limit(i32::try_from(limit + 1).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| store_error("Query", e))?;
        let items = out.items.unwrap_or_default();
        let page_size = usize::try_from(limit).unwrap_or(usize::MAX);
        let ids = items.iter().take(page_size).map(|item| customer_of(shop, item)).collect::<Result<Vec<_>, _>>()?;
        let next = match (items.get(page_size), items.get(page_size.wrapping_sub(1))) {
            (Some(_), Some(last)) => Some(encode_cursor(&index_key(last, index))?),
            _ => out.last_evaluated_key.filter(|k| !k.is_empty()).map(|k| encode_cursor(&k)).transpose()?,
        };
        Ok(Page { items: ids, next })
    }
}

fn customer_of(shop: &ShopId, item: &Item) -> Result<CustomerId, StoreError> {
    let r = Reader::new(item);
    customer_from_pk(shop, r.s(PK)?).ok_or_else(|| r.corrupt("index entry is not a customer of this shop"))
}

/// The index item's key attributes: the shape of a LastEvaluatedKey for this index.
fn index_key(item: &Item, index: CustomerIndex) -> Item {
    item.iter()
        .filter(|(name, _)| [PK, SK, index.attribute].contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}
