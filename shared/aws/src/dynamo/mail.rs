//! `MailStore`: send records and mail settings in the customer's partition, suppressions in a
//! partition per shop (`{shop}#X`), and the sparse `by_deferred` index (item shapes in
//! `codec::mail`, keys in `schema`).
//!
//! Every write of a send record is one conditional request, never a read before it:
//! - `create_send` is a PutItem under `attribute_not_exists(pk)`: the claim. When the key is
//!   taken, the failed condition hands back the stored item (ALL_OLD, the item the condition was
//!   evaluated on); if DynamoDB sent none, a strongly consistent GetItem reads it. A record deleted
//!   in between (a released claim) frees the key, so the create is tried again, a bounded number
//!   of times.
//! - `replace_send` puts the whole new item under `st = :expected` (a missing item fails the
//!   condition too). A put, not an update, so a record that settles (sent, flagged, dropped)
//!   drops `g8` and `g9` and leaves the index, and one deferred again is indexed under its new
//!   due time.
//! - `delete_send` is a DeleteItem under `st = :expected`.
//!
//! `sends_claimed_since` is one Query on the customer's partition (`begins_with(sk, "M#")`, which
//! leaves out the settings item `MC`), strongly consistent, kept where claimed at or after
//! `since`: a customer has a few dozen send records a year, so it reads little it throws away.
//!
//! `due_sends` queries `by_deferred` (`g8 = {shop}#M AND g9 <= :bound`), which holds deferred
//! records under their due time and claims under the end of their lease (`SendState::sweep_due`).
//! Its sort key orders records by (due, customer, campaign, date) and is unique per record, so
//! pages are exact. The index holds keys only: the record's key and due time, all the sweep needs.
//! Like `by_due` it is eventually consistent: a record deferred a moment ago may be missed by this
//! sweep and is found by the next, and a record just claimed may still be listed as deferred, so
//! the sweep claims it with `replace_send(.., Deferred)`, which fails for a record that moved on.
//!
//! Mail settings are one unconditional PutItem (the last writer wins). `suppress` is a PutItem
//! under `attribute_not_exists(pk)`: an address already listed keeps its first record, and the
//! failed condition is success.
//!
//! `count_soft_bounce` is one UpdateItem of the address's soft-bounce item: `ADD` one to the
//! count and the message id to the set of counted messages, under `NOT contains(bm, :message)`,
//! returning the new count (UPDATED_NEW). `ADD` is atomic, so concurrent bounces each see their
//! own count; a message counted already fails the condition, which hands back the item as it is
//! (ALL_OLD), so a redelivery reads its count without a second request.

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};
use chrono::{DateTime, NaiveDate, Utc};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};
use stammkunde_domain::mail::contact::AddressDigest;
use stammkunde_domain::mail::link::LinkToken;
use stammkunde_domain::mail::{Campaign, DueSend, MailContact, MailSend, SendStateKind, Suppression};
use stammkunde_domain::ports::{CreateOutcome, MailStore, Page, PageRequest};

use super::codec::mail::{
    decode_contact, decode_due, decode_link, decode_send, decode_soft_bounces, decode_suppression, due_bound,
    encode_contact, encode_link, encode_send, encode_suppression, AT, BOUNCED_MESSAGES, REVISION, SOFT_BOUNCES, STATE,
};
use super::codec::{key_item, s, time, Reader};
use super::errors::{contention, store_error};
use super::expr::Expr;
use super::paging::IndexPage;
use super::schema::{
    customer_pk, deferred_index_value, link_key, mail_contact_key, mail_send_key, shop_flagged_sends_index_value,
    soft_bounces_key, suppression_key, Key, BY_DEFERRED, BY_SHOP, DEFERRED_INDEX_ATTRIBUTE, DEFERRED_ORDER, PK, SK,
    SK_MAIL_SEND_PREFIX,
};
use super::{conflict_backoff, update_condition_failed, DynamoStore, SkRange};

/// Creates of one send record before giving up: a create fails only while the key is taken, and
/// is tried again only when the record it met was deleted before it could be read.
const CREATE_ATTEMPTS_MAX: u32 = 4;

#[async_trait]
impl MailStore for DynamoStore {
    async fn create_send(&self, send: &MailSend) -> Result<CreateOutcome<MailSend>, StoreError> {
        let key = send_key(send);
        for attempt in 0..CREATE_ATTEMPTS_MAX {
            if attempt > 0 {
                tokio::time::sleep(conflict_backoff(attempt)).await;
            }
            let mut expr = Expr::default();
            let condition = format!("attribute_not_exists({})", expr.name(PK));
            let Some(old) = self.put_if(encode_send(send)?, condition, expr).await? else {
                return Ok(CreateOutcome::Created);
            };
            let stored = if old.is_empty() { self.get(&key).await? } else { Some(old) };
            if let Some(stored) = stored {
                return decode_send(&send.shop, &stored).map(CreateOutcome::Exists);
            }
        }
        Err(contention(&key.label()))
    }

    async fn replace_send(&self, send: &MailSend, expected: SendStateKind) -> Result<bool, StoreError> {
        let mut expr = Expr::default();
        let condition = state_is(&mut expr, expected);
        Ok(self.put_if(encode_send(send)?, condition, expr).await?.is_none())
    }

    async fn delete_send(&self, send: &MailSend, expected: SendStateKind) -> Result<bool, StoreError> {
        let mut expr = Expr::default();
        let condition = state_is(&mut expr, expected);
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&send_key(send))))
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) => match err.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(_)) => Ok(false),
                _ => Err(store_error("DeleteItem", err)),
            },
        }
    }

    async fn send(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        campaign: Campaign,
        date: NaiveDate,
    ) -> Result<Option<MailSend>, StoreError> {
        let key = mail_send_key(shop, customer, campaign, date);
        self.get(&key).await?.map(|item| decode_send(shop, &item)).transpose()
    }

    async fn sends_claimed_since(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        since: DateTime<Utc>,
    ) -> Result<Vec<MailSend>, StoreError> {
        // One Query of the customer's send records; a FilterExpression would save no read units
        // (DynamoDB charges for what it reads before filtering), so the claim time is checked here.
        let items = self.query_partition(&customer_pk(shop, customer), SkRange::Prefix(SK_MAIL_SEND_PREFIX)).await?;
        let mut sends = Vec::new();
        for item in &items {
            let send = decode_send(shop, item)?;
            if send.state.claimed_at().is_some_and(|at| at >= since) {
                sends.push(send);
            }
        }
        Ok(sends)
    }

    async fn due_sends(
        &self,
        shop: &ShopId,
        now: DateTime<Utc>,
        page: PageRequest,
    ) -> Result<Page<DueSend>, StoreError> {
        let Some(bound) = due_bound(now) else {
            return Ok(Page { items: Vec::new(), next: None });
        };
        let (items, next) = self
            .index_page(IndexPage {
                index: BY_DEFERRED,
                hash: (DEFERRED_INDEX_ATTRIBUTE, deferred_index_value(shop)),
                range: (DEFERRED_ORDER, Some(AttributeValue::S(bound))),
                filter: None,
                limit: page.limit,
                cursor: page.cursor.as_deref(),
            })
            .await?;
        let items = items.iter().map(|item| decode_due(shop, item)).collect::<Result<Vec<_>, _>>()?;
        Ok(Page { items, next })
    }

    async fn flagged_sends(&self, shop: &ShopId, page: PageRequest) -> Result<Page<MailSend>, StoreError> {
        let (keys, next) = self
            .index_page(IndexPage {
                index: BY_SHOP.name,
                hash: (BY_SHOP.attribute, shop_flagged_sends_index_value(shop)),
                range: (PK, None),
                filter: None,
                limit: page.limit,
                cursor: page.cursor.as_deref(),
            })
            .await?;
        // The index holds keys only; flagged records are few (a sender that died), so each is
        // read whole by its key. One flagged and then settled since the index was read is left out.
        let mut sends = Vec::with_capacity(keys.len());
        for entry in &keys {
            let r = Reader::new(entry);
            let key = Key { pk: r.s(PK)?.to_owned(), sk: r.s(SK)?.to_owned() };
            let Some(item) = self.get(&key).await? else { continue };
            let send = decode_send(shop, &item)?;
            if send.state.kind() == SendStateKind::Review {
                sends.push(send);
            }
        }
        Ok(Page { items: sends, next })
    }

    async fn contact(&self, shop: &ShopId, customer: &CustomerId) -> Result<Option<MailContact>, StoreError> {
        self.get(&mail_contact_key(shop, customer)).await?.map(|item| decode_contact(&item)).transpose()
    }

    async fn update_contact(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        contact: &MailContact,
    ) -> Result<bool, StoreError> {
        let next = MailContact { revision: contact.revision.saturating_add(1), ..contact.clone() };
        let mut expr = Expr::default();
        let revision = expr.name(REVISION);
        // Revision 0 is "no settings stored, or stored before revisions were counted".
        let condition = match i64::try_from(contact.revision) {
            Ok(0) => format!("attribute_not_exists({revision})"),
            Ok(expected) => format!("{revision} = {}", expr.value(AttributeValue::N(expected.to_string()))),
            Err(_) => return Ok(false),
        };
        Ok(self.put_if(encode_contact(shop, customer, &next)?, condition, expr).await?.is_none())
    }

    async fn put_contact(&self, shop: &ShopId, customer: &CustomerId, contact: &MailContact) -> Result<(), StoreError> {
        // Unconditional, by the port's contract: imports and seeding. People's changes are guarded.
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(encode_contact(shop, customer, contact)?))
            .send()
            .await
            .map_err(|e| store_error("PutItem", e))?;
        Ok(())
    }

    async fn suppress(&self, suppression: &Suppression) -> Result<(), StoreError> {
        // False when the address is listed already: its first record stays, which is the point.
        self.put_new(encode_suppression(suppression)?).await.map(|_| ())
    }

    async fn put_link(&self, digest: &str, link: &LinkToken) -> Result<(), StoreError> {
        // Unconditional: the same digest is only ever the same token, written again by a retry.
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(encode_link(digest, link)))
            .send()
            .await
            .map_err(|e| store_error("PutItem", e))?;
        Ok(())
    }

    async fn link(&self, digest: &str) -> Result<Option<LinkToken>, StoreError> {
        self.get(&link_key(digest)).await?.map(|item| decode_link(&item)).transpose()
    }

    async fn suppression(&self, shop: &ShopId, address: &AddressDigest) -> Result<Option<Suppression>, StoreError> {
        let key = suppression_key(shop, address);
        self.get(&key).await?.map(|item| decode_suppression(shop, address, &item)).transpose()
    }

    async fn count_soft_bounce(
        &self,
        shop: &ShopId,
        address: &AddressDigest,
        message_id: &str,
        at: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let key = soft_bounces_key(shop, address);
        let mut expr = Expr::default();
        let (count, messages, latest) = (expr.name(SOFT_BOUNCES), expr.name(BOUNCED_MESSAGES), expr.name(AT));
        let one = expr.value(AttributeValue::N("1".into()));
        let added = expr.value(AttributeValue::Ss(vec![message_id.to_owned()]));
        let message = expr.value(s(message_id));
        let at = expr.value(time(at));
        let update = format!("SET {latest} = {at} ADD {count} {one}, {messages} {added}");
        // `contains` of a missing set is false: the first bounce of an address creates the item.
        let condition = format!("NOT contains({messages}, {message})");
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_item(&key)))
            .update_expression(update)
            .condition_expression(condition)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::UpdatedNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        match result {
            Ok(out) => decode_soft_bounces(&out.attributes.unwrap_or_default()),
            Err(err) => match update_condition_failed(err)? {
                Some(old) if !old.is_empty() => decode_soft_bounces(&old),
                // The condition failed, so the item holds the message; an answer without it is
                // DynamoDB's to give again.
                _ => Err(contention(&key.label())),
            },
        }
    }

    async fn take_request(
        &self,
        shop: &ShopId,
        key: &str,
        window: DateTime<Utc>,
        limit: u32,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.take(shop, key, window, limit, expires_at).await
    }
}

fn send_key(send: &MailSend) -> Key {
    mail_send_key(&send.shop, &send.customer_id, send.campaign, send.date)
}

/// `st = :expected`; false for a missing item, so nothing is replaced or deleted that is not there.
fn state_is(expr: &mut Expr, expected: SendStateKind) -> String {
    format!("{} = {}", expr.name(STATE), expr.value(s(expected.as_str())))
}
