//! Where a mail sweep finds its candidates: the due index (deferred mail, and claims whose lease
//! ran out), the birthday index for the days
//! underway somewhere on earth, and the last-order index for the days whose customers' win-back
//! (or reminder) is due. Each source is read a bounded page at a time; its cursor is kept as a
//! sweep mark so that an interrupted run resumes where it stopped.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use stammkunde_domain::ids::CustomerId;
use stammkunde_domain::mail::due::{birthday_index_days, CATCH_UP_DAYS};
use stammkunde_domain::mail::{Campaign, MailRule};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Source {
    /// Send records due again: mails the frequency cap held back (or a ledger entry scheduled),
    /// and claims past their lease, to be flagged if never confirmed.
    Due,
    /// Customers with this birthday (month, day).
    Birthday { month: u8, day: u8 },
    /// Customers whose last order was on this UTC date, for a win-back campaign.
    LastOrder { campaign: Campaign, date: NaiveDate },
}

impl Source {
    /// The sweep mark that holds the source's cursor.
    pub(super) fn mark(&self) -> String {
        match self {
            Source::Due => "mail:due".into(),
            Source::Birthday { month, day } => format!("mail:birthday:{month:02}-{day:02}"),
            Source::LastOrder { campaign, date } => format!("mail:{campaign}:{date}"),
        }
    }
}

/// A customer a source found, with the send's date when the source knows it (a due record).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Candidate {
    pub customer_id: CustomerId,
    pub campaign: Campaign,
    pub date: Option<NaiveDate>,
}

/// Local days run from UTC−12 to UTC+14.
const ZONE_OFFSET_WEST_HOURS: i64 = 12;
const ZONE_OFFSET_EAST_HOURS: i64 = 14;

/// The sources of one run at `now`, due records first.
pub(super) fn sources(rule: &MailRule, now: DateTime<Utc>) -> Vec<Source> {
    let mut sources = vec![Source::Due];
    if rule.birthday.enabled {
        let mut days_underway = vec![
            (now - Duration::hours(ZONE_OFFSET_WEST_HOURS)).date_naive(),
            now.date_naive(),
            (now + Duration::hours(ZONE_OFFSET_EAST_HOURS)).date_naive(),
        ];
        days_underway.dedup();
        for (month, day) in birthday_index_days(&days_underway, &rule.birthday) {
            sources.push(Source::Birthday { month, day });
        }
    }
    if rule.win_back.enabled {
        let after = i64::from(rule.win_back.after_days);
        sources
            .extend(last_order_dates(now, after).map(|date| Source::LastOrder { campaign: Campaign::WinBack, date }));
        if let Some(reminder) = rule.win_back.reminder_after_days {
            let after = after + i64::from(reminder);
            sources.extend(
                last_order_dates(now, after)
                    .map(|date| Source::LastOrder { campaign: Campaign::WinBackReminder, date }),
            );
        }
    }
    sources
}

/// The UTC dates of last orders whose mail, `after_days` later in the customer's zone, is due
/// today somewhere or within the catch-up days: a customer's local day is within a day of the
/// UTC day, at the order and again now.
fn last_order_dates(now: DateTime<Utc>, after_days: i64) -> impl Iterator<Item = NaiveDate> {
    let today = now.date_naive();
    (-(CATCH_UP_DAYS + 2)..=2).map(move |offset| today - Duration::days(after_days) + Duration::days(offset))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_reads_the_deferred_mail_the_birthday_days_underway_and_the_win_back_days() {
        let now: DateTime<Utc> = "2026-06-15T08:00:00Z".parse().unwrap_or_else(|e| panic!("{e}"));
        let found = sources(&MailRule::default(), now);
        assert_eq!(found[0], Source::Due);
        let birthdays: Vec<String> =
            found.iter().filter(|s| matches!(s, Source::Birthday { .. })).map(Source::mark).collect();
        // 08:00 UTC: 20:00 on the 14th at UTC−12, 22:00 on the 15th at UTC+14.
        assert_eq!(birthdays, ["mail:birthday:06-14", "mail:birthday:06-15"]);
        let later: DateTime<Utc> = "2026-06-15T11:00:00Z".parse().unwrap_or_else(|e| panic!("{e}"));
        let days = sources(&MailRule::default(), later).iter().filter(|s| matches!(s, Source::Birthday { .. })).count();
        assert_eq!(days, 3, "at 11:00 UTC it is already the 16th at UTC+14");
        let win_back = found.iter().filter(|s| matches!(s, Source::LastOrder { campaign: Campaign::WinBack, .. }));
        assert_eq!(win_back.count(), 7);
        assert!(found.contains(&Source::LastOrder {
            campaign: Campaign::WinBack,
            date: "2026-02-15".parse().unwrap_or_else(|e| panic!("{e}"))
        }));
    }
}
