//! The settings form as posted (`application/x-www-form-urlencoded`), checked whole before
//! anything is written: a form with one bad field is refused with the field named.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use stammkunde_domain::customer::Birthday;
use stammkunde_domain::mail::campaign::Topic;
use stammkunde_domain::mail::contact::Frequency;

/// The topics the page offers, in the order it shows them, with their form names.
pub const TOPICS: [(Topic, &str); 4] = [
    (Topic::Newsletter, "topic_newsletter"),
    (Topic::Offers, "topic_offers"),
    (Topic::Birthday, "topic_birthday"),
    (Topic::PointsNews, "topic_points_news"),
];

/// Longest pause the page accepts: a year. Longer is an unsubscribe, which the page also offers.
pub const PAUSE_DAYS_MAX: i64 = 366;

/// What the customer chose.
#[derive(Debug, PartialEq, Eq)]
pub struct Settings {
    pub csrf: String,
    pub revision: u64,
    pub topics_declined: Vec<Topic>,
    pub frequency: Frequency,
    /// Midnight at the start of the day after the chosen date, in the customer's zone: paused
    /// through the whole of that day.
    pub paused_until: Option<DateTime<Utc>>,
    pub birthday: Option<Birthday>,
    /// `None`: derived from the country, else the shop's.
    pub time_zone: Option<Tz>,
}

/// Which field was wrong, as the page names it to the customer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormError {
    Malformed,
    Frequency,
    Pause,
    Birthday,
    TimeZone,
}

/// Parses the form. `zone` is the customer's zone before this save (the pause date's day is
/// theirs); `today` their local date.
pub fn parse(body: &[u8], zone: Tz, today: NaiveDate) -> Result<Settings, FormError> {
    let fields: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let field = |name: &str| fields.iter().find(|(key, _)| key == name).map(|(_, value)| value.trim());
    let csrf = field("csrf").unwrap_or_default().to_owned();
    let revision = field("revision").and_then(|r| r.parse().ok()).ok_or(FormError::Malformed)?;
    let topics_declined = TOPICS.iter().filter(|(_, name)| field(name).is_none()).map(|(topic, _)| *topic).collect();
    let frequency = Frequency::parse(field("frequency").unwrap_or("as_it_comes")).ok_or(FormError::Frequency)?;
    let time_zone = match field("time_zone").unwrap_or_default() {
        "" => None,
        name => Some(name.parse::<Tz>().map_err(|_| FormError::TimeZone)?),
    };
    let paused_until = match field("pause_until").unwrap_or_default() {
        "" => None,
        date => Some(pause_end(date, time_zone.unwrap_or(zone), today)?),
    };
    Ok(Settings {
        csrf,
        revision,
        topics_declined,
        frequency,
        paused_until,
        birthday: birthday(field("birthday_day"), field("birthday_month"), field("birthday_year"))?,
        time_zone,
    })
}

/// The end of a pause through `date` (inclusive), which must lie after today and within a year.
fn pause_end(date: &str, zone: Tz, today: NaiveDate) -> Result<DateTime<Utc>, FormError> {
    let date = NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| FormError::Pause)?;
    if date < today || (date - today).num_days() > PAUSE_DAYS_MAX {
        return Err(FormError::Pause);
    }
    let next = date.succ_opt().and_then(|d| d.and_hms_opt(0, 0, 0)).ok_or(FormError::Pause)?;
    // Midnight exists in every zone but a few that skip it on a transition: then the first
    // instant after it.
    let local = zone.from_local_datetime(&next).earliest().or_else(|| {
        next.checked_add_signed(chrono::Duration::hours(1)).and_then(|t| zone.from_local_datetime(&t).earliest())
    });
    local.map(|t| t.with_timezone(&Utc)).ok_or(FormError::Pause)
}

/// Day and month, or nothing; a year only with both.
fn birthday(day: Option<&str>, month: Option<&str>, year: Option<&str>) -> Result<Option<Birthday>, FormError> {
    let (day, month, year) = (day.unwrap_or_default(), month.unwrap_or_default(), year.unwrap_or_default());
    if day.is_empty() && month.is_empty() {
        return if year.is_empty() { Ok(None) } else { Err(FormError::Birthday) };
    }
    let day: u8 = day.parse().map_err(|_| FormError::Birthday)?;
    let month: u8 = month.parse().map_err(|_| FormError::Birthday)?;
    let year = match year {
        "" => None,
        year => Some(year.parse::<u16>().ok().filter(|y| (1900..=2100).contains(y)).ok_or(FormError::Birthday)?),
    };
    Birthday::new(month, day, year).map(Some).map_err(|_| FormError::Birthday)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 3).unwrap_or_default()
    }

    fn parsed(body: &str) -> Result<Settings, FormError> {
        parse(body.as_bytes(), Tz::Europe__Berlin, today())
    }

    #[test]
    fn unchecked_topics_are_declined_and_the_rest_is_read_as_chosen() {
        let form = "csrf=x&revision=3&topic_offers=on&topic_birthday=on&frequency=weekly&pause_until=2026-12-24\
                    &birthday_day=14&birthday_month=7&birthday_year=&time_zone=America%2FNew_York";
        let settings = parsed(form).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(settings.revision, 3);
        assert_eq!(settings.topics_declined, vec![Topic::Newsletter, Topic::PointsNews]);
        assert_eq!(settings.frequency, Frequency::Weekly);
        assert_eq!(settings.birthday, Birthday::new(7, 14, None).ok());
        assert_eq!(settings.time_zone, Some(Tz::America__New_York));
        // Through 24 December in New York (the zone chosen in the same form): until 05:00 UTC.
        assert_eq!(settings.paused_until.map(|t| t.to_rfc3339()), Some("2026-12-25T05:00:00+00:00".into()));
    }

    #[test]
    fn every_bad_field_is_named() {
        let base = "csrf=x&revision=0";
        assert_eq!(parsed("csrf=x").err(), Some(FormError::Malformed));
        assert_eq!(parsed(&format!("{base}&frequency=daily")).err(), Some(FormError::Frequency));
        assert_eq!(parsed(&format!("{base}&pause_until=2026-12-01")).err(), Some(FormError::Pause));
        assert_eq!(parsed(&format!("{base}&pause_until=2028-01-01")).err(), Some(FormError::Pause));
        assert_eq!(parsed(&format!("{base}&pause_until=soon")).err(), Some(FormError::Pause));
        assert_eq!(parsed(&format!("{base}&birthday_day=30&birthday_month=2")).err(), Some(FormError::Birthday));
        assert_eq!(parsed(&format!("{base}&birthday_year=1990")).err(), Some(FormError::Birthday));
        assert_eq!(parsed(&format!("{base}&time_zone=Mars%2FOlympus")).err(), Some(FormError::TimeZone));
        let empty = parsed(base).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((empty.birthday, empty.paused_until, empty.time_zone), (None, None, None));
        assert_eq!(empty.topics_declined.len(), 4, "no box ticked declines every topic");
    }
}
