//! `CustomerStore`: customer, order and refund reads, and one Query page per index read (never a
//! Scan).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use stammkunde_domain::customer::{Birthday, Customer, Email};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, OrderId, ShopId};
use stammkunde_domain::ingest::PrivacyRequest;
use stammkunde_domain::order::Order;
use stammkunde_domain::ports::{CustomerEdits, CustomerStore, Page, PageRequest};
use stammkunde_domain::refund::Refund;

use super::codec::customer::decode_customer;
use super::codec::order::decode_order;
use super::codec::shop::decode_privacy_request;
use super::codec::{Item, Reader};
use super::ledger::decode_ledger;
use super::paging::IndexPage;
use super::schema::{
    birthday_index_value, customer_from_pk, customer_pk, email_index_value, last_order_index_value, order_key,
    privacy_pk, shop_customers_index_value, CustomerIndex, BY_BIRTHDAY, BY_EMAIL, BY_LAST_ORDER, BY_SHOP, PK, SK,
    SK_CUSTOMER_LAST, SK_LEDGER_PREFIX, SK_PROFILE,
};
use super::{DynamoStore, SkRange};

#[async_trait]
impl CustomerEdits for DynamoStore {
    async fn set_birthday(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        birthday: Option<Birthday>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.write_birthday(shop, customer, birthday.as_ref(), at).await
    }

    async fn erase_customer(&self, shop: &ShopId, customer: &CustomerId, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.erase(shop, customer, at).await
    }
}

#[async_trait]
impl CustomerStore for DynamoStore {
    async fn customer(&self, shop: &ShopId, customer: &CustomerId) -> Result<Option<Customer>, StoreError> {
        // The profile (`C`) and the ledger entries (`L#…`) share the customer's partition: one
        // paginated Query reads them, and the balance is the replay of the entries (there is no
        // stored balance to read). Its sort key range is `C` to `L#~`, so the mail records after
        // them (`M#…`, `MC`) and the timer (`T`) are not read: a customer collects a few dozen
        // send records a year, and every credit reads the customer.
        let items =
            self.query_partition(&customer_pk(shop, customer), SkRange::Between(SK_PROFILE, SK_CUSTOMER_LAST)).await?;
        let mut profile = None;
        let mut ledger = Vec::new();
        for item in &items {
            let sk = Reader::new(item).s(SK)?;
            if sk == SK_PROFILE {
                profile = Some(item);
            } else if sk.starts_with(SK_LEDGER_PREFIX) {
                ledger.push(item);
            }
        }
        let entries = decode_ledger(shop, customer, ledger)?;
        decode_customer(shop, customer, profile, &entries)
    }

    async fn order(&self, shop: &ShopId, order: &OrderId) -> Result<Option<Order>, StoreError> {
        self.get(&order_key(shop, order)).await?.map(|item| decode_order(shop, order, &item)).transpose()
    }

    async fn refunds(&self, shop: &ShopId, order: &OrderId) -> Result<Vec<Refund>, StoreError> {
        self.order_refunds(shop, order).await
    }

    async fn customers(&self, shop: &ShopId, page: PageRequest) -> Result<Page<CustomerId>, StoreError> {
        self.customer_page(shop, BY_SHOP, shop_customers_index_value(shop), page).await
    }

    async fn privacy_requests(&self, shop: &ShopId) -> Result<Vec<PrivacyRequest>, StoreError> {
        let items = self.query_partition(&privacy_pk(shop), SkRange::All).await?;
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
        self.customer_page(shop, BY_EMAIL, email_index_value(shop, email.as_str()), page).await
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
        self.customer_page(shop, BY_BIRTHDAY, birthday_index_value(shop, &birthday.month_day()), page).await
    }

    async fn customers_by_last_order_date(
        &self,
        shop: &ShopId,
        date: NaiveDate,
        page: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError> {
        self.customer_page(shop, BY_LAST_ORDER, last_order_index_value(shop, date), page).await
    }
}

impl DynamoStore {
    /// One page of customers from an index over profile items, ordered by customer.
    async fn customer_page(
        &self,
        shop: &ShopId,
        index: CustomerIndex,
        value: String,
        page: PageRequest,
    ) -> Result<Page<CustomerId>, StoreError> {
        let (items, next) = self
            .index_page(IndexPage {
                index: index.name,
                hash: (index.attribute, value),
                range: (PK, None),
                filter: None,
                limit: page.limit,
                cursor: page.cursor.as_deref(),
            })
            .await?;
        let ids = items.iter().map(|item| customer_of(shop, item)).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items: ids, next })
    }
}

fn customer_of(shop: &ShopId, item: &Item) -> Result<CustomerId, StoreError> {
    let r = Reader::new(item);
    customer_from_pk(shop, r.s(PK)?).ok_or_else(|| r.corrupt("index entry is not a customer of this shop"))
}
