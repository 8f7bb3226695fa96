//! What a customer allowed, and whether a mail may go to them.
//!
//! The preference centre and the consent ledger (double opt-in with its proof) write the contact;
//! here is only the decision the sweep makes from it.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::customer::{Customer, Email};
use crate::ids::ShopId;
use crate::mail::campaign::{MailClass, Topic};
use crate::mail::rule::MarketingBasis;

/// A customer's mail settings, per shop.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailContact {
    /// When the customer confirmed their subscription (double opt-in). The proof itself lives in
    /// the consent ledger.
    pub double_opt_in_at: Option<DateTime<Utc>>,
    /// Topics the customer switched off.
    #[serde(default)]
    pub topics_declined: Vec<Topic>,
    /// Unsubscribed from all marketing (or, under the existing-customer exception, objected).
    pub unsubscribed_at: Option<DateTime<Utc>>,
    /// No marketing mail before this.
    pub paused_until: Option<DateTime<Utc>>,
    /// The time zone the customer chose; wins over the one their country implies.
    pub time_zone: Option<Tz>,
    /// How often the customer wants marketing mail, at most.
    #[serde(default)]
    pub frequency: Frequency,
    /// Counts the guarded writes (`MailStore::update_contact`): a write based on an older read
    /// than the stored one is refused, so two pages saved at once cannot undo each other (an
    /// unsubscribe lost under a settings save would be a mail to someone who said no).
    #[serde(default)]
    pub revision: u64,
}

/// The customer's choice of how often marketing mail may come. It tightens the shop's frequency
/// cap and never loosens it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// As the shop's cap allows.
    #[default]
    AsItComes,
    /// At most one a week.
    Weekly,
    /// At most one a month (30 days).
    Monthly,
}

impl Frequency {
    pub const ALL: [Frequency; 3] = [Frequency::AsItComes, Frequency::Weekly, Frequency::Monthly];

    /// The customer's own cap: at most one capped mail in this many days, if any.
    pub fn window_days(self) -> Option<u32> {
        match self {
            Frequency::AsItComes => None,
            Frequency::Weekly => Some(7),
            Frequency::Monthly => Some(30),
        }
    }

    /// The name forms and stores use.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::AsItComes => "as_it_comes",
            Frequency::Weekly => "weekly",
            Frequency::Monthly => "monthly",
        }
    }

    pub fn parse(raw: &str) -> Option<Frequency> {
        Frequency::ALL.into_iter().find(|f| f.as_str() == raw)
    }
}

/// Why an address never gets mail again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    HardBounce,
    SoftBounces,
    Complaint,
    Erased,
    Merchant,
}

/// An address on the shop's suppression list, kept as a digest so that erasing a customer leaves
/// no address behind while a later import still cannot mail them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    pub shop: ShopId,
    pub address: AddressDigest,
    pub reason: SuppressionReason,
    pub at: DateTime<Utc>,
}

/// SHA-256 of the shop id and the normalised address, hex: the same address has a different
/// digest in every shop, and no digest reveals its address without a guess.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AddressDigest(String);

impl AddressDigest {
    pub fn of(shop: &ShopId, email: &Email) -> AddressDigest {
        let mut hasher = Sha256::new();
        hasher.update(b"stammkunde-suppression\0");
        hasher.update(shop.as_str().as_bytes());
        hasher.update([0]);
        hasher.update(email.as_str().as_bytes());
        AddressDigest(hex::encode(hasher.finalize()))
    }

    /// A digest read back from a store (64 lower-case hex digits).
    pub fn from_stored(raw: &str) -> Option<AddressDigest> {
        (raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
            .then(|| AddressDigest(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// On what ground a marketing mail goes out; the existing-customer exception obliges every mail to
/// say that the customer may object.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalBasis {
    /// Not advertising: an account notice.
    Transactional,
    /// Confirmed double opt-in.
    Consent,
    /// UWG §7(3): a customer who bought from the shop, own similar products, objection notice.
    ExistingCustomer,
}

/// Why a mail does not go to a customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    Deleted,
    NoAddress,
    Suppressed,
    Unsubscribed,
    Paused,
    TopicDeclined,
    NoLegalBasis,
}

/// Whether a mail of `class` about `topic` may go to the customer at `now`, and on what basis.
pub fn permission(
    class: MailClass,
    topic: Option<Topic>,
    customer: &Customer,
    contact: &MailContact,
    suppressed: bool,
    basis: MarketingBasis,
    now: DateTime<Utc>,
) -> Result<LegalBasis, Refusal> {
    if customer.deleted_at.is_some() {
        return Err(Refusal::Deleted);
    }
    if customer.profile.email.is_none() {
        return Err(Refusal::NoAddress);
    }
    if suppressed {
        return Err(Refusal::Suppressed);
    }
    if class == MailClass::Transactional {
        return Ok(LegalBasis::Transactional);
    }
    if contact.unsubscribed_at.is_some() {
        return Err(Refusal::Unsubscribed);
    }
    if contact.paused_until.is_some_and(|until| now < until) {
        return Err(Refusal::Paused);
    }
    if topic.is_some_and(|t| contact.topics_declined.contains(&t)) {
        return Err(Refusal::TopicDeclined);
    }
    if contact.double_opt_in_at.is_some() {
        return Ok(LegalBasis::Consent);
    }
    match basis {
        MarketingBasis::ExistingCustomer if customer.last_order_at.is_some() => Ok(LegalBasis::ExistingCustomer),
        MarketingBasis::ExistingCustomer | MarketingBasis::Consent => Err(Refusal::NoLegalBasis),
    }
}
