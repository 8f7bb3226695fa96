//! The campaigns, what kind of mail each is, and the topic a customer can decline it by.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A kind of retention mail. The send key of a mail is (shop, customer, campaign, date).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Campaign {
    /// A greeting with a personal code on (or a few days before) the birthday.
    Birthday,
    /// "Wir vermissen Sie": the customer's last order is N days old.
    WinBack,
    /// The one reminder after a win-back mail the customer did not answer with an order.
    WinBackReminder,
    /// A thank-you after the first order's delivery: asks for a review, shows the points pending.
    PostPurchase,
    /// Points are about to expire: how many, and when.
    PointsExpiring,
    /// A reversal took points back (a refund or cancellation): a short factual notice.
    RefundNotice,
    /// The double opt-in's confirmation mail: a link to confirm the subscription asked for.
    ConsentConfirmation,
    /// A fresh link to the preference centre, asked for on its "send me a new link" form.
    NewLink,
    /// The re-permission mail: a consent without proof here (imported, or from before the consent
    /// ledger) asked to be confirmed before its deadline.
    Reconsent,
}

impl Campaign {
    pub const ALL: [Campaign; 9] = [
        Campaign::Birthday,
        Campaign::WinBack,
        Campaign::WinBackReminder,
        Campaign::PostPurchase,
        Campaign::PointsExpiring,
        Campaign::RefundNotice,
        Campaign::ConsentConfirmation,
        Campaign::NewLink,
        Campaign::Reconsent,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Campaign::Birthday => "birthday",
            Campaign::WinBack => "win_back",
            Campaign::WinBackReminder => "win_back_reminder",
            Campaign::PostPurchase => "post_purchase",
            Campaign::PointsExpiring => "points_expiring",
            Campaign::RefundNotice => "refund_notice",
            Campaign::ConsentConfirmation => "consent_confirmation",
            Campaign::NewLink => "new_link",
            Campaign::Reconsent => "reconsent",
        }
    }

    pub fn parse(raw: &str) -> Option<Campaign> {
        Campaign::ALL.into_iter().find(|c| c.as_str() == raw)
    }

    pub fn class(self) -> MailClass {
        match self {
            // A mail asking for consent to advertising is advertising itself in German law
            // (`contact::reconsent_permission`): the re-permission mail is marketing, capped, never
            // in quiet hours, with the unsubscribe link.
            Campaign::Birthday
            | Campaign::WinBack
            | Campaign::WinBackReminder
            | Campaign::PostPurchase
            | Campaign::Reconsent => MailClass::Marketing,
            Campaign::PointsExpiring => MailClass::Points,
            // Asked for by the person: not advertising, and it must arrive at once, cap or not.
            Campaign::RefundNotice | Campaign::ConsentConfirmation | Campaign::NewLink => MailClass::Transactional,
        }
    }

    pub fn topic(self) -> Option<Topic> {
        match self {
            Campaign::Birthday => Some(Topic::Birthday),
            Campaign::WinBack | Campaign::WinBackReminder => Some(Topic::Offers),
            Campaign::PostPurchase | Campaign::PointsExpiring => Some(Topic::PointsNews),
            // About marketing mail as a whole: declining one topic does not answer it.
            Campaign::RefundNotice | Campaign::ConsentConfirmation | Campaign::NewLink | Campaign::Reconsent => None,
        }
    }

    /// Days after its date past which a deferred mail is meaningless and is dropped instead.
    /// `None`: it stays worth sending (a win-back mail is void only once the customer orders,
    /// which ends its cycle).
    pub fn late_days_max(self) -> Option<i64> {
        match self {
            Campaign::Birthday | Campaign::PointsExpiring => Some(7),
            Campaign::PostPurchase => Some(14),
            // A re-permission mail is worth sending until its deadline, which `permission` knows.
            Campaign::WinBack | Campaign::WinBackReminder | Campaign::RefundNotice | Campaign::Reconsent => None,
            // A confirmation that comes days late is not what the person waits for on the form.
            Campaign::ConsentConfirmation => Some(2),
            // Asked for on a form: a link that comes a day late is not what the person waits for.
            Campaign::NewLink => Some(1),
        }
    }
}

impl fmt::Display for Campaign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a mail is, legally and for the frequency cap. Ordered by priority: when several mails of
/// one customer compete for the cap, the higher class goes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailClass {
    /// Facts about the customer's account (a reversal): no consent needed, never capped.
    Transactional,
    /// News about the customer's points (about to expire): capped, needs the points topic.
    Points,
    /// Advertising: needs a legal basis, capped, never in quiet hours.
    Marketing,
}

/// What a customer can choose to receive in the preference centre.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Topic {
    Newsletter,
    Offers,
    Birthday,
    PointsNews,
}

impl Topic {
    /// The serde name, for keys and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Newsletter => "newsletter",
            Topic::Offers => "offers",
            Topic::Birthday => "birthday",
            Topic::PointsNews => "points_news",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_topics_name_is_its_serde_name() {
        for topic in [Topic::Newsletter, Topic::Offers, Topic::Birthday, Topic::PointsNews] {
            assert_eq!(serde_json::to_value(topic).ok(), Some(serde_json::Value::from(topic.as_str())));
        }
    }
}
