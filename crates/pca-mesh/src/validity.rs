//! Certificate validity as PCA takes it: a span in days, months or years, or an end
//! date; and the rules that bound it (the CA's own notAfter, short-lived mode).

use std::fmt;
use std::str::FromStr;

use time::format_description::well_known::Rfc3339;
use time::{Duration, Month, OffsetDateTime};

/// The longest span the flags take: beyond it a typo, not a plan.
pub const MAX_YEARS: u32 = 100;

/// The longest validity PCA allows for a CA in SHORT_LIVED_CERTIFICATE usage mode.
pub const SHORT_LIVED_MAX: Duration = Duration::days(7);

/// How long a certificate is valid, as given on the command line (`30d`, `12m`, `1y`,
/// or an RFC 3339 end date).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Validity {
    /// A number of days (PCA `DAYS`).
    Days(u32),
    /// A number of calendar months (PCA `MONTHS`).
    Months(u32),
    /// A number of calendar years (PCA `YEARS`).
    Years(u32),
    /// An absolute end date (PCA `END_DATE`).
    EndDate(OffsetDateTime),
}

impl Default for Validity {
    /// One year, as the guide issues cluster intermediates.
    fn default() -> Self {
        Validity::Years(1)
    }
}

impl Validity {
    /// The notAfter this validity gives for a certificate issued at `now`. A span past
    /// the calendar's end saturates there, so the CA-lifetime check refuses it.
    pub fn not_after(self, now: OffsetDateTime) -> OffsetDateTime {
        let end = match self {
            Validity::Days(n) => now.checked_add(Duration::days(n.into())),
            Validity::Months(n) => add_months(now, n),
            Validity::Years(n) => add_months(now, n.saturating_mul(12)),
            Validity::EndDate(t) => Some(t),
        };
        end.unwrap_or(time::PrimitiveDateTime::MAX.assume_utc())
    }

    /// PCA's `Validity` as (Type, Value).
    pub fn to_pca(self) -> (&'static str, i64) {
        match self {
            Validity::Days(n) => ("DAYS", n.into()),
            Validity::Months(n) => ("MONTHS", n.into()),
            Validity::Years(n) => ("YEARS", n.into()),
            Validity::EndDate(t) => {
                // END_DATE is YYYYMMDDHHMMSS in UTC, carried as a number.
                let t = t.to_offset(time::UtcOffset::UTC);
                let v = format!(
                    "{:04}{:02}{:02}{:02}{:02}{:02}",
                    t.year(),
                    u8::from(t.month()),
                    t.day(),
                    t.hour(),
                    t.minute(),
                    t.second()
                );
                ("END_DATE", v.parse().unwrap_or(0))
            }
        }
    }

    /// Checks the span against the short-lived usage-mode limit (7 days).
    pub fn check_short_lived(self, now: OffsetDateTime) -> Result<(), String> {
        if self.not_after(now) - now > SHORT_LIVED_MAX {
            return Err(format!(
                "validity {self} exceeds 7 days, the most a CA in SHORT_LIVED_CERTIFICATE usage mode issues; \
                 pass --validity 7d or less"
            ));
        }
        Ok(())
    }
}

/// Adds calendar months, clamping the day to the target month's length (Jan 31 + 1m =
/// Feb 28/29); `None` past the calendar's end.
fn add_months(t: OffsetDateTime, months: u32) -> Option<OffsetDateTime> {
    let total = i64::from(t.year()) * 12 + i64::from(u8::from(t.month()) - 1) + i64::from(months);
    let year = i32::try_from(total.div_euclid(12)).ok()?;
    let month = Month::try_from(u8::try_from(total.rem_euclid(12) + 1).ok()?).ok()?;
    let day = t.day().min(time::util::days_in_month(month, year));
    let date = time::Date::from_calendar_date(year, month, day).ok()?;
    Some(t.replace_date(date))
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Validity::Days(n) => write!(f, "{n}d"),
            Validity::Months(n) => write!(f, "{n}m"),
            Validity::Years(n) => write!(f, "{n}y"),
            Validity::EndDate(t) => write!(f, "{}", t.format(&Rfc3339).unwrap_or_default()),
        }
    }
}

impl FromStr for Validity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "cannot read validity {s:?}; expected a span such as 30d, 12m or 1y, or an RFC 3339 end date"
            )
        };
        if let Ok(t) = OffsetDateTime::parse(s, &Rfc3339) {
            return Ok(Validity::EndDate(t));
        }
        let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
        let n: u32 = num.parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(format!("validity {s:?} is empty; give a positive span"));
        }
        let (v, days) = match unit {
            "d" | "day" | "days" => (Validity::Days(n), u64::from(n)),
            "m" | "month" | "months" => (Validity::Months(n), u64::from(n) * 28),
            "y" | "year" | "years" => (Validity::Years(n), u64::from(n) * 365),
            _ => return Err(bad()),
        };
        if days > u64::from(MAX_YEARS) * 366 {
            return Err(format!(
                "validity {s:?} is longer than {MAX_YEARS} years; give a shorter span"
            ));
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn spans_parse_and_add() {
        let now = datetime!(2024-01-31 12:00 UTC);
        assert_eq!(
            "30d".parse::<Validity>().unwrap().not_after(now),
            datetime!(2024-03-01 12:00 UTC)
        );
        assert_eq!(
            "1m".parse::<Validity>().unwrap().not_after(now),
            datetime!(2024-02-29 12:00 UTC)
        );
        assert_eq!(
            "1y".parse::<Validity>().unwrap().not_after(now),
            datetime!(2025-01-31 12:00 UTC)
        );
        let end: Validity = "2030-01-02T03:04:05Z".parse().unwrap();
        assert_eq!(end.to_pca(), ("END_DATE", 20300102030405));
        assert!("0d".parse::<Validity>().is_err());
        assert!("1w".parse::<Validity>().is_err());
        assert!("y".parse::<Validity>().is_err());
        assert!(
            "3000000d"
                .parse::<Validity>()
                .unwrap_err()
                .contains("longer than 100 years")
        );
        assert!("10000y".parse::<Validity>().is_err());
        assert_eq!("100y".parse::<Validity>().unwrap(), Validity::Years(100));
        // Built in code past the calendar's end: saturates instead of panicking.
        assert_eq!(
            Validity::Days(u32::MAX).not_after(now),
            time::PrimitiveDateTime::MAX.assume_utc()
        );
        assert_eq!(
            Validity::Years(u32::MAX).not_after(now),
            time::PrimitiveDateTime::MAX.assume_utc()
        );
    }

    #[test]
    fn short_lived_limit() {
        let now = datetime!(2024-01-01 0:00 UTC);
        assert!(Validity::Days(7).check_short_lived(now).is_ok());
        let err = Validity::Days(8).check_short_lived(now).unwrap_err();
        assert!(err.contains("SHORT_LIVED_CERTIFICATE"), "{err}");
    }
}
