//! One write per customer per delivery: a customer's profile and last order, read, decided and
//! written together with at most one conditional UpdateItem.
//!
//! A Shopify `orders/paid` delivery carries the buyer's profile and an order of theirs. Written
//! one change at a time, that is two UpdateItems on the same profile item. Instead, `ingest`
//! collects what a delivery asks of each customer (in delivery order), and `write_customer` reads
//! the profile item's guards (a strongly consistent GetItem of `pk`, `su`, `lo`, `da`, and `bd`,
//! `bs` for the birthday's time), lets `plan` decide which parts apply, and writes what applies
//! with one UpdateItem whose condition pins the guards it read (a PutItem of the bare key in the
//! one case with nothing to set). If nothing applies, nothing is written. A failed condition
//! means a concurrent write came between the read and the write: read and decide again, a bounded
//! number of times, then report contention.
//!
//! The rules are those of one conditional write per part, applied in order, each against the item
//! as the parts before it left it:
//! - a stamped profile applies if the item does not exist, or it is not deleted and has no stamp
//!   or an older one;
//! - an unstamped profile (an order's snapshot of its buyer) only creates a missing item;
//! - a last order applies if the item is not deleted and has no last order or an older one (a
//!   missing item is created with only that); the last-order index key `g3` moves with it.
//!
//! A profile that applies with a birthday whose month and day differ from the stored one's (or
//! with the first birthday) stamps `bs`, the time the birthday was stored since, with its
//! `source_updated_at` (an unstamped profile, which only ever creates the item, leaves `bs` out:
//! a birthday of unknown age). The same month and day again, or no birthday, keep `bs`. The
//! comparison is made in `plan`, on the birthday read with the guards, and `bd` is pinned as
//! read too (`write_birthday`, the merchant's `set_birthday`, changes it without `su`). So `bs`
//! is part of the same conditional write as the birthday, and a stale profile or a deleted
//! customer (which write nothing) never move it. One `bs` per item, overwritten, so the item does
//! not grow with every birthday it ever had. `write_birthday` reads the same guards, writes only
//! to a live item, and sets `bd`, `g2` and (for a new month and day) `bs`, or removes all three.
//!
//! Every write also sets the shop's listing key `g7` (`by_shop`): it creates the item's entry in
//! that index, or sets the value it already has (which costs no index write).
//!
//! Every write to a profile item changes at least one guard (existence, `su`, `lo`, `da`, `bd`),
//! so an UpdateItem conditional on all of them still seeing what was read applies exactly what
//! was decided.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use stammkunde_domain::customer::{Birthday, CustomerProfile};
use stammkunde_domain::error::StoreError;
use stammkunde_domain::ids::{CustomerId, ShopId};

use super::codec::customer::{
    birthday_attributes, profile_attributes, stored_month_day, BIRTHDAY, BIRTHDAY_SINCE, DELETED_AT, LAST_ORDER_AT,
    SOURCE_UPDATED_AT,
};
use super::codec::{key_item, s, time, Item, Reader};
use super::errors::{contention, store_error};
use super::expr::Expr;
use super::schema::{
    last_order_index_value, profile_key, shop_customers_index_value, Key, BY_BIRTHDAY, BY_LAST_ORDER, BY_SHOP, PK,
};
use super::{conflict_backoff, DynamoStore};

/// Read–decide–write rounds before a customer write that keeps losing races reports contention.
const WRITE_ATTEMPTS_MAX: u32 = 5;

/// One thing a delivery asks of a customer's profile item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Part<'a> {
    /// `UpsertCustomer`.
    Profile(&'a CustomerProfile),
    /// The `placed_at` of a stored order of this customer (`RecordOrder`).
    LastOrder(DateTime<Utc>),
}

/// The guards of a profile item as read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Guards {
    pub(super) exists: bool,
    /// `da` is present.
    pub(super) deleted: bool,
    /// `su`.
    pub(super) source_updated_at: Option<DateTime<Utc>>,
    /// `lo`.
    pub(super) last_order_at: Option<DateTime<Utc>>,
    /// The month and day (`MM-DD`) of `bd`.
    pub(super) birthday: Option<String>,
    /// `bd` as stored: a guard, since `set_birthday` changes it without `su`.
    pub(super) birthday_stored: Option<String>,
    /// `bs`.
    pub(super) birthday_since: Option<DateTime<Utc>>,
}

/// What applies of some parts, against some guards.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Plan {
    /// For each part, in order: whether it applies.
    pub(super) applied: Vec<bool>,
    /// The attributes to SET: those of every applying profile (a later one's value wins), then
    /// `bs` if it changes, then the last order and its index key if one applies, then the
    /// `by_shop` key if anything does.
    pub(super) set: Vec<(&'static str, AttributeValue)>,
    /// The attributes to REMOVE: `bs` if an applying profile changed the birthday without a stamp
    /// (which the rules above never let happen on an item that has a `bs`; kept for exactness).
    pub(super) remove: Vec<&'static str>,
}

impl Plan {
    fn writes(&self) -> bool {
        self.applied.contains(&true)
    }
}

/// Decides which parts apply (see the module documentation for the rules). Pure.
pub(super) fn plan(shop: &ShopId, read: &Guards, parts: &[Part<'_>]) -> Plan {
    let mut state = read.clone();
    let mut applied = Vec::with_capacity(parts.len());
    let mut set: Vec<(&'static str, AttributeValue)> = Vec::new();
    let mut last_order = None;
    for part in parts {
        let applies = match *part {
            Part::Profile(profile) => {
                let applies = match profile.source_updated_at {
                    Some(stamp) => {
                        !state.exists || (!state.deleted && state.source_updated_at.is_none_or(|stored| stored < stamp))
                    }
                    None => !state.exists,
                };
                if applies {
                    state.exists = true;
                    state.source_updated_at = profile.source_updated_at.or(state.source_updated_at);
                    if let Some(birthday) = &profile.birthday {
                        let month_day = birthday.month_day();
                        if state.birthday.as_deref() != Some(month_day.as_str()) {
                            state.birthday = Some(month_day);
                            state.birthday_since = profile.source_updated_at;
                        }
                    }
                    for (name, value) in profile_attributes(profile) {
                        match set.iter_mut().find(|(set_name, _)| *set_name == name) {
                            Some(slot) => slot.1 = value,
                            None => set.push((name, value)),
                        }
                    }
                }
                applies
            }
            Part::LastOrder(at) => {
                let applies = !state.deleted && state.last_order_at.is_none_or(|stored| stored < at);
                if applies {
                    state.exists = true;
                    state.last_order_at = Some(at);
                    last_order = Some(at);
                }
                applies
            }
        };
        applied.push(applies);
    }
    let mut remove = Vec::new();
    if state.birthday_since != read.birthday_since {
        match state.birthday_since {
            Some(since) => set.push((BIRTHDAY_SINCE, time(since))),
            None => remove.push(BIRTHDAY_SINCE),
        }
    }
    if let Some(at) = last_order {
        set.push((LAST_ORDER_AT, time(at)));
        set.push((BY_LAST_ORDER.attribute, s(last_order_index_value(shop, at.date_naive()))));
    }
    if applied.contains(&true) {
        set.push((BY_SHOP.attribute, s(shop_customers_index_value(shop))));
    }
    Plan { applied, set, remove }
}

/// What `set_birthday` SETs and REMOVEs on a live customer's item: the birthday and its index key,
/// and `bs` when the month and day are new; clearing removes all three. Pure.
fn birthday_change(
    shop: &ShopId,
    read: &Guards,
    birthday: Option<&Birthday>,
    at: DateTime<Utc>,
) -> (Vec<(&'static str, AttributeValue)>, Vec<&'static str>) {
    match birthday {
        Some(birthday) => {
            let mut set = birthday_attributes(shop, birthday).to_vec();
            if read.birthday.as_deref() != Some(birthday.month_day().as_str()) {
                set.push((BIRTHDAY_SINCE, time(at)));
            }
            (set, Vec::new())
        }
        None => (Vec::new(), vec![BIRTHDAY, BY_BIRTHDAY.attribute, BIRTHDAY_SINCE]),
    }
}

/// The profile item `parts` leave for a customer not stored yet: exactly what `write_customer`
/// writes then (for the capacity estimates in `items`).
pub(super) fn new_customer_item(shop: &ShopId, customer: &CustomerId, parts: &[Part<'_>]) -> Item {
    let mut item = key_item(&profile_key(shop, customer));
    let set = plan(shop, &Guards::default(), parts).set;
    item.extend(set.into_iter().map(|(name, value)| (name.to_owned(), value)));
    item
}

/// The condition that the item's guards are still `read`.
fn pinned(expr: &mut Expr, read: &Guards) -> String {
    let pk = expr.name(PK);
    if !read.exists {
        return format!("attribute_not_exists({pk})");
    }
    let mut conditions =
        vec![format!("attribute_exists({pk})"), format!("attribute_not_exists({})", expr.name(DELETED_AT))];
    for (attribute, value) in [(SOURCE_UPDATED_AT, read.source_updated_at), (LAST_ORDER_AT, read.last_order_at)] {
        let name = expr.name(attribute);
        conditions.push(match value {
            Some(at) => format!("{name} = {}", expr.value(time(at))),
            None => format!("attribute_not_exists({name})"),
        });
    }
    let name = expr.name(BIRTHDAY);
    conditions.push(match &read.birthday_stored {
        Some(stored) => format!("{name} = {}", expr.value(s(stored))),
        None => format!("attribute_not_exists({name})"),
    });
    conditions.join(" AND ")
}

impl DynamoStore {
    /// Applies `parts` (in delivery order) to one customer's profile item with at most one
    /// UpdateItem, and none if nothing applies. Returns, for each part, whether it applied.
    pub(super) async fn write_customer(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        parts: &[Part<'_>],
    ) -> Result<Vec<bool>, StoreError> {
        let key = profile_key(shop, customer);
        for attempt in 0..WRITE_ATTEMPTS_MAX {
            if attempt > 0 {
                tokio::time::sleep(conflict_backoff(attempt)).await;
            }
            let read = self.read_guards(&key).await?;
            let plan = plan(shop, &read, parts);
            if !plan.writes() || self.write_pinned(&key, &read, plan.set, &plan.remove).await? {
                return Ok(plan.applied);
            }
        }
        Err(contention(&key.label()))
    }

    /// A strongly consistent read of the profile item's guards; all absent if there is no item.
    async fn read_guards(&self, key: &Key) -> Result<Guards, StoreError> {
        let mut expr = Expr::default();
        let projection: Vec<String> = [PK, SOURCE_UPDATED_AT, LAST_ORDER_AT, DELETED_AT, BIRTHDAY, BIRTHDAY_SINCE]
            .into_iter()
            .map(|name| expr.name(name))
            .collect();
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_item(key)))
            .projection_expression(projection.join(", "))
            .set_expression_attribute_names(expr.names())
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| store_error("GetItem", e))?;
        let Some(item) = out.item.filter(|item| !item.is_empty()) else {
            return Ok(Guards::default());
        };
        let r = Reader::new(&item);
        Ok(Guards {
            exists: true,
            deleted: item.contains_key(DELETED_AT),
            source_updated_at: r.opt_time(SOURCE_UPDATED_AT)?,
            last_order_at: r.opt_time(LAST_ORDER_AT)?,
            birthday: stored_month_day(&r)?,
            birthday_stored: r.opt_s(BIRTHDAY)?.map(str::to_owned),
            birthday_since: r.opt_time(BIRTHDAY_SINCE)?,
        })
    }

    /// `CustomerEdits::set_birthday`: a read of the guards, then one UpdateItem pinned to them, so
    /// a delivery in between (or a second edit) makes it read again.
    pub(super) async fn write_birthday(
        &self,
        shop: &ShopId,
        customer: &CustomerId,
        birthday: Option<&Birthday>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = profile_key(shop, customer);
        for attempt in 0..WRITE_ATTEMPTS_MAX {
            if attempt > 0 {
                tokio::time::sleep(conflict_backoff(attempt)).await;
            }
            let read = self.read_guards(&key).await?;
            if !read.exists || read.deleted {
                return Ok(false);
            }
            let (set, remove) = birthday_change(shop, &read, birthday, at);
            if self.write_pinned(&key, &read, set, &remove).await? {
                return Ok(true);
            }
        }
        Err(contention(&key.label()))
    }

    /// The UpdateItem: SET `set` and REMOVE `remove`, if the guards are still `read`. False if
    /// they are not.
    async fn write_pinned(
        &self,
        key: &Key,
        read: &Guards,
        set: Vec<(&'static str, AttributeValue)>,
        remove: &[&'static str],
    ) -> Result<bool, StoreError> {
        let mut expr = Expr::default();
        // Never empty when called: a plan that writes always sets the `by_shop` key (`plan`), so
        // even a profile without any field creates its item with one UpdateItem.
        let mut clauses: Vec<String> = expr.set_clause(set).into_iter().collect();
        if !remove.is_empty() {
            let names: Vec<String> = remove.iter().map(|name| expr.name(name)).collect();
            clauses.push(format!("REMOVE {}", names.join(", ")));
        }
        let update = clauses.join(" ");
        let condition = pinned(&mut expr, read);
        self.update_if(key, update, condition, expr).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn shop() -> ShopId {
        ShopId::parse("demo").unwrap_or_else(|e| panic!("{e}"))
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).single().unwrap_or_else(|| panic!("valid time"))
            + chrono::Duration::minutes(minutes)
    }

    fn profile(stamp: Option<DateTime<Utc>>) -> CustomerProfile {
        CustomerProfile {
            shop: shop(),
            customer_id: CustomerId::parse("1").unwrap_or_else(|e| panic!("{e}")),
            email: None,
            first_name: Some("Anna".into()),
            last_name: None,
            locale: None,
            country: None,
            birthday: None,
            accepts_email_marketing: None,
            source_updated_at: stamp,
        }
    }

    fn stored(su: Option<i64>, lo: Option<i64>) -> Guards {
        Guards { exists: true, source_updated_at: su.map(at), last_order_at: lo.map(at), ..Guards::default() }
    }

    fn with_birthday(month: u8, day: u8, stamp: Option<DateTime<Utc>>) -> CustomerProfile {
        let birthday = stammkunde_domain::customer::Birthday::new(month, day, None).ok();
        CustomerProfile { birthday, ..profile(stamp) }
    }

    fn names(plan: &Plan) -> Vec<&'static str> {
        plan.set.iter().map(|(name, _)| *name).collect()
    }

    fn value<'p>(plan: &'p Plan, name: &str) -> Option<&'p AttributeValue> {
        plan.set.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    #[test]
    fn a_new_customer_gets_profile_and_last_order_in_one_write() {
        let p = profile(Some(at(0)));
        let plan = plan(&shop(), &Guards::default(), &[Part::Profile(&p), Part::LastOrder(at(5))]);
        assert_eq!(plan.applied, vec![true, true]);
        assert_eq!(names(&plan), vec!["fn", "su", "lo", "g3", "g7"]);
        assert_eq!(value(&plan, "lo"), Some(&time(at(5))));
        assert_eq!(value(&plan, "g3"), Some(&s("demo#L#2026-03-02")));
        assert_eq!(value(&plan, "g7"), Some(&s("demo#A")));
    }

    #[test]
    fn a_stale_profile_with_a_newer_order_still_moves_the_last_order() {
        let p = profile(Some(at(0)));
        let plan = plan(&shop(), &stored(Some(10), Some(1)), &[Part::Profile(&p), Part::LastOrder(at(5))]);
        assert_eq!(plan.applied, vec![false, true]);
        assert_eq!(names(&plan), vec!["lo", "g3", "g7"]);
    }

    #[test]
    fn a_newer_profile_with_an_older_order_updates_the_profile_only() {
        let p = profile(Some(at(20)));
        let plan = plan(&shop(), &stored(Some(10), Some(10)), &[Part::Profile(&p), Part::LastOrder(at(5))]);
        assert_eq!(plan.applied, vec![true, false]);
        assert_eq!(names(&plan), vec!["fn", "su", "g7"]);
    }

    #[test]
    fn equal_stamps_and_equal_order_times_apply_nothing() {
        let p = profile(Some(at(10)));
        let plan = plan(&shop(), &stored(Some(10), Some(10)), &[Part::Profile(&p), Part::LastOrder(at(10))]);
        assert_eq!(plan.applied, vec![false, false]);
        assert!(plan.set.is_empty());
        assert!(!plan.writes());
    }

    #[test]
    fn a_deleted_customer_takes_nothing() {
        let p = profile(Some(at(20)));
        let snapshot = profile(None);
        let deleted = Guards { deleted: true, ..stored(None, None) };
        let plan = plan(&shop(), &deleted, &[Part::Profile(&p), Part::Profile(&snapshot), Part::LastOrder(at(5))]);
        assert_eq!(plan.applied, vec![false, false, false]);
        assert!(!plan.writes());
    }

    #[test]
    fn an_unstamped_profile_only_creates_a_missing_customer() {
        let snapshot = profile(None);
        let created = plan(&shop(), &Guards::default(), &[Part::Profile(&snapshot)]);
        assert_eq!(created.applied, vec![true]);
        assert_eq!(names(&created), vec!["fn", "g7"]);
        let known = plan(&shop(), &stored(None, None), &[Part::Profile(&snapshot)]);
        assert_eq!(known.applied, vec![false]);
        // An earlier part of the same delivery that created the item makes it known, as one
        // write per part would have.
        let after_order = plan(&shop(), &Guards::default(), &[Part::LastOrder(at(1)), Part::Profile(&snapshot)]);
        assert_eq!(after_order.applied, vec![true, false]);
        assert_eq!(names(&after_order), vec!["lo", "g3", "g7"]);
    }

    #[test]
    fn a_stamped_profile_updates_a_customer_without_a_stamp() {
        let p = profile(Some(at(0)));
        let plan = plan(&shop(), &stored(None, Some(3)), &[Part::Profile(&p)]);
        assert_eq!(plan.applied, vec![true]);
    }

    #[test]
    fn parts_are_decided_in_order_against_what_the_earlier_ones_left() {
        let older = profile(Some(at(1)));
        let newer = CustomerProfile { first_name: Some("Berta".into()), ..profile(Some(at(2))) };
        let parts = [
            Part::Profile(&newer),
            Part::Profile(&older),
            Part::LastOrder(at(7)),
            Part::LastOrder(at(3)),
            Part::LastOrder(at(9)),
        ];
        let plan = plan(&shop(), &stored(Some(0), None), &parts);
        assert_eq!(plan.applied, vec![true, false, true, false, true]);
        assert_eq!(value(&plan, "fn"), Some(&s("Berta")));
        assert_eq!(value(&plan, "su"), Some(&time(at(2))));
        assert_eq!(value(&plan, "lo"), Some(&time(at(9))));
    }

    #[test]
    fn the_condition_pins_what_was_read() {
        let mut expr = Expr::default();
        assert_eq!(pinned(&mut expr, &Guards::default()), "attribute_not_exists(#pk)");
        let mut expr = Expr::default();
        assert_eq!(
            pinned(&mut expr, &stored(Some(1), None)),
            "attribute_exists(#pk) AND attribute_not_exists(#da) AND #su = :v0 AND attribute_not_exists(#lo) \
             AND attribute_not_exists(#bd)"
        );
        assert_eq!(expr.values().and_then(|v| v.get(":v0").cloned()), Some(time(at(1))));
        // The birthday is pinned as stored: `set_birthday` changes it without `su`.
        let mut expr = Expr::default();
        let with_birthday = Guards { birthday_stored: Some("1990-07-14".into()), ..stored(Some(1), None) };
        assert!(pinned(&mut expr, &with_birthday).ends_with("AND #bd = :v1"));
        assert_eq!(expr.values().and_then(|v| v.get(":v1").cloned()), Some(s("1990-07-14")));
    }

    #[test]
    fn a_birthday_set_moves_its_index_key_and_stamps_only_a_new_month_and_day() {
        let birthday = |month, day, year| stammkunde_domain::customer::Birthday::new(month, day, year).ok();
        let names = |change: &(Vec<(&'static str, AttributeValue)>, Vec<&'static str>)| {
            (change.0.iter().map(|(name, _)| *name).collect::<Vec<_>>(), change.1.clone())
        };
        let first = birthday_change(&shop(), &stored(Some(0), None), birthday(7, 14, None).as_ref(), at(5));
        assert_eq!(names(&first), (vec!["bd", "g2", "bs"], vec![]));
        assert_eq!(first.0[1].1, s("demo#B#07-14"));
        let known = Guards { birthday: Some("07-14".into()), ..stored(Some(0), None) };
        let same = birthday_change(&shop(), &known, birthday(7, 14, Some(1990)).as_ref(), at(6));
        assert_eq!(names(&same), (vec!["bd", "g2"], vec![]), "a year added is no new birthday");
        let cleared = birthday_change(&shop(), &known, None, at(7));
        assert_eq!(names(&cleared), (vec![], vec!["bd", "g2", "bs"]));
    }

    #[test]
    fn a_new_customer_item_is_key_plus_what_applies() {
        let p = profile(None);
        let customer = p.customer_id.clone();
        let item = new_customer_item(&shop(), &customer, &[Part::Profile(&p), Part::LastOrder(at(0))]);
        let mut names: Vec<&str> = item.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, vec!["fn", "g3", "g7", "lo", "pk", "sk"]);
    }

    #[test]
    fn a_first_or_changed_birthday_is_stamped_and_the_same_one_keeps_its_time() {
        let first = with_birthday(7, 14, Some(at(0)));
        let created = plan(&shop(), &Guards::default(), &[Part::Profile(&first)]);
        assert_eq!(names(&created), vec!["fn", "bd", "g2", "su", "bs", "g7"]);
        assert_eq!(value(&created, "bs"), Some(&time(at(0))));

        let known = Guards { birthday: Some("07-14".into()), birthday_since: Some(at(0)), ..stored(Some(0), None) };
        let same = CustomerProfile {
            birthday: stammkunde_domain::customer::Birthday::new(7, 14, Some(1990)).ok(),
            ..profile(Some(at(5)))
        };
        let kept = plan(&shop(), &known, &[Part::Profile(&same)]);
        assert_eq!(kept.applied, vec![true]);
        assert_eq!(value(&kept, "bs"), None, "the same month and day keep their time");
        let none = plan(&shop(), &known, &[Part::Profile(&profile(Some(at(6))))]);
        assert_eq!(value(&none, "bs"), None, "a profile without a birthday keeps it");

        let changed = plan(&shop(), &known, &[Part::Profile(&with_birthday(8, 1, Some(at(9))))]);
        assert_eq!(value(&changed, "bs"), Some(&time(at(9))));
        let stale = plan(&shop(), &stored(Some(10), None), &[Part::Profile(&with_birthday(8, 1, Some(at(9))))]);
        assert!(!stale.writes() && stale.set.is_empty());
        assert!(changed.remove.is_empty() && kept.remove.is_empty());
    }

    #[test]
    fn an_unstamped_first_birthday_has_no_time_and_a_later_stamp_of_the_same_one_adds_none() {
        let snapshot = with_birthday(2, 29, None);
        let created = plan(&shop(), &Guards::default(), &[Part::Profile(&snapshot)]);
        assert_eq!(value(&created, "bs"), None);
        assert!(created.remove.is_empty());
        // Stored before its time was kept (or by a snapshot): the same birthday stays of unknown age.
        let known = Guards { birthday: Some("02-29".into()), ..stored(None, None) };
        let same = plan(&shop(), &known, &[Part::Profile(&with_birthday(2, 29, Some(at(3))))]);
        assert_eq!(same.applied, vec![true]);
        assert_eq!(value(&same, "bs"), None);
    }

    #[test]
    fn within_one_delivery_the_last_change_of_the_birthday_stamps_it() {
        let a = with_birthday(7, 14, Some(at(1)));
        let b = with_birthday(8, 1, Some(at(2)));
        let a_again = with_birthday(7, 14, Some(at(3)));
        let plan =
            plan(&shop(), &stored(Some(0), None), &[Part::Profile(&a), Part::Profile(&b), Part::Profile(&a_again)]);
        assert_eq!(plan.applied, vec![true, true, true]);
        assert_eq!(value(&plan, "bs"), Some(&time(at(3))));
    }
}
