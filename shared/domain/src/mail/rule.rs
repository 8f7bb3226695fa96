//! A shop's mail settings (`[shops.mail]`): sender, branding, when mail may go out, the frequency
//! cap, the legal basis for marketing, and each campaign's switch. Defaults are in the README.

use serde::{Deserialize, Serialize};

use crate::ids::RewardId;
use crate::programme::Reward;

/// What a marketing mail may rely on when the customer has not confirmed a subscription.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MarketingBasis {
    /// Only customers who confirmed double opt-in get marketing mail.
    #[default]
    Consent,
    /// Also customers who bought from the shop (UWG §7(3)), with an objection notice in every mail.
    ExistingCustomer,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailRule {
    /// Off by default: a shop sends nothing until it names its sender and imprint.
    pub enabled: bool,
    /// `Name <address>` of the shop's verified SES identity.
    pub from: String,
    pub reply_to: Option<String>,
    /// The shop's name as the customer knows it.
    pub shop_name: String,
    /// The Impressum: German commercial mail must name who sends it.
    pub imprint: String,
    pub logo_url: Option<String>,
    /// The shop's colour for buttons and headings (`#rrggbb`).
    pub colour: String,
    /// The link to the shop that buttons lead to.
    pub shop_url: String,
    /// Where `List-Unsubscribe`'s mailto goes (an address that unsubscribes whoever writes).
    pub unsubscribe_mailto: Option<String>,
    /// The SES configuration set (bounce and complaint events, open tracking if the shop wants).
    pub configuration_set: Option<String>,
    /// Local hour scheduled mails go out from.
    pub send_hour: u32,
    /// No marketing mail from this local hour …
    pub quiet_from_hour: u32,
    /// … until this one.
    pub quiet_until_hour: u32,
    /// At most this many capped mails per customer …
    pub cap_mails: u32,
    /// … in this many days.
    pub cap_days: u32,
    pub marketing_basis: MarketingBasis,
    /// SES send rate of the account (mails per second); the sweep paces itself below it.
    pub sends_per_second_max: u32,
    pub birthday: BirthdayRule,
    pub win_back: WinBackRule,
    pub post_purchase: PostPurchaseRule,
    pub points_expiring: Switch,
    pub refund_notice: Switch,
    pub reconsent: ReconsentRule,
}

impl Default for MailRule {
    fn default() -> Self {
        MailRule {
            enabled: false,
            from: String::new(),
            reply_to: None,
            shop_name: String::new(),
            imprint: String::new(),
            logo_url: None,
            colour: "#1f6f5c".into(),
            shop_url: String::new(),
            unsubscribe_mailto: None,
            configuration_set: None,
            send_hour: 9,
            quiet_from_hour: 21,
            quiet_until_hour: 8,
            cap_mails: 2,
            cap_days: 7,
            marketing_basis: MarketingBasis::Consent,
            sends_per_second_max: 10,
            birthday: BirthdayRule::default(),
            win_back: WinBackRule::default(),
            post_purchase: PostPurchaseRule::default(),
            points_expiring: Switch::default(),
            refund_notice: Switch::default(),
            reconsent: ReconsentRule::default(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BirthdayRule {
    pub enabled: bool,
    /// Send this many days before the birthday (0: on the day).
    pub days_before: u32,
    /// The reward whose code the greeting carries (none: a greeting without a code).
    pub reward: Option<RewardId>,
    /// A birthday entered or changed fewer days than this before it earns no code that year.
    pub guard_days: u32,
}

impl Default for BirthdayRule {
    fn default() -> Self {
        BirthdayRule { enabled: true, days_before: 0, reward: None, guard_days: 30 }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WinBackRule {
    pub enabled: bool,
    /// Days after the last order the mail goes out.
    pub after_days: u32,
    /// Days after the win-back mail the one reminder goes out (none: no reminder).
    pub reminder_after_days: Option<u32>,
    pub reward: Option<RewardId>,
}

impl Default for WinBackRule {
    fn default() -> Self {
        WinBackRule { enabled: true, after_days: 120, reminder_after_days: Some(14), reward: None }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostPurchaseRule {
    pub enabled: bool,
    /// Days after the delivery the platform reported (the goods have arrived and been tried).
    pub delay_days: u32,
    /// Also after repeat orders (off: only after the customer's first order).
    pub repeat_orders: bool,
}

impl Default for PostPurchaseRule {
    fn default() -> Self {
        PostPurchaseRule { enabled: true, delay_days: 3, repeat_orders: false }
    }
}

/// Re-permission (`[shops.mail.reconsent]`): how long a consent without proof here (imported, or
/// a double opt-in from before the consent ledger) keeps counting once its re-permission mail is
/// scheduled. Not confirmed by then, marketing mail on the ground of consent stops.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconsentRule {
    pub confirm_within_days: u32,
}

/// The longest a consent without proof may keep counting.
pub const RECONSENT_DAYS_MAX: u32 = 365;

impl Default for ReconsentRule {
    fn default() -> Self {
        ReconsentRule { confirm_within_days: 30 }
    }
}

/// A campaign with nothing to configure but whether it runs (on by default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Switch {
    pub enabled: bool,
}

impl Default for Switch {
    fn default() -> Self {
        Switch { enabled: true }
    }
}

impl MailRule {
    pub fn validate(&self, rewards: &[Reward]) -> Result<(), String> {
        for (name, hour) in [
            ("send_hour", self.send_hour),
            ("quiet_from_hour", self.quiet_from_hour),
            ("quiet_until_hour", self.quiet_until_hour),
        ] {
            if hour > 23 {
                return Err(format!("mail.{name} must be 0 to 23"));
            }
        }
        if self.cap_mails == 0 || self.cap_days == 0 {
            return Err("mail.cap_mails and mail.cap_days must be at least 1".into());
        }
        if self.sends_per_second_max == 0 {
            return Err("mail.sends_per_second_max must be at least 1".into());
        }
        if !is_colour(&self.colour) {
            return Err("mail.colour must be #rrggbb".into());
        }
        if !(1..=RECONSENT_DAYS_MAX).contains(&self.reconsent.confirm_within_days) {
            return Err(format!("mail.reconsent.confirm_within_days must be 1 to {RECONSENT_DAYS_MAX}"));
        }
        if self.win_back.after_days == 0 {
            return Err("mail.win_back.after_days must be at least 1".into());
        }
        for reward in [&self.birthday.reward, &self.win_back.reward].into_iter().flatten() {
            if !rewards.iter().any(|r| &r.id == reward) {
                return Err(format!("mail: reward `{reward}` is not one of the shop's rewards"));
            }
        }
        if !self.enabled {
            return Ok(());
        }
        if crate::mail::slot::in_quiet_hours(self.send_hour, self) {
            return Err("mail.send_hour lies in the quiet hours".into());
        }
        for (name, value) in [
            ("from", &self.from),
            ("shop_name", &self.shop_name),
            ("imprint", &self.imprint),
            ("shop_url", &self.shop_url),
        ] {
            if value.trim().is_empty() {
                return Err(format!("mail.{name} is required when mail is enabled"));
            }
        }
        if !self.from.contains('@') {
            return Err("mail.from must be an address (`Shop <news@shop.example>`)".into());
        }
        Ok(())
    }
}

fn is_colour(raw: &str) -> bool {
    raw.len() == 7 && raw.starts_with('#') && raw[1..].bytes().all(|b| b.is_ascii_hexdigit())
}
