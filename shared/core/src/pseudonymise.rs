//! Pseudonymisation for test and sandbox imports: chosen fields, or whole objects, replaced by
//! deterministic pseudonyms before they reach the destination.
//!
//! A [`PseudonymiseConfig`] names what to pseudonymise (whole objects, or `Object.Field`s); a
//! [`Pseudonymiser`] holds the key and rewrites one [`SourceRecord`] at a time with
//! [`Pseudonymiser::apply`]. Every pseudonym is derived with HMAC-SHA256 under the key, with a
//! separate domain per kind of value, so:
//!
//! - **Deterministic.** The same value under the same key always gives the same pseudonym,
//!   whichever object or field it sits in: duplicates stay duplicates, so duplicate detection
//!   and matching still work in the sandbox. Emails are compared trimmed and case-insensitively,
//!   phones by their digits (`+1 (555) 010-2030` and `+1 555 010 2030` share their digits),
//!   websites without their scheme, case or trailing slash.
//! - **Keyed.** Another key gives unrelated pseudonyms. Keep one key for the runs that must
//!   agree with each other (a sandbox refreshed run after run); a fresh key makes runs
//!   unlinkable.
//! - **Irreversible without the key.** A pseudonym is computed from an HMAC of the value, never
//!   from the value itself, so nothing of the original text is carried over. With the key, an
//!   attacker can still test guesses (is this `jane@acme.com`?): the key is a [`Secret`], never
//!   logged, and must be at least [`MINIMUM_KEY_BYTES`] bytes long.
//! - **Shape-keeping.** Emails stay syntactically valid addresses (`user-<hash>@example.invalid`,
//!   on the reserved `.invalid` domain, so nothing is ever delivered), and an address that was
//!   not valid stays invalid (no `@`). Phones keep their length, separators and a leading `+`
//!   with its country code (a phone field holding words is treated as text). Names and short text keep their length in characters, their spaces
//!   and punctuation and the case of each letter. Long text keeps its length, not its words.
//!   Websites keep their scheme. Null stays null; empty and blank text stay as they are.
//!
//! What it is not: this is **pseudonymisation, not anonymisation**. Frequencies (how many
//! contacts share a surname), lengths, the shape of phone numbers, which fields are empty, and
//! every value this module leaves alone survive. Whoever holds the data and knows the people
//! behind it may still recognise records by their structure. Use it so that a sandbox does not
//! hold customers' names and addresses, not to publish data.
//!
//! What is left alone, by design: ids and references (links must still resolve), picklists,
//! multi-select picklists and comboboxes (the destination's choices must still match), booleans,
//! times, geolocations and base64 bodies. These carry the structure of the data, not the
//! identity of a person. Numbers (integers, doubles, currency, percentages), dates and datetimes
//! are left alone too unless the configuration sets `all_types`: then numbers are jittered
//! (same sign, same order of magnitude, integers stay integers) and dates and datetimes move by
//! a number of days within ±365, the same for every date of a record (derived from its `Id`), so
//! that a record's dates keep their order.
//!
//! Each value is pseudonymised on its own: a full name (`Contact.Name`) does not become the
//! pseudonyms of its `FirstName` and `LastName` joined, and an email's local part does not
//! follow the name it was made from.
//!
//! A field whose type is unknown to the caller is treated as text when it holds a string: when
//! in doubt, the value is hidden rather than carried over.

use ferry_model::model::{FieldType, SourceRecord};
use ferry_model::plan::{ObjectPlan, Plan};
use ferry_model::secret::Secret;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{Number, Value};
use sha2::Sha256;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime};

/// The shortest key [`Pseudonymiser::new`] accepts. A short key could be guessed, and with the
/// key every pseudonym can be checked against a list of candidate names.
pub const MINIMUM_KEY_BYTES: usize = 16;

/// Text longer than this (in characters) is replaced by generated words of the same total
/// length, rather than character by character, so that the lengths of its words do not survive.
const LONG_TEXT_CHARS: usize = 64;

/// Hex digits of the hash in email and website pseudonyms: 64 bits, so that two different
/// addresses collide only after billions of records and distinct values stay distinct.
const HASH_HEX_DIGITS: usize = 16;

/// The largest date shift, in days, when dates are pseudonymised.
const MAXIMUM_DATE_SHIFT_DAYS: u64 = 365;

/// What to pseudonymise, as it sits in a user's mapping or run file:
///
/// ```json
/// {"objects": ["Contact"], "fields": {"Account": ["Name", "Website"]}, "all_types": false}
/// ```
///
/// Every field of an object in `objects`, and the fields named under `fields`, are pseudonymised
/// according to their type (see the module documentation for what each type becomes and which
/// types are left alone). Object and field names compare case-insensitively, as Salesforce's
/// API names do.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PseudonymiseConfig {
    /// Objects pseudonymised whole.
    #[serde(default)]
    pub objects: BTreeSet<String>,
    /// Fields pseudonymised one by one, by object.
    #[serde(default)]
    pub fields: BTreeMap<String, BTreeSet<String>>,
    /// Also pseudonymise numbers, dates and datetimes of the chosen fields.
    #[serde(default)]
    pub all_types: bool,
}

impl PseudonymiseConfig {
    /// From `Object` or `Object.Field` entries (`--pseudonymise`, the API's selection).
    pub fn from_entries<S: AsRef<str>>(entries: &[S]) -> Self {
        let mut config = Self::default();
        for entry in entries {
            let entry = entry.as_ref().trim();
            match entry.split_once('.') {
                Some((object, field)) => {
                    config
                        .fields
                        .entry(object.trim().to_owned())
                        .or_default()
                        .insert(field.trim().to_owned());
                }
                None => {
                    config.objects.insert(entry.to_owned());
                }
            }
        }
        config
    }

    /// Whether `object.field` is chosen, whole object or field by field. Whether its value
    /// actually changes still depends on its type.
    pub fn is_pseudonymised(&self, object: &str, field: &str) -> bool {
        self.is_whole_object(object)
            || self
                .fields
                .iter()
                .filter(|(name, _)| name.eq_ignore_ascii_case(object))
                .flat_map(|(_, fields)| fields)
                .any(|name| name.eq_ignore_ascii_case(field))
    }

    /// Whether any field of `object` is chosen, so that a caller can skip the others.
    pub fn touches_object(&self, object: &str) -> bool {
        self.is_whole_object(object)
            || self
                .fields
                .iter()
                .any(|(name, fields)| name.eq_ignore_ascii_case(object) && !fields.is_empty())
    }

    /// The configuration the records of `object` are pseudonymised under, by the name of
    /// the Salesforce object they are read from ([`ObjectPlan::salesforce_object`]). The
    /// records of a variant (a person account: `PersonAccount`, read from Account) are
    /// people the user may have chosen by the variant's name, or by the object whose records
    /// they stand for (a person account's person contact: `Contact`); either chosen whole
    /// chooses the records whole.
    pub fn for_object(&self, plan: &Plan, object: &ObjectPlan) -> Cow<'_, Self> {
        let Some(source) = &object.source_object else {
            return Cow::Borrowed(self);
        };
        let stands_for = plan.objects.iter().filter(|other| {
            other
                .replaced_by
                .as_ref()
                .is_some_and(|replaced| replaced.variants.contains(&object.object))
        });
        let chosen = self.is_whole_object(&object.object)
            || stands_for
                .into_iter()
                .any(|other| self.is_whole_object(&other.object));
        if !chosen || self.is_whole_object(source) {
            return Cow::Borrowed(self);
        }
        let mut config = self.clone();
        config.objects.insert(source.clone());
        Cow::Owned(config)
    }

    /// Whether nothing at all is chosen.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty() && self.fields.values().all(BTreeSet::is_empty)
    }

    fn is_whole_object(&self, object: &str) -> bool {
        self.objects
            .iter()
            .any(|name| name.eq_ignore_ascii_case(object))
    }
}

/// Why an [`Pseudonymiser`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum PseudonymiseError {
    #[error("the pseudonymisation key is {length} bytes long; it needs at least {minimum}")]
    KeyTooShort { length: usize, minimum: usize },
    /// HMAC takes keys of any length, so this does not happen; it is here so that building an
    /// pseudonymiser never panics.
    #[error("the pseudonymisation key was refused by HMAC-SHA256")]
    KeyRefused,
}

/// Turns values into keyed, deterministic pseudonyms. Its `Debug` never shows the key.
#[derive(Clone)]
pub struct Pseudonymiser {
    mac: Hmac<Sha256>,
}

impl fmt::Debug for Pseudonymiser {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Pseudonymiser { key: <redacted> }")
    }
}

/// The domains that keep one kind of pseudonym apart from another: the same text as a name
/// and as an email gives unrelated hashes.
mod domain {
    pub const EMAIL: &str = "email";
    pub const PHONE: &str = "phone";
    pub const TEXT: &str = "text";
    pub const URL: &str = "url";
    pub const NUMBER: &str = "number";
    pub const DATE_SHIFT: &str = "date-shift";
    pub const STREAM: &str = "stream";
}

impl Pseudonymiser {
    /// Builds an pseudonymiser keyed by `key`, which must be at least [`MINIMUM_KEY_BYTES`] long.
    pub fn new(key: &Secret) -> Result<Self, PseudonymiseError> {
        let bytes = key.expose().as_bytes();
        if bytes.len() < MINIMUM_KEY_BYTES {
            return Err(PseudonymiseError::KeyTooShort {
                length: bytes.len(),
                minimum: MINIMUM_KEY_BYTES,
            });
        }
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(bytes)
            .map_err(|_| PseudonymiseError::KeyRefused)?;
        Ok(Self { mac })
    }

    /// Pseudonymises the chosen fields of one record in place, deciding by each field's type as
    /// `types` gives it (`None` for a field the caller does not know). Fields that are not
    /// chosen, nulls, and structured values other than addresses (such as a query's
    /// `attributes`) are left as they are. Returns how many values changed.
    pub fn apply(
        &self,
        config: &PseudonymiseConfig,
        object: &str,
        record: &mut SourceRecord,
        types: impl Fn(&str) -> Option<FieldType>,
    ) -> usize {
        if !config.touches_object(object) {
            return 0;
        }
        // One shift for all the dates of a record keeps their order (created before closed).
        let date_shift_days = match record.get("Id") {
            Some(Value::String(id)) if !id.is_empty() => Some(self.date_shift_days(id.as_bytes())),
            _ => None,
        };
        let mut changed = 0;
        for (field, value) in record.iter_mut() {
            if !config.is_pseudonymised(object, field) {
                continue;
            }
            let field_type = types(field);
            // The record's own id is never touched, known or not: the load needs it.
            if field_type.is_none() && field.eq_ignore_ascii_case("Id") {
                continue;
            }
            let options = ValueOptions {
                all_types: config.all_types,
                date_shift_days,
            };
            if let Some(replacement) = self.pseudonymise_value(field_type.as_ref(), value, options)
                && replacement != *value
            {
                *value = replacement;
                changed += 1;
            }
        }
        changed
    }

    /// The pseudonym of an email address: `user-<hash>@example.invalid` for a valid address,
    /// `invalid-<hash>` (still not an address) for anything else. Blank stays as it is.
    pub fn email(&self, email: &str) -> String {
        let normalised = email.trim().to_lowercase();
        if normalised.is_empty() {
            return email.to_owned();
        }
        let hash = self.hex(domain::EMAIL, normalised.as_bytes());
        if looks_like_email(&normalised) {
            format!("user-{hash}@example.invalid")
        } else {
            format!("invalid-{hash}")
        }
    }

    /// The pseudonym of a phone number: every digit replaced, everything else (length,
    /// separators, a leading `+` and the country code after it, an extension's `ext` or `x`)
    /// kept. The digits depend only on the number's digits, so the same number written two
    /// ways gets the same digits. A phone field holding words (`call Jane's mobile`) is not a
    /// number: it is pseudonymised as [`text`](Self::text), so its words do not survive.
    pub fn phone(&self, phone: &str) -> String {
        if !is_phone_shaped(phone) {
            return self.text(phone);
        }
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        if digits.is_empty() {
            return phone.to_owned();
        }
        let kept_prefix = country_code_length(phone);
        let mut stream = self.stream(domain::PHONE, digits.as_bytes());
        let mut seen_digits = 0;
        phone
            .chars()
            .map(|character| {
                if !character.is_ascii_digit() {
                    return character;
                }
                seen_digits += 1;
                if seen_digits <= kept_prefix {
                    character
                } else {
                    char::from(b'0' + stream.below(10))
                }
            })
            .collect()
    }

    /// The pseudonym of a name or other text. Short text keeps its length in characters, its
    /// whitespace and punctuation, and each letter's case; letters become random letters and
    /// digits random digits. Long text becomes generated words of the same total length.
    /// Blank text stays as it is.
    pub fn text(&self, text: &str) -> String {
        if text.trim().is_empty() {
            return text.to_owned();
        }
        let mut stream = self.stream(domain::TEXT, text.as_bytes());
        let length = text.chars().count();
        if length > LONG_TEXT_CHARS {
            return generated_words(&mut stream, length);
        }
        text.chars()
            .map(|character| {
                if character.is_alphabetic() {
                    let letter = random_letter(&mut stream);
                    if character.is_uppercase() {
                        letter.to_ascii_uppercase()
                    } else {
                        letter
                    }
                } else if character.is_numeric() {
                    char::from(b'0' + stream.below(10))
                } else {
                    character
                }
            })
            .collect()
    }

    /// The pseudonym of a website: `<hash>.example.invalid`, after the original's scheme if it
    /// had one (`https://<hash>.example.invalid/`). Websites compare without scheme, case or
    /// trailing slash. Blank stays as it is.
    pub fn url(&self, url: &str) -> String {
        let trimmed = url.trim();
        if trimmed.is_empty() {
            return url.to_owned();
        }
        let (scheme, rest) = match trimmed.split_once("://") {
            Some((scheme, rest)) if is_scheme(scheme) => (Some(scheme), rest),
            _ => (None, trimmed),
        };
        let normalised = rest.trim_end_matches('/').to_lowercase();
        let hash = self.hex(domain::URL, normalised.as_bytes());
        match scheme {
            Some(scheme) => format!("{}://{hash}.example.invalid/", scheme.to_lowercase()),
            None => format!("{hash}.example.invalid"),
        }
    }

    /// What one value becomes, or `None` when this type is left alone.
    fn pseudonymise_value(
        &self,
        field_type: Option<&FieldType>,
        value: &Value,
        options: ValueOptions,
    ) -> Option<Value> {
        let kind = match field_type {
            Some(field_type) => ValueKind::of(field_type, options.all_types)?,
            None => ValueKind::Text,
        };
        match (kind, value) {
            (_, Value::Null) => None,
            (ValueKind::Email, Value::String(text)) => Some(Value::String(self.email(text))),
            (ValueKind::Phone, Value::String(text)) => Some(Value::String(self.phone(text))),
            (ValueKind::Text, Value::String(text)) => Some(Value::String(self.text(text))),
            (ValueKind::Url, Value::String(text)) => Some(Value::String(self.url(text))),
            (ValueKind::Address, Value::Object(address)) => {
                Some(Value::Object(self.address(address)))
            }
            (ValueKind::Number, Value::Number(number)) => {
                self.jitter_number(number).map(Value::Number)
            }
            (ValueKind::Number, Value::String(text)) => {
                self.jitter_number_text(text).map(Value::String)
            }
            (ValueKind::Date, Value::String(text)) => {
                let days = options
                    .date_shift_days
                    .unwrap_or_else(|| self.date_shift_days(text.as_bytes()));
                shift_date(text, days).map(Value::String)
            }
            (ValueKind::DateTime, Value::String(text)) => {
                let days = options
                    .date_shift_days
                    .unwrap_or_else(|| self.date_shift_days(text.as_bytes()));
                shift_datetime(text, days).map(Value::String)
            }
            _ => None,
        }
    }

    /// A compound address: the parts that name a place are pseudonymised as text, as its
    /// component fields (`MailingStreet`, `MailingCity`...) are; codes and coordinates stay.
    fn address(&self, address: &SourceRecord) -> SourceRecord {
        const TEXT_PARTS: [&str; 5] = ["street", "city", "postalCode", "state", "country"];
        address
            .iter()
            .map(|(part, value)| {
                let replacement = match value {
                    Value::String(text) if TEXT_PARTS.contains(&part.as_str()) => {
                        Value::String(self.text(text))
                    }
                    other => other.clone(),
                };
                (part.clone(), replacement)
            })
            .collect()
    }

    fn jitter_number(&self, number: &Number) -> Option<Number> {
        if let Some(integer) = number.as_i64() {
            return Some(Number::from(clamp_to_i64(
                self.jitter_integer(i128::from(integer)),
            )));
        }
        if let Some(integer) = number.as_u64() {
            let jittered = self.jitter_integer(i128::from(integer));
            return Some(Number::from(u64::try_from(jittered).unwrap_or(u64::MAX)));
        }
        let float = number.as_f64()?;
        let decimals = decimals_of(&number.to_string());
        Number::from_f64(self.jitter_float(float, decimals))
    }

    /// Numbers read from a Bulk API result arrive as text, and are written back the same way.
    fn jitter_number_text(&self, text: &str) -> Option<String> {
        let trimmed = text.trim();
        if let Ok(integer) = trimmed.parse::<i64>() {
            return Some(clamp_to_i64(self.jitter_integer(i128::from(integer))).to_string());
        }
        let float = trimmed
            .parse::<f64>()
            .ok()
            .filter(|float| float.is_finite())?;
        let decimals = decimals_of(trimmed);
        let jittered = self.jitter_float(float, decimals);
        Some(match decimals {
            Some(decimals) => format!("{jittered:.decimals$}"),
            None => jittered.to_string(),
        })
    }

    /// Multiplies by a keyed factor in [0.75, 1.25], then clamps into the original's decade,
    /// so the sign and the number of digits stay. The caller clamps into its own type's range,
    /// which only the largest decade can leave.
    fn jitter_integer(&self, integer: i128) -> i128 {
        if integer == 0 {
            return 0;
        }
        let magnitude = integer.unsigned_abs();
        let digits = magnitude.ilog10();
        let lowest = 10u128.pow(digits);
        let highest = lowest.saturating_mul(10).saturating_sub(1);
        let factor = self.jitter_factor(integer.to_string().as_bytes());
        // `as` saturates from f64, and the clamp keeps the result in the original's decade.
        let jittered = (((magnitude as f64) * factor).round() as u128).clamp(lowest, highest);
        let jittered = i128::try_from(jittered).unwrap_or(i128::MAX);
        if integer < 0 { -jittered } else { jittered }
    }

    fn jitter_float(&self, float: f64, decimals: Option<usize>) -> f64 {
        if float == 0.0 || !float.is_finite() {
            return float;
        }
        let magnitude = float.abs();
        let lowest = 10f64.powi(magnitude.log10().floor() as i32);
        let factor = self.jitter_factor(float.to_bits().to_be_bytes().as_slice());
        let mut jittered = (magnitude * factor).clamp(lowest, lowest * 10.0 * (1.0 - 1e-9));
        if let Some(decimals) = decimals {
            let scale = 10f64.powi(decimals as i32);
            let rounded = (jittered * scale).round() / scale;
            // Rounding to few decimals can leave the decade (0.4 to 0 decimals is 0); then the
            // magnitude matters more than the jitter, and the value keeps its own.
            jittered = if (lowest..lowest * 10.0).contains(&rounded) {
                rounded
            } else {
                magnitude
            };
        }
        if float < 0.0 { -jittered } else { jittered }
    }

    fn jitter_factor(&self, input: &[u8]) -> f64 {
        let bytes = self.hash(domain::NUMBER, input);
        let mut high = [0u8; 8];
        high.copy_from_slice(&bytes[..8]);
        let unit = (u64::from_be_bytes(high) >> 11) as f64 / (1u64 << 53) as f64;
        0.75 + unit * 0.5
    }

    /// A shift of 1 to 365 days, forward or back; never 0, so every date moves.
    fn date_shift_days(&self, input: &[u8]) -> i64 {
        let bytes = self.hash(domain::DATE_SHIFT, input);
        let mut high = [0u8; 8];
        high.copy_from_slice(&bytes[..8]);
        let drawn = u64::from_be_bytes(high);
        let days = (drawn % MAXIMUM_DATE_SHIFT_DAYS) as i64 + 1;
        if drawn & (1 << 63) == 0 { days } else { -days }
    }

    /// HMAC-SHA256 of `input` in `domain`. The zero byte separates the domain from the input,
    /// and no domain holds one.
    fn hash(&self, domain: &str, input: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(domain.as_bytes());
        mac.update(&[0]);
        mac.update(input);
        mac.finalize().into_bytes().into()
    }

    fn hex(&self, domain: &str, input: &[u8]) -> String {
        self.hash(domain, input)
            .iter()
            .take(HASH_HEX_DIGITS / 2)
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }

    /// As many keyed bytes as needed for `input`: block `n` is the HMAC of the input's hash
    /// and `n`, so long text costs one pass over the input.
    fn stream(&self, domain: &str, input: &[u8]) -> KeyStream<'_> {
        KeyStream {
            pseudonymiser: self,
            seed: self.hash(domain, input),
            counter: 0,
            block: [0; 32],
            position: 32,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct ValueOptions {
    all_types: bool,
    date_shift_days: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ValueKind {
    Email,
    Phone,
    Text,
    Url,
    Address,
    Number,
    Date,
    DateTime,
}

impl ValueKind {
    /// How a field of this type is pseudonymised, or `None` when it is left alone.
    fn of(field_type: &FieldType, all_types: bool) -> Option<Self> {
        match field_type {
            FieldType::Email => Some(Self::Email),
            FieldType::Phone => Some(Self::Phone),
            FieldType::String
            | FieldType::TextArea
            | FieldType::EncryptedString
            | FieldType::Other(_) => Some(Self::Text),
            FieldType::Url => Some(Self::Url),
            FieldType::Address => Some(Self::Address),
            FieldType::Int
            | FieldType::Long
            | FieldType::Double
            | FieldType::Currency
            | FieldType::Percent
                if all_types =>
            {
                Some(Self::Number)
            }
            FieldType::Date if all_types => Some(Self::Date),
            FieldType::DateTime if all_types => Some(Self::DateTime),
            FieldType::Id
            | FieldType::Reference
            | FieldType::Boolean
            | FieldType::Picklist
            | FieldType::MultiPicklist
            | FieldType::Combobox
            | FieldType::Time
            | FieldType::Location
            | FieldType::Base64
            | FieldType::Int
            | FieldType::Long
            | FieldType::Double
            | FieldType::Currency
            | FieldType::Percent
            | FieldType::Date
            | FieldType::DateTime => None,
        }
    }
}

struct KeyStream<'a> {
    pseudonymiser: &'a Pseudonymiser,
    seed: [u8; 32],
    counter: u64,
    block: [u8; 32],
    position: usize,
}

impl KeyStream<'_> {
    fn byte(&mut self) -> u8 {
        if self.position == self.block.len() {
            let mut input = [0u8; 40];
            input[..32].copy_from_slice(&self.seed);
            input[32..].copy_from_slice(&self.counter.to_be_bytes());
            self.block = self.pseudonymiser.hash(domain::STREAM, &input);
            self.counter += 1;
            self.position = 0;
        }
        let byte = self.block[self.position];
        self.position += 1;
        byte
    }

    /// A uniform number below `bound` (1 to 255), by rejecting the bytes that would bias it.
    fn below(&mut self, bound: u8) -> u8 {
        let limit = 256 - 256 % u16::from(bound);
        loop {
            let byte = self.byte();
            if u16::from(byte) < limit {
                return byte % bound;
            }
        }
    }
}

fn random_letter(stream: &mut KeyStream<'_>) -> char {
    char::from(b'a' + stream.below(26))
}

/// Words of 2 to 9 letters separated by single spaces, `length` characters in all.
fn generated_words(stream: &mut KeyStream<'_>, length: usize) -> String {
    let mut words = String::with_capacity(length);
    let mut written = 0;
    while written < length {
        if written > 0 {
            words.push(' ');
            written += 1;
            if written == length {
                // A trailing space would make the text look cut; end on a letter instead.
                words.pop();
                words.push(random_letter(stream));
                break;
            }
        }
        let word_length = usize::from(2 + stream.below(8)).min(length - written);
        for _ in 0..word_length {
            words.push(random_letter(stream));
        }
        written += word_length;
    }
    words
}

/// A plain check of an address's shape, the common dot-atom form of RFC 5322: one `@`, a local
/// part of printable ASCII without spaces, and a domain of at least two non-empty labels.
/// What to pseudonymise and the keyed pseudonymiser to do it with, as a run carries them.
#[derive(Debug, Clone)]
pub struct Pseudonymise {
    pub config: PseudonymiseConfig,
    pub pseudonymiser: Pseudonymiser,
}

pub(crate) fn looks_like_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|character| {
            character.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(character)
        });
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|character| character.is_ascii_alphanumeric() || character == '-')
        });
    local_ok && domain_ok
}

/// Whether a phone field holds a number: its only letters, if any, spell an extension marker.
fn is_phone_shaped(phone: &str) -> bool {
    let letters: String = phone
        .chars()
        .filter(|character| character.is_alphabetic())
        .flat_map(char::to_lowercase)
        .collect();
    matches!(letters.as_str(), "" | "x" | "ext" | "extension")
}

/// How many leading digits are a country code to keep: the digits right after a leading `+`
/// when they stand apart (`+44 20...`, `+1-555...`) and are at most three. Without a separator
/// the country code's length cannot be told, and nothing is kept.
fn country_code_length(phone: &str) -> usize {
    let Some(rest) = phone.trim_start().strip_prefix('+') else {
        return 0;
    };
    let code = rest.chars().take_while(char::is_ascii_digit).count();
    let separated = rest
        .chars()
        .nth(code)
        .is_some_and(|character| !character.is_ascii_digit());
    if (1..=3).contains(&code) && separated {
        code
    } else {
        0
    }
}

fn clamp_to_i64(integer: i128) -> i64 {
    i64::try_from(integer).unwrap_or(if integer < 0 { i64::MIN } else { i64::MAX })
}

fn is_scheme(scheme: &str) -> bool {
    scheme
        .chars()
        .next()
        .is_some_and(|character| character.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|character| character.is_ascii_alphanumeric() || "+-.".contains(character))
}

/// Digits after the decimal point of a number as written, or `None` for exponent notation.
fn decimals_of(text: &str) -> Option<usize> {
    if text.contains(['e', 'E']) {
        return None;
    }
    Some(
        text.split_once('.')
            .map_or(0, |(_, fraction)| fraction.len().min(10)),
    )
}

/// Moves a `YYYY-MM-DD` date; anything else is left alone (the transform reports it).
fn shift_date(text: &str, days: i64) -> Option<String> {
    let format = format_description!("[year]-[month]-[day]");
    let date = Date::parse(text, &format).ok()?;
    date.checked_add(Duration::days(days))?.format(&format).ok()
}

/// Moves a datetime written as Salesforce writes it, or as RFC 3339, keeping its form.
fn shift_datetime(text: &str, days: i64) -> Option<String> {
    let salesforce = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory][offset_minute]"
    );
    if let Ok(parsed) = OffsetDateTime::parse(text, &salesforce) {
        return parsed
            .checked_add(Duration::days(days))?
            .format(&salesforce)
            .ok();
    }
    let parsed = OffsetDateTime::parse(text, &Rfc3339).ok()?;
    parsed
        .checked_add(Duration::days(days))?
        .format(&Rfc3339)
        .ok()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const KEY: &str = "a test key of more than sixteen bytes";
    const OTHER_KEY: &str = "another test key, also long enough";

    fn pseudonymiser(key: &str) -> Pseudonymiser {
        Pseudonymiser::new(&Secret::new(key)).unwrap()
    }

    fn record(value: Value) -> SourceRecord {
        let Value::Object(record) = value else {
            panic!("test records are objects");
        };
        record
    }

    /// The types of the test Contact and Account, as a describe would give them.
    fn test_types(field: &str) -> Option<FieldType> {
        Some(match field {
            "Id" => FieldType::Id,
            "AccountId" => FieldType::Reference,
            "FirstName" | "LastName" | "Name" => FieldType::String,
            "Description" => FieldType::TextArea,
            "Email" => FieldType::Email,
            "Phone" => FieldType::Phone,
            "Website" => FieldType::Url,
            "LeadSource" => FieldType::Picklist,
            "DoNotCall" => FieldType::Boolean,
            "NumberOfEmployees" => FieldType::Int,
            "AnnualRevenue" => FieldType::Currency,
            "Birthdate" => FieldType::Date,
            "CreatedDate" | "LastModifiedDate" => FieldType::DateTime,
            "MailingAddress" => FieldType::Address,
            _ => return None,
        })
    }

    fn config(json: Value) -> PseudonymiseConfig {
        serde_json::from_value(json).unwrap()
    }

    /// Applies `config` to `input` as a Contact and checks the count of changed values and
    /// which fields kept their value.
    fn check_apply(config: &PseudonymiseConfig, input: Value, changed: usize, kept: &[&str]) {
        let original = record(input);
        let mut pseudonymised = original.clone();
        let count = pseudonymiser(KEY).apply(config, "Contact", &mut pseudonymised, test_types);
        assert_eq!(count, changed, "{pseudonymised:?}");
        for (field, value) in &original {
            let same = pseudonymised.get(field) == Some(value);
            assert_eq!(
                same,
                kept.contains(&field.as_str()),
                "{field}: {pseudonymised:?}"
            );
        }
        assert_eq!(pseudonymised.len(), original.len());
    }

    /// No run of four or more characters of the input (compared case-insensitively) appears
    /// in the output.
    fn shares_no_substring(input: &str, output: &str) -> bool {
        let input: Vec<char> = input.to_lowercase().chars().collect();
        let output = output.to_lowercase();
        input
            .windows(4)
            .all(|window| !output.contains(&window.iter().collect::<String>()))
    }

    fn non_digits(text: &str) -> Vec<(usize, char)> {
        text.chars()
            .enumerate()
            .filter(|(_, character)| !character.is_ascii_digit())
            .collect()
    }

    #[test]
    fn the_documented_configuration_reads_and_names_are_case_insensitive() {
        let config =
            config(json!({"objects": ["Contact"], "fields": {"Account": ["Name", "Website"]}}));
        assert!(config.is_pseudonymised("Contact", "Anything"));
        assert!(config.is_pseudonymised("contact", "Email"));
        assert!(config.is_pseudonymised("Account", "name"));
        assert!(config.is_pseudonymised("ACCOUNT", "Website"));
        assert!(!config.is_pseudonymised("Account", "Industry"));
        assert!(!config.is_pseudonymised("Lead", "Name"));
        assert!(config.touches_object("account"));
        assert!(!config.touches_object("Lead"));
        assert!(!config.all_types);
        assert!(!config.is_empty());
        assert!(PseudonymiseConfig::default().is_empty());
        assert!(
            serde_json::from_value::<PseudonymiseConfig>(json!({"object": ["Contact"]})).is_err(),
            "a misspelt key must not silently pseudonymise nothing"
        );
    }

    #[test]
    fn a_short_key_is_refused_and_the_key_never_shows() {
        assert!(matches!(
            Pseudonymiser::new(&Secret::new("short")),
            Err(PseudonymiseError::KeyTooShort {
                length: 5,
                minimum: 16
            })
        ));
        let shown = format!("{:?}", pseudonymiser(KEY));
        assert!(!shown.contains("sixteen"), "{shown}");
    }

    #[test]
    fn the_same_value_and_key_give_the_same_pseudonym() {
        let (first, second) = (pseudonymiser(KEY), pseudonymiser(KEY));
        assert_eq!(first.email("jane@acme.com"), second.email("jane@acme.com"));
        assert_eq!(
            first.phone("+1 555 010 2030"),
            second.phone("+1 555 010 2030")
        );
        assert_eq!(first.text("Jane Doe"), second.text("Jane Doe"));
        assert_eq!(first.url("acme.com"), second.url("acme.com"));
    }

    #[test]
    fn another_key_gives_other_pseudonyms() {
        let (first, second) = (pseudonymiser(KEY), pseudonymiser(OTHER_KEY));
        assert_ne!(first.email("jane@acme.com"), second.email("jane@acme.com"));
        assert_ne!(
            first.phone("+1 555 010 2030"),
            second.phone("+1 555 010 2030")
        );
        assert_ne!(first.text("Jane Doe"), second.text("Jane Doe"));
        assert_ne!(first.url("acme.com"), second.url("acme.com"));
    }

    #[test]
    fn duplicates_stay_duplicates_and_distinct_values_stay_distinct() {
        let pseudonymiser = pseudonymiser(KEY);
        let email = pseudonymiser.email("jane.doe@acme.com");
        assert_eq!(pseudonymiser.email("  Jane.Doe@ACME.com\t"), email);
        assert_ne!(pseudonymiser.email("jane.doe@acme.org"), email);
        let phone = pseudonymiser.phone("+1 (555) 010-2030");
        let same_digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let other_format = pseudonymiser.phone("+1 555 010 2030");
        assert_eq!(
            other_format
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>(),
            same_digits
        );
        assert_eq!(
            pseudonymiser.url("https://www.Acme.com/"),
            pseudonymiser
                .url("http://www.acme.com")
                .replacen("http://", "https://", 1)
        );
        assert_eq!(pseudonymiser.text("Acme"), pseudonymiser.text("Acme"));
        assert_ne!(pseudonymiser.text("Acme"), pseudonymiser.text("Acne"));
    }

    #[test]
    fn the_email_check_tells_addresses_from_the_rest() {
        for valid in ["jane@acme.com", "j.o'neil+crm@mail.acme.co.uk", "a@b.io"] {
            assert!(looks_like_email(valid), "{valid}");
        }
        for invalid in [
            "",
            "jane",
            "jane@",
            "@acme.com",
            "jane@acme",
            "ja ne@acme.com",
            "jane@@acme.com",
            "jane@acme..com",
            ".jane@acme.com",
            "jané@acme.com",
        ] {
            assert!(!looks_like_email(invalid), "{invalid}");
        }
    }

    #[test]
    fn emails_stay_valid_and_invalid_ones_stay_invalid() {
        let pseudonymiser = pseudonymiser(KEY);
        for valid in [
            "jane@acme.com",
            "j.o'neil+crm@mail.acme.co.uk",
            "Margaret.Hamilton@apollo-guidance.example.org",
        ] {
            let pseudonym = pseudonymiser.email(valid);
            assert!(looks_like_email(&pseudonym), "{valid} became {pseudonym}");
            assert!(pseudonym.ends_with("@example.invalid"), "{pseudonym}");
        }
        for invalid in ["jane at acme", "jane@", "jane@@acme.com", "Üser@acme.com"] {
            let pseudonym = pseudonymiser.email(invalid);
            assert!(!pseudonym.contains('@'), "{invalid} became {pseudonym}");
            assert!(!looks_like_email(&pseudonym));
        }
    }

    #[test]
    fn phones_keep_length_separators_and_country_code() {
        let pseudonymiser = pseudonymiser(KEY);
        for (phone, prefix) in [
            ("+44 20 7946 0958", "+44 "),
            ("+1-555-010-2030", "+1-"),
            ("(555) 010-2030 ext. 12", "("),
            ("+4930901820", "+"),
            ("0301234567", ""),
        ] {
            let pseudonym = pseudonymiser.phone(phone);
            assert_eq!(pseudonym.len(), phone.len(), "{phone} became {pseudonym}");
            assert_eq!(non_digits(&pseudonym), non_digits(phone));
            assert!(pseudonym.starts_with(prefix), "{phone} became {pseudonym}");
            assert_ne!(pseudonym, phone);
        }
        let words = pseudonymiser.phone("call Jane's mobile 555 0100");
        assert_eq!(
            words.chars().count(),
            "call Jane's mobile 555 0100".chars().count()
        );
        assert!(
            !words.contains("Jane") && !words.contains("mobile"),
            "{words}"
        );
    }

    #[test]
    fn text_keeps_length_case_and_spacing_but_no_content() {
        let pseudonymiser = pseudonymiser(KEY);
        for name in [
            "Jane Doe",
            "O'Neil-Smythe",
            "Björk Guðmundsdóttir",
            "Zoë 42",
        ] {
            let pseudonym = pseudonymiser.text(name);
            assert_eq!(pseudonym.chars().count(), name.chars().count());
            for (original, replaced) in name.chars().zip(pseudonym.chars()) {
                assert_eq!(original.is_whitespace(), replaced.is_whitespace());
                assert_eq!(original.is_uppercase(), replaced.is_uppercase());
                assert_eq!(original.is_numeric(), replaced.is_ascii_digit());
            }
            assert_ne!(pseudonym, name);
        }
        let long = "Met at the Dreamforce booth; wants a demo of the reporting module \
                    before the renewal in March. Call Jane before 5pm.";
        let pseudonym = pseudonymiser.text(long);
        assert_eq!(pseudonym.chars().count(), long.chars().count());
        assert!(!pseudonym.ends_with(' ') && !pseudonym.starts_with(' '));
        assert!(
            pseudonym
                .chars()
                .all(|character| character == ' ' || character.is_ascii_lowercase()),
            "long text becomes generated words, without its punctuation: {pseudonym}"
        );
        assert!(shares_no_substring(long, &pseudonym), "{pseudonym}");
    }

    #[test]
    fn names_and_emails_share_no_run_of_four_characters_with_the_original() {
        let pseudonymiser = pseudonymiser(KEY);
        for name in [
            "Margaret Hamilton",
            "Grace Brewster Murray Hopper",
            "Acme Industries Ltd",
            "Katherine Johnson",
            "Ada Lovelace",
        ] {
            let pseudonym = pseudonymiser.text(name);
            assert!(shares_no_substring(name, &pseudonym), "{name}: {pseudonym}");
        }
        for email in [
            "margaret.hamilton@apollo-guidance.org",
            "grace.hopper@navy.mil",
            "katherine.johnson@nasa.gov",
        ] {
            let pseudonym = pseudonymiser.email(email);
            assert!(
                shares_no_substring(email, &pseudonym),
                "{email}: {pseudonym}"
            );
        }
    }

    #[test]
    fn each_kind_of_value_hashes_in_its_own_domain() {
        // The same text as an (invalid) email and as a website must not give the same hash,
        // or one pseudonym would reveal the other.
        let pseudonymiser = pseudonymiser(KEY);
        let email = pseudonymiser.email("acme.com");
        let url = pseudonymiser.url("acme.com");
        let email_hash = email.strip_prefix("invalid-").unwrap();
        let url_hash = url.strip_suffix(".example.invalid").unwrap();
        assert_eq!(email_hash.len(), HASH_HEX_DIGITS);
        assert_ne!(email_hash, url_hash);
    }

    #[test]
    fn websites_keep_their_scheme() {
        let pseudonymiser = pseudonymiser(KEY);
        let secure = pseudonymiser.url("https://www.acme.com/about");
        assert!(secure.starts_with("https://") && secure.ends_with(".example.invalid/"));
        assert!(!secure.contains("acme"));
        let bare = pseudonymiser.url("www.acme.com");
        assert!(
            !bare.contains("://") && bare.ends_with(".example.invalid"),
            "{bare}"
        );
        assert_eq!(pseudonymiser.url("  "), "  ");
    }

    #[test]
    fn a_whole_object_hides_identity_and_keeps_structure() {
        let config = config(json!({"objects": ["Contact"]}));
        check_apply(
            &config,
            json!({
                "Id": "0035g00000AbCdEAAV",
                "AccountId": "001Da00000xnAiyIAE",
                "FirstName": "Jane",
                "LastName": "Doe",
                "Email": "jane@acme.com",
                "Phone": "+1 555 010 2030",
                "Description": null,
                "LeadSource": "Web",
                "DoNotCall": false,
                "NumberOfEmployees": 120,
                "Birthdate": "1980-02-29",
                "CreatedDate": "2021-03-04T10:11:12.000+0000",
                "MailingAddress": {"street": "1 Main St", "city": "Springfield", "countryCode": "US", "latitude": 1.5},
            }),
            5,
            &[
                "Id",
                "AccountId",
                "Description",
                "LeadSource",
                "DoNotCall",
                "NumberOfEmployees",
                "Birthdate",
                "CreatedDate",
            ],
        );
    }

    #[test]
    fn null_empty_and_blank_are_kept_and_not_counted() {
        let config = config(json!({"objects": ["Contact"]}));
        check_apply(
            &config,
            json!({"FirstName": "", "LastName": null, "Email": "   ", "Phone": "", "Website": null, "Description": "\n"}),
            0,
            &[
                "FirstName",
                "LastName",
                "Email",
                "Phone",
                "Website",
                "Description",
            ],
        );
    }

    #[test]
    fn only_the_named_fields_of_the_named_objects_change() {
        let config = config(json!({"fields": {"Contact": ["Email"], "Account": ["Name"]}}));
        check_apply(
            &config,
            json!({"Id": "0035g00000AbCdEAAV", "LastName": "Doe", "Email": "jane@acme.com"}),
            1,
            &["Id", "LastName"],
        );
        let mut account = record(json!({"Name": "Acme"}));
        let untouched = account.clone();
        let count = pseudonymiser(KEY).apply(&config, "Lead", &mut account, test_types);
        assert_eq!((count, &account), (0, &untouched));
    }

    #[test]
    fn an_unknown_field_holding_text_is_hidden_but_an_unknown_id_is_not() {
        let config = config(json!({"objects": ["Contact"]}));
        let mut contact =
            record(json!({"Id": "0035g00000AbCdEAAV", "Nickname__c": "Janey", "Score__c": 3}));
        let count = pseudonymiser(KEY).apply(&config, "Contact", &mut contact, |_| None);
        assert_eq!(count, 1);
        assert_eq!(contact["Id"], "0035g00000AbCdEAAV");
        assert_ne!(contact["Nickname__c"], "Janey");
        assert_eq!(contact["Score__c"], 3);
    }

    #[test]
    fn all_types_jitters_numbers_and_moves_a_records_dates_together() {
        let config = config(json!({"objects": ["Contact"], "all_types": true}));
        let original = record(json!({
            "Id": "0035g00000AbCdEAAV",
            "NumberOfEmployees": 120,
            "AnnualRevenue": "2500000.50",
            "Birthdate": "1980-02-29",
            "CreatedDate": "2021-03-04T10:11:12.000+0000",
            "LastModifiedDate": "2021-03-05T10:11:12.000+0000",
            "DoNotCall": true,
        }));
        let mut contact = original.clone();
        let count = pseudonymiser(KEY).apply(&config, "Contact", &mut contact, test_types);
        assert_eq!(count, 5, "{contact:?}");
        assert_eq!(contact["DoNotCall"], true);
        let employees = contact["NumberOfEmployees"].as_i64().unwrap();
        assert!((100..=999).contains(&employees), "{employees}");
        let revenue = contact["AnnualRevenue"].as_str().unwrap();
        assert_eq!(revenue.split_once('.').unwrap().1.len(), 2, "{revenue}");
        let revenue: f64 = revenue.parse().unwrap();
        assert!((1_000_000.0..10_000_000.0).contains(&revenue), "{revenue}");

        let date_format = format_description!("[year]-[month]-[day]");
        let birthdate = Date::parse(contact["Birthdate"].as_str().unwrap(), &date_format).unwrap();
        let original_birthdate = Date::parse("1980-02-29", &date_format).unwrap();
        let shift = (birthdate - original_birthdate).whole_days();
        assert!(shift != 0 && shift.abs() <= 365, "{shift}");
        let datetime = |field: &str| {
            let text = contact[field].as_str().unwrap();
            let parsed = shift_datetime(text, 0).unwrap();
            assert_eq!(parsed, text, "the Salesforce form is kept");
            parsed
        };
        let (created, modified) = (datetime("CreatedDate"), datetime("LastModifiedDate"));
        assert_eq!(&created[10..], "T10:11:12.000+0000");
        assert_eq!(&modified[10..], "T10:11:12.000+0000");
        assert_eq!(
            shift_date(&created[..10], -shift).unwrap(),
            "2021-03-04",
            "every date of the record moves by the same days"
        );
        assert_eq!(shift_date(&modified[..10], -shift).unwrap(), "2021-03-05");
    }

    #[test]
    fn zero_and_unparsable_numbers_and_dates_stay() {
        let config = config(json!({"objects": ["Contact"], "all_types": true}));
        check_apply(
            &config,
            json!({"NumberOfEmployees": 0, "AnnualRevenue": "n/a", "Birthdate": "someday"}),
            0,
            &["NumberOfEmployees", "AnnualRevenue", "Birthdate"],
        );
    }

    /// Any text: printable strings, and strings of any Unicode scalar values (controls,
    /// combining marks, surrogates' neighbours), long enough to reach the long-text form.
    fn any_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            proptest::collection::vec(any::<char>(), 0..160).prop_map(String::from_iter),
            proptest::collection::vec(
                prop_oneof![
                    Just(' '),
                    Just('+'),
                    Just('-'),
                    Just('x'),
                    proptest::char::range('0', '9')
                ],
                0..24
            )
            .prop_map(String::from_iter),
        ]
    }

    proptest! {
        #[test]
        fn any_text_is_handled_deterministically(text in any_text()) {
            let (pseudonymiser, again) = (pseudonymiser(KEY), pseudonymiser(KEY));

            let email = pseudonymiser.email(&text);
            prop_assert_eq!(&email, &again.email(&text));
            if !text.trim().is_empty() {
                prop_assert!(looks_like_email(&email) || !email.contains('@'), "{}", email);
            }

            let phone = pseudonymiser.phone(&text);
            prop_assert_eq!(&phone, &again.phone(&text));
            prop_assert_eq!(phone.chars().count(), text.chars().count());
            if is_phone_shaped(&text) {
                prop_assert_eq!(non_digits(&phone), non_digits(&text));
            }

            let pseudonym = pseudonymiser.text(&text);
            prop_assert_eq!(&pseudonym, &again.text(&text));
            prop_assert_eq!(pseudonym.chars().count(), text.chars().count());

            let url = pseudonymiser.url(&text);
            prop_assert_eq!(&url, &again.url(&text));
            if !text.trim().is_empty() {
                prop_assert!(url.contains(".example.invalid"), "{}", url);
            }
        }

        #[test]
        fn any_integer_keeps_its_sign_and_number_of_digits(integer in any::<i64>()) {
            let jittered = pseudonymiser(KEY).jitter_number(&Number::from(integer)).unwrap();
            let jittered = jittered.as_i64().unwrap();
            prop_assert_eq!(jittered.signum(), integer.signum());
            prop_assert_eq!(
                jittered.unsigned_abs().checked_ilog10(),
                integer.unsigned_abs().checked_ilog10()
            );
        }

        #[test]
        fn any_float_keeps_its_sign_and_order_of_magnitude(float in -1e12f64..1e12) {
            let number = Number::from_f64(float).unwrap();
            let jittered = pseudonymiser(KEY).jitter_number(&number).unwrap().as_f64().unwrap();
            prop_assert_eq!(jittered.signum(), float.signum());
            if float != 0.0 {
                prop_assert_eq!(jittered.abs().log10().floor(), float.abs().log10().floor());
            }
        }
    }
}
