//! Which date-driven mails are due for a customer on their local day.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Tz;

use crate::customer::Birthday;
use crate::mail::rule::{BirthdayRule, WinBackRule};

/// The day a birthday falls on in `year`: 29 February is 28 February in other years.
pub fn birthday_in(year: i32, birthday: &Birthday) -> Option<NaiveDate> {
    let (month, day) = (u32::from(birthday.month), u32::from(birthday.day));
    NaiveDate::from_ymd_opt(year, month, day)
        .or_else(|| (month == 2 && day == 29).then(|| NaiveDate::from_ymd_opt(year, 2, 28)).flatten())
}

/// The birthday whose greeting is due on the local day `today` (`days_before` ahead of it), if
/// any. The answer is the birthday's date, which keys the send: once per customer per year.
pub fn birthday_due(birthday: &Birthday, today: NaiveDate, rule: &BirthdayRule) -> Option<NaiveDate> {
    let target = today + Duration::days(i64::from(rule.days_before));
    birthday_in(target.year(), birthday).filter(|date| *date == target)
}

/// The month-days the birthday index is asked for when local days `dates` are underway somewhere:
/// each day's target date, plus 29 February on the 28th of a common year.
pub fn birthday_index_days(dates: &[NaiveDate], rule: &BirthdayRule) -> Vec<(u8, u8)> {
    let mut days = Vec::new();
    for date in dates {
        let target = *date + Duration::days(i64::from(rule.days_before));
        let key = (target.month() as u8, target.day() as u8);
        days.push(key);
        let leap = NaiveDate::from_ymd_opt(target.year(), 2, 29).is_some();
        if key == (2, 28) && !leap {
            days.push((2, 29));
        }
    }
    days.sort_unstable();
    days.dedup();
    days
}

/// Whether the greeting for the birthday on `birthday_date` carries a code: not if the birthday
/// was entered or changed fewer than `guard_days` before it (in the customer's zone). A birthday
/// we do not know the entry time of (stored before we kept it) is not held back.
pub fn birthday_earns_code(
    birthday_since: Option<DateTime<Utc>>,
    birthday_date: NaiveDate,
    zone: Tz,
    rule: &BirthdayRule,
) -> bool {
    match birthday_since {
        None => true,
        Some(since) => {
            let entered = since.with_timezone(&zone).date_naive();
            birthday_date - entered >= Duration::days(i64::from(rule.guard_days))
        }
    }
}

/// The local date a win-back mail is due for a customer whose last order was at `last_order_at`.
pub fn win_back_date(last_order_at: DateTime<Utc>, zone: Tz, rule: &WinBackRule) -> NaiveDate {
    last_order_at.with_timezone(&zone).date_naive() + Duration::days(i64::from(rule.after_days))
}

/// Days a date-driven mail may still go out after its date, when no sweep ran on the day (an
/// outage): it goes out late rather than never.
pub const CATCH_UP_DAYS: i64 = 2;

/// Whether a mail for `date` is due on local `today`: on the day, or up to the catch-up days
/// after.
pub fn due_on(date: NaiveDate, today: NaiveDate) -> bool {
    today >= date && today - date <= Duration::days(CATCH_UP_DAYS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(raw: &str) -> NaiveDate {
        raw.parse().unwrap_or_else(|e| panic!("{raw}: {e}"))
    }

    fn birthday(month: u8, day: u8) -> Birthday {
        Birthday::new(month, day, None).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_leap_day_birthday_falls_on_28_february_in_common_years() {
        let rule = BirthdayRule::default();
        let leap = birthday(2, 29);
        assert_eq!(birthday_due(&leap, date("2026-02-28"), &rule), Some(date("2026-02-28")));
        assert_eq!(birthday_due(&leap, date("2028-02-28"), &rule), None);
        assert_eq!(birthday_due(&leap, date("2028-02-29"), &rule), Some(date("2028-02-29")));
        assert_eq!(birthday_index_days(&[date("2026-02-28")], &rule), vec![(2, 28), (2, 29)]);
        assert_eq!(birthday_index_days(&[date("2028-02-28")], &rule), vec![(2, 28)]);
    }

    #[test]
    fn days_before_reach_into_the_next_year() {
        let rule = BirthdayRule { days_before: 3, ..BirthdayRule::default() };
        assert_eq!(birthday_due(&birthday(1, 2), date("2026-12-30"), &rule), Some(date("2027-01-02")));
        assert_eq!(birthday_due(&birthday(1, 2), date("2027-01-02"), &rule), None);
    }

    #[test]
    fn a_birthday_entered_29_days_before_earns_no_code_and_30_days_before_does() {
        let rule = BirthdayRule::default();
        let zone = Tz::Europe__Berlin;
        let day = date("2026-06-30");
        let at = |raw: &str| raw.parse::<DateTime<Utc>>().unwrap_or_else(|e| panic!("{e}"));
        assert!(!birthday_earns_code(Some(at("2026-06-01T10:00:00Z")), day, zone, &rule));
        assert!(birthday_earns_code(Some(at("2026-05-31T10:00:00Z")), day, zone, &rule));
        // 22:30 UTC on 31 May is already 1 June in Berlin: 29 days.
        assert!(!birthday_earns_code(Some(at("2026-05-31T22:30:00Z")), day, zone, &rule));
        assert!(birthday_earns_code(None, day, zone, &rule));
    }
}
