//! Typed field values and their Salesforce JSON form.

use serde_json::Value as Json;

/// A field value of a generated record, typed so that SOQL can compare it.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// No value; JSON `null`.
    Null,
    /// Any text-like field: id, reference, string, textarea, picklist, url, phone, email.
    Str(String),
    /// An `int` field.
    Int(i64),
    /// A `double` or `currency` field.
    Num(f64),
    /// A `boolean` field.
    Bool(bool),
    /// A `date` field, as days since 1970-01-01.
    Date(i64),
    /// A `datetime` field, as seconds since the Unix epoch (UTC).
    DateTime(i64),
}

impl Val {
    /// Builds a string value, or `Null` for `None`.
    pub fn opt_str(value: Option<String>) -> Val {
        value.map_or(Val::Null, Val::Str)
    }

    /// True for `Null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Val::Null)
    }

    /// The text of a text-like value.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value as Salesforce REST renders it in query results.
    pub fn to_json(&self) -> Json {
        match self {
            Val::Null => Json::Null,
            Val::Str(s) => Json::String(s.clone()),
            Val::Int(i) => Json::from(*i),
            Val::Num(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Val::Bool(b) => Json::Bool(*b),
            Val::Date(days) => Json::String(format_date(*days)),
            Val::DateTime(secs) => Json::String(format_datetime(*secs)),
        }
    }
}

/// Civil date of a day count since 1970-01-01 (Howard Hinnant's algorithm), so no
/// calendar crate is needed on the hot path of record generation.
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Day count since 1970-01-01 of a civil date; the inverse of [`civil_from_days`].
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `2021-03-04`, the REST form of a date.
pub fn format_date(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `2021-03-04T10:11:12.000+0000`, the REST form of a datetime.
pub fn format_datetime(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    format!(
        "{}T{:02}:{:02}:{:02}.000+0000",
        format_date(days),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_salesforce() {
        assert_eq!(format_date(0), "1970-01-01");
        assert_eq!(
            format_datetime(1_614_852_672),
            "2021-03-04T10:11:12.000+0000"
        );
        for days in [-1000, 0, 18_000, 19_753, 20_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}
