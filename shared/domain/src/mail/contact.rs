//! What a customer allowed, and whether a mail may go to them.
//!
//! The preference centre and the consent ledger (double opt-in with its proof) write the contact;
//! here is only the decision the sweep makes from it.
//!
//! Consent without proof here (imported from another tool, or a double opt-in from before the
//! consent ledger) carries a re-permission deadline, `reconsent_by`: it counts as consent until
//! then, and not after, unless the person confirmed (the click clears the deadline). What may
//! still go after it is what the shop's existing-customer ground (UWG §7(3)) allows, which never
//! rested on consent.

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
    /// Consent the shop says the customer gave elsewhere (an import from its previous tool), with
    /// no proof here: it counts only until `reconsent_by`.
    #[serde(default)]
    pub imported_consent_at: Option<DateTime<Utc>>,
    /// The re-permission deadline of a consent without proof here (imported, or a double opt-in
    /// from before the consent ledger): it counts until then; the confirmation click clears it.
    #[serde(default)]
    pub reconsent_by: Option<DateTime<Utc>>,
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

impl MailContact {
    /// Whether the customer is taken to have consented: a double opt-in here or an imported one.
    pub fn consent_claimed(&self) -> bool {
        self.double_opt_in_at.is_some() || self.imported_consent_at.is_some()
    }

    /// Whether that consent still counts at `now`: no re-permission deadline has passed.
    pub fn consent_counts(&self, now: DateTime<Utc>) -> bool {
        self.consent_claimed() && self.reconsent_by.is_none_or(|by| now < by)
    }

    /// Whether a re-permission is open at `now`: a deadline set and not yet reached.
    pub fn awaits_reconsent(&self, now: DateTime<Utc>) -> bool {
        self.reconsent_by.is_some_and(|by| now < by)
    }

    /// A double opt-in confirmed here with nothing left to confirm. (Whether its proof is on the
    /// consent ledger is the ledger's to say: a contact from before the ledger says yes too.)
    pub fn double_opt_in_standing(&self) -> bool {
        self.double_opt_in_at.is_some()
            && self.reconsent_by.is_none()
            && self.imported_consent_at.is_none()
            && self.unsubscribed_at.is_none()
    }
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
    /// A re-permission mail with nothing to confirm: confirmed already, or its deadline passed.
    NothingToConfirm,
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
    if contact.consent_counts(now) {
        return Ok(LegalBasis::Consent);
    }
    match basis {
        MarketingBasis::ExistingCustomer if customer.last_order_at.is_some() => Ok(LegalBasis::ExistingCustomer),
        MarketingBasis::ExistingCustomer | MarketingBasis::Consent => Err(Refusal::NoLegalBasis),
    }
}

/// Whether the re-permission mail may go, given the basis `permission` found. German courts have
/// treated a mail that asks for consent to advertising as advertising itself, so we take the safe
/// side: it goes only on the consent it asks to confirm, while that still counts; never on the
/// existing-customer ground, never after the deadline, and not once the person confirmed.
pub fn reconsent_permission(contact: &MailContact, basis: LegalBasis, now: DateTime<Utc>) -> Result<(), Refusal> {
    if !contact.awaits_reconsent(now) {
        return Err(Refusal::NothingToConfirm);
    }
    if basis != LegalBasis::Consent {
        return Err(Refusal::NoLegalBasis);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::customer::{CustomerProfile, Email};
    use crate::ids::CustomerId;
    use crate::ledger::Balance;

    fn at(raw: &str) -> DateTime<Utc> {
        raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn customer(bought: bool) -> Customer {
        let shop = ShopId::parse("demo").unwrap_or_else(|e| panic!("{e}"));
        Customer {
            profile: CustomerProfile {
                shop,
                customer_id: CustomerId::parse("c1").unwrap_or_else(|e| panic!("{e}")),
                email: Email::parse("anna@example.de").ok(),
                first_name: None,
                last_name: None,
                locale: None,
                country: None,
                birthday: None,
                accepts_email_marketing: None,
                source_updated_at: None,
            },
            last_order_at: bought.then(|| at("2026-01-10T10:00:00Z")),
            balance: Balance::default(),
            deleted_at: None,
            birthday_since: None,
        }
    }

    fn offers(contact: &MailContact, bought: bool, basis: MarketingBasis, now: &str) -> Result<LegalBasis, Refusal> {
        permission(MailClass::Marketing, Some(Topic::Offers), &customer(bought), contact, false, basis, at(now))
    }

    /// Imported on 1 May with 30 days to confirm.
    fn imported() -> MailContact {
        MailContact {
            imported_consent_at: Some(at("2021-03-04T10:00:00Z")),
            reconsent_by: Some(at("2026-05-31T10:00:00Z")),
            ..MailContact::default()
        }
    }

    #[test]
    fn imported_consent_counts_until_its_deadline_and_not_from_it() {
        let contact = imported();
        assert_eq!(offers(&contact, false, MarketingBasis::Consent, "2026-05-31T09:59:59Z"), Ok(LegalBasis::Consent));
        assert_eq!(
            offers(&contact, false, MarketingBasis::Consent, "2026-05-31T10:00:00Z"),
            Err(Refusal::NoLegalBasis)
        );
        assert_eq!(
            offers(&contact, false, MarketingBasis::Consent, "2027-01-01T00:00:00Z"),
            Err(Refusal::NoLegalBasis)
        );
    }

    #[test]
    fn a_double_opt_in_from_before_the_ledger_stops_counting_at_its_deadline_too() {
        let legacy = MailContact {
            double_opt_in_at: Some(at("2024-02-01T10:00:00Z")),
            reconsent_by: Some(at("2026-05-31T10:00:00Z")),
            ..MailContact::default()
        };
        assert_eq!(offers(&legacy, false, MarketingBasis::Consent, "2026-05-20T10:00:00Z"), Ok(LegalBasis::Consent));
        assert_eq!(offers(&legacy, false, MarketingBasis::Consent, "2026-06-01T10:00:00Z"), Err(Refusal::NoLegalBasis));
        let no_deadline = MailContact { reconsent_by: None, ..legacy };
        assert_eq!(
            offers(&no_deadline, false, MarketingBasis::Consent, "2030-01-01T00:00:00Z"),
            Ok(LegalBasis::Consent),
            "without a re-consent run nothing changes for it"
        );
    }

    #[test]
    fn a_confirmed_customer_keeps_getting_marketing_after_the_deadline_date() {
        // What the confirmation click leaves: the double opt-in, no deadline, nothing imported.
        let confirmed = MailContact { double_opt_in_at: Some(at("2026-05-13T08:00:00Z")), ..MailContact::default() };
        assert!(confirmed.double_opt_in_standing());
        assert!(!imported().double_opt_in_standing());
        assert_eq!(offers(&confirmed, false, MarketingBasis::Consent, "2026-07-01T10:00:00Z"), Ok(LegalBasis::Consent));
    }

    #[test]
    fn after_the_deadline_only_the_existing_customer_ground_remains_and_only_for_a_buyer() {
        let contact = imported();
        let late = "2026-06-15T10:00:00Z";
        assert_eq!(offers(&contact, true, MarketingBasis::ExistingCustomer, late), Ok(LegalBasis::ExistingCustomer));
        assert_eq!(offers(&contact, false, MarketingBasis::ExistingCustomer, late), Err(Refusal::NoLegalBasis));
        assert_eq!(offers(&contact, true, MarketingBasis::Consent, late), Err(Refusal::NoLegalBasis));
        let unsubscribed = MailContact { unsubscribed_at: Some(at("2026-05-02T10:00:00Z")), ..imported() };
        assert_eq!(
            offers(&unsubscribed, false, MarketingBasis::Consent, "2026-05-03T10:00:00Z"),
            Err(Refusal::Unsubscribed),
            "an imported consent never outweighs an unsubscribe"
        );
    }

    #[test]
    fn settings_stored_before_re_permission_read_without_a_deadline() {
        // SQLite keeps the settings as this JSON; no migration adds the new fields.
        let stored = r#"{"double_opt_in_at":"2024-02-01T10:00:00Z","topics_declined":[],"unsubscribed_at":null,
            "paused_until":null,"time_zone":null,"frequency":"as_it_comes","revision":2}"#;
        let contact: MailContact = serde_json::from_str(stored).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((contact.imported_consent_at, contact.reconsent_by, contact.revision), (None, None, 2));
        assert!(contact.consent_counts(at("2030-01-01T00:00:00Z")));
    }

    #[test]
    fn the_re_permission_mail_goes_only_on_the_consent_it_asks_to_confirm_while_it_is_open() {
        let contact = imported();
        let before = at("2026-05-20T10:00:00Z");
        assert_eq!(reconsent_permission(&contact, LegalBasis::Consent, before), Ok(()));
        assert_eq!(reconsent_permission(&contact, LegalBasis::ExistingCustomer, before), Err(Refusal::NoLegalBasis));
        assert_eq!(
            reconsent_permission(&contact, LegalBasis::Consent, at("2026-05-31T10:00:00Z")),
            Err(Refusal::NothingToConfirm)
        );
        let confirmed = MailContact { double_opt_in_at: Some(before), ..MailContact::default() };
        assert_eq!(reconsent_permission(&confirmed, LegalBasis::Consent, before), Err(Refusal::NothingToConfirm));
    }
}
