//! The seeded data generator.
//!
//! Records are never stored: record `i` of an object is rebuilt from (seed, object,
//! `i`) whenever it is needed, so an org of a million records costs no memory. The
//! values deliberately include what breaks naive migrations: unicode, commas, quotes
//! and newlines in text, null references, invalid and duplicate e-mail addresses, and an
//! account hierarchy where some children come before their parents.

use crate::ids::salesforce_id;
use crate::rng::{Rng, splitmix64};
use crate::schema::{ACCOUNT_TYPES, CHANNELS, Generated, INDUSTRIES, TIERS, generated_object};
use crate::value::{Val, days_from_civil};
use std::collections::BTreeMap;

/// Username of the integration user, who is user 0 and owns the issued tokens.
pub const INTEGRATION_USERNAME: &str = "integration@ferry-sim.example";

/// Start of the generated history: 2019-01-01T00:00:00Z.
const HISTORY_START_DAY: i64 = 17_897;
/// "Now" for the generated org: 2024-12-31. A fixed date keeps data reproducible.
const HISTORY_END_DAY: i64 = 20_088;

/// Per-object salts, so that the streams of different objects never coincide.
const SALT_USER: u64 = 0x5553_4552;
const SALT_ACCOUNT: u64 = 0x4143_4354;
const SALT_CONTACT: u64 = 0x434f_4e54;
const SALT_CONTACT_NAME: u64 = 0x434e_414d;
const SALT_CONTACT_EMAIL: u64 = 0x4345_4d4c;
const SALT_IDS: u64 = 0x4944_5321;

/// How many records each generated object holds for a total of `records`.
///
/// Users are 1 in 50 and accounts 1 in 5 (each at least one while records remain);
/// contacts take the rest, so the three always add up to `records` exactly.
pub fn split_counts(records: u64) -> (u64, u64, u64) {
    let users = (records / 50).max(1).min(records);
    let accounts = (records / 5).max(1).min(records - users);
    (users, accounts, records - users - accounts)
}

/// The generated org: counts, id bases and the seed everything derives from.
#[derive(Debug, Clone)]
pub struct Org {
    seed: u64,
    users: u64,
    accounts: u64,
    contacts: u64,
    org_id: String,
}

impl Org {
    /// Plans an org of `records` records from `seed`.
    pub fn new(seed: u64, records: u64) -> Self {
        let (users, accounts, contacts) = split_counts(records);
        let org_id = salesforce_id("00D", 1 + splitmix64(seed ^ SALT_IDS) % 1_000_000);
        Org {
            seed,
            users,
            accounts,
            contacts,
            org_id,
        }
    }

    /// The seed the org derives from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The 18-character organization id.
    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// Number of records of a generated object.
    pub fn count(&self, kind: Generated) -> u64 {
        match kind {
            Generated::User => self.users,
            Generated::Account => self.accounts,
            Generated::Contact => self.contacts,
        }
    }

    /// Object name to record count, for every generated object.
    pub fn record_counts(&self) -> BTreeMap<String, u64> {
        [Generated::User, Generated::Account, Generated::Contact]
            .into_iter()
            .map(|k| (generated_object(k).name.to_string(), self.count(k)))
            .collect()
    }

    /// The id of record `index`. Counters start at a seed-dependent base so that orgs
    /// of different seeds do not share ids, and grow with the index so that id order is
    /// index order.
    pub fn id(&self, kind: Generated, index: u64) -> String {
        let (prefix, salt) = match kind {
            Generated::User => ("005", SALT_USER),
            Generated::Account => ("001", SALT_ACCOUNT),
            Generated::Contact => ("003", SALT_CONTACT),
        };
        let base = 1 + splitmix64(self.seed ^ salt ^ SALT_IDS) % 1_000_000_000;
        salesforce_id(prefix, base + index)
    }

    /// The index of a generated record's id, if the id belongs to this org.
    pub fn index_of(&self, kind: Generated, id: &str) -> Option<u64> {
        let (prefix, salt) = match kind {
            Generated::User => ("005", SALT_USER),
            Generated::Account => ("001", SALT_ACCOUNT),
            Generated::Contact => ("003", SALT_CONTACT),
        };
        let base = 1 + splitmix64(self.seed ^ salt ^ SALT_IDS) % 1_000_000_000;
        let index = crate::ids::parse_counter(prefix, id)?.checked_sub(base)?;
        (index < self.count(kind)).then_some(index)
    }

    /// The values of record `index`, in the field order of the object's schema.
    pub fn record(&self, kind: Generated, index: u64) -> Vec<Val> {
        match kind {
            Generated::User => self.user(index),
            Generated::Account => self.account(index),
            Generated::Contact => self.contact(index),
        }
    }

    /// The parent of account `index`.
    ///
    /// Accounts come in blocks of ten: the sixth of each block (offset 5) is a root;
    /// offsets 3, 4 and 6 are its children, and offset 7 is the child of offset 6, a
    /// second level. Offsets 3 and 4 therefore come before their parent, which a loader
    /// has to cope with. Parents always exist, and every chain ends at a root, so the
    /// hierarchy is acyclic. Four accounts in ten have a parent.
    pub fn account_parent(&self, index: u64) -> Option<u64> {
        let block = index - index % 10;
        let parent = match index % 10 {
            3 | 4 | 6 => block + 5,
            7 => block + 6,
            _ => return None,
        };
        (parent < self.accounts).then_some(parent)
    }

    /// Creation, last-modification and system-modstamp times of record `index` of an
    /// object holding `count` records. Creation times grow with the index, as ids do.
    fn audit_times(rng: &mut Rng, index: u64, count: u64) -> (i64, i64, i64) {
        let start = HISTORY_START_DAY * 86_400;
        // Leave the last 200 days for modifications after creation.
        let span = ((HISTORY_END_DAY - HISTORY_START_DAY - 200) * 86_400) as u64;
        let step = (span / count.max(1)).max(1);
        let created = start + (index.min(count) * step + rng.below(step)) as i64;
        let modified = created + rng.below(200 * 86_400) as i64;
        let modstamp = modified + rng.below(5) as i64;
        (created, modified, modstamp)
    }

    fn owner(&self, rng: &mut Rng) -> Val {
        Val::Str(self.id(Generated::User, rng.below(self.users.max(1))))
    }

    fn user(&self, index: u64) -> Vec<Val> {
        let mut rng = Rng::for_record(self.seed, SALT_USER, index);
        let (first, last) = if index == 0 {
            (("Integration", "integration"), ("User", "user"))
        } else {
            (*rng.pick(FIRST_NAMES), *rng.pick(LAST_NAMES))
        };
        let (username, email, active) = if index == 0 {
            (
                INTEGRATION_USERNAME.to_string(),
                INTEGRATION_USERNAME.to_string(),
                true,
            )
        } else {
            let local = format!("{}.{}{index}", first.1, last.1);
            (
                format!("{local}@ferry-sim.example"),
                format!("{local}@example.com"),
                rng.chance(85),
            )
        };
        let (created, modified, modstamp) = Self::audit_times(&mut rng, index, self.users);
        vec![
            Val::Str(self.id(Generated::User, index)),
            Val::Str(username),
            Val::Str(last.0.to_string()),
            Val::Str(first.0.to_string()),
            Val::Str(format!("{} {}", first.0, last.0)),
            Val::Str(email),
            Val::Bool(active),
            Val::DateTime(created),
            Val::DateTime(modified),
            Val::DateTime(modstamp),
        ]
    }

    fn account(&self, index: u64) -> Vec<Val> {
        let mut rng = Rng::for_record(self.seed, SALT_ACCOUNT, index);
        let name = if rng.chance(10) {
            rng.pick(SPECIAL_COMPANIES).to_string()
        } else {
            format!(
                "{} {} {}",
                rng.pick(COMPANY_WORDS),
                rng.pick(COMPANY_NOUNS),
                rng.pick(COMPANY_SUFFIXES)
            )
        };
        let slug: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(24)
            .collect::<String>()
            .to_lowercase();
        let kind = if rng.chance(10) {
            Val::Null
        } else {
            Val::Str(rng.pick(ACCOUNT_TYPES).to_string())
        };
        let parent = Val::opt_str(
            self.account_parent(index)
                .map(|p| self.id(Generated::Account, p)),
        );
        let address = address(&mut rng);
        let phone = if rng.chance(5) {
            Val::Null
        } else {
            Val::Str(phone(&mut rng))
        };
        let website = if rng.chance(10) || slug.is_empty() {
            Val::Null
        } else {
            Val::Str(format!("https://www.{slug}.example.com"))
        };
        let industry = if rng.chance(10) {
            Val::Null
        } else {
            Val::Str(rng.pick(INDUSTRIES).to_string())
        };
        let revenue = if rng.chance(15) {
            Val::Null
        } else {
            Val::Num((rng.below(5_000) * 100_000) as f64)
        };
        let employees = if rng.chance(10) {
            Val::Null
        } else {
            // Mostly small firms, a few very large ones.
            let scale = *rng.pick(&[10u64, 100, 1_000, 10_000, 100_000]);
            Val::Int(1 + rng.below(scale) as i64)
        };
        let description = if rng.chance(30) {
            Val::Null
        } else {
            Val::Str(rng.pick(DESCRIPTIONS).to_string())
        };
        let owner = self.owner(&mut rng);
        let (created, modified, modstamp) = Self::audit_times(&mut rng, index, self.accounts);
        let tier = if rng.chance(15) {
            Val::Null
        } else {
            Val::Str(rng.pick(TIERS).to_string())
        };
        let since = if rng.chance(20) {
            Val::Null
        } else {
            Val::Date(days_from_civil(2005, 1, 1) + rng.below(7_000) as i64)
        };
        let health = if rng.chance(10) {
            Val::Null
        } else {
            Val::Num(rng.below(10_001) as f64 / 100.0)
        };
        let strategic = Val::Bool(rng.chance(20));
        let mut values = vec![
            Val::Str(self.id(Generated::Account, index)),
            Val::Bool(false),
            Val::Str(name),
            kind,
            parent,
        ];
        values.extend(address);
        values.extend([
            phone,
            website,
            industry,
            revenue,
            employees,
            description,
            owner,
            Val::DateTime(created),
            Val::DateTime(modified),
            Val::DateTime(modstamp),
            tier,
            since,
            health,
            strategic,
        ]);
        values
    }

    /// First and last name of contact `index`, from a stream of their own so that
    /// another contact's e-mail can be rebuilt without generating that whole record.
    fn contact_name(
        &self,
        index: u64,
    ) -> ((&'static str, &'static str), (&'static str, &'static str)) {
        let mut rng = Rng::for_record(self.seed, SALT_CONTACT_NAME, index);
        (*rng.pick(FIRST_NAMES), *rng.pick(LAST_NAMES))
    }

    /// The e-mail "bucket" of contact `index`: 0–2 none, 3–4 invalid, 5–7 a duplicate
    /// of an earlier contact's address, otherwise a normal unique address.
    fn contact_email_bucket(&self, index: u64) -> (u64, Rng) {
        let mut rng = Rng::for_record(self.seed, SALT_CONTACT_EMAIL, index);
        (rng.below(100), rng)
    }

    fn normal_email(&self, index: u64) -> String {
        let (first, last) = self.contact_name(index);
        let domain = ["example.com", "example.org", "mail.example.net"][(index % 3) as usize];
        format!("{}.{}{index}@{domain}", first.1, last.1)
    }

    fn contact_email(&self, index: u64) -> Val {
        let (bucket, mut rng) = self.contact_email_bucket(index);
        match bucket {
            0..=2 => Val::Null,
            3 | 4 => {
                let (first, last) = self.contact_name(index);
                Val::Str(if rng.chance(50) {
                    format!("{}.{}@@example", first.1, last.1)
                } else {
                    format!("{}.{}.example.com", first.1, last.1)
                })
            }
            5..=7 if index > 0 => {
                // Duplicate the address of a nearby earlier contact whose own address is
                // a normal one, so the duplicate really occurs in the data.
                let back = 1 + rng.below(index.min(50));
                let mut candidate = index - back;
                loop {
                    if self.contact_email_bucket(candidate).0 >= 8 {
                        return Val::Str(self.normal_email(candidate));
                    }
                    if candidate == 0 {
                        return Val::Str(self.normal_email(index));
                    }
                    candidate -= 1;
                }
            }
            _ => Val::Str(self.normal_email(index)),
        }
    }

    fn contact(&self, index: u64) -> Vec<Val> {
        let mut rng = Rng::for_record(self.seed, SALT_CONTACT, index);
        let account = if self.accounts == 0 || rng.chance(5) {
            Val::Null
        } else {
            Val::Str(self.id(Generated::Account, rng.below(self.accounts)))
        };
        let (first, last) = self.contact_name(index);
        let address = address(&mut rng);
        let phone = if rng.chance(10) {
            Val::Null
        } else {
            Val::Str(phone(&mut rng))
        };
        let title = if rng.chance(15) {
            Val::Null
        } else {
            Val::Str(rng.pick(TITLES).to_string())
        };
        let owner = self.owner(&mut rng);
        let (created, modified, modstamp) = Self::audit_times(&mut rng, index, self.contacts);
        let channel = if rng.chance(10) {
            Val::Null
        } else {
            Val::Str(rng.pick(CHANNELS).to_string())
        };
        let opt_in = Val::Bool(rng.chance(40));
        let value = if rng.chance(10) {
            Val::Null
        } else {
            Val::Num(rng.below(5_000_000) as f64 / 100.0)
        };
        let mut values = vec![
            Val::Str(self.id(Generated::Contact, index)),
            Val::Bool(false),
            account,
            Val::Str(last.0.to_string()),
            Val::Str(first.0.to_string()),
            Val::Str(format!("{} {}", first.0, last.0)),
        ];
        values.extend(address);
        values.extend([
            phone,
            self.contact_email(index),
            title,
            owner,
            Val::DateTime(created),
            Val::DateTime(modified),
            Val::DateTime(modstamp),
            channel,
            opt_in,
            value,
        ]);
        values
    }
}

/// Street, city, state, postal code, country and the compound address placeholder.
///
/// The compound value itself is assembled from the components when a query selects it,
/// so the record holds `Null` in its slot.
fn address(rng: &mut Rng) -> [Val; 6] {
    if rng.chance(5) {
        return [
            Val::Null,
            Val::Null,
            Val::Null,
            Val::Null,
            Val::Null,
            Val::Null,
        ];
    }
    let (city, state, postal, country) = *rng.pick(PLACES);
    let mut street = format!("{} {}", 1 + rng.below(9_999), rng.pick(STREETS));
    if rng.chance(20) {
        // A second street line, as Salesforce stores it: separated by a newline.
        street.push('\n');
        let line = *rng.pick(SECOND_LINES);
        street.push_str(line);
    }
    [
        Val::Str(street),
        Val::Str(city.to_string()),
        Val::opt_str(state.map(str::to_string)),
        Val::Str(postal.to_string()),
        Val::Str(country.to_string()),
        Val::Null,
    ]
}

/// Second street lines, stored after a newline as Salesforce does.
const SECOND_LINES: &[&str] = &[
    "Suite 200",
    "Floor 3",
    "Building B, Unit 12",
    "c/o Accounts Payable",
];

fn phone(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => format!("({}) 555-{:04}", 200 + rng.below(800), rng.below(10_000)),
        1 => format!("+49 89 {} {}", 1000 + rng.below(9000), 100 + rng.below(900)),
        _ => format!("+44 20 {} {:04}", 7000 + rng.below(1000), rng.below(10_000)),
    }
}

/// First names: display form and the ASCII form used in e-mail addresses.
const FIRST_NAMES: &[(&str, &str)] = &[
    ("James", "james"),
    ("Mary", "mary"),
    ("Zoë", "zoe"),
    ("José", "jose"),
    ("Søren", "soren"),
    ("Łukasz", "lukasz"),
    ("Aoife", "aoife"),
    ("Chloé", "chloe"),
    ("Jürgen", "jurgen"),
    ("Priya", "priya"),
    ("Wei", "wei"),
    ("Fatima", "fatima"),
    ("Olivia", "olivia"),
    ("Liam", "liam"),
    ("Noah", "noah"),
    ("Emma", "emma"),
    ("Hiroshi", "hiroshi"),
    ("Ana", "ana"),
    ("Mohammed", "mohammed"),
    ("Sofia", "sofia"),
    ("David", "david"),
    ("Grace", "grace"),
    ("Mateo", "mateo"),
    ("Ingrid", "ingrid"),
];

/// Last names: display form and the ASCII form used in e-mail addresses.
const LAST_NAMES: &[(&str, &str)] = &[
    ("Smith", "smith"),
    ("O'Brien", "obrien"),
    ("Müller", "muller"),
    ("García", "garcia"),
    ("Nguyen", "nguyen"),
    ("van der Berg", "vanderberg"),
    ("Kowalski", "kowalski"),
    ("Jones", "jones"),
    ("Brown", "brown"),
    ("Ødegaard", "odegaard"),
    ("Smith-Jones", "smithjones"),
    ("Tanaka", "tanaka"),
    ("Patel", "patel"),
    ("Dubois", "dubois"),
    ("Rossi", "rossi"),
    ("Johansson", "johansson"),
    ("Kim", "kim"),
    ("Silva", "silva"),
    ("Schröder", "schroder"),
    ("Wilson", "wilson"),
    ("D'Angelo", "dangelo"),
    ("Lee", "lee"),
];

const COMPANY_WORDS: &[&str] = &[
    "Acme",
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Wonka",
    "Tyrell",
    "Blue Ridge",
    "Silver Lake",
    "Redwood",
    "Granite",
    "Summit",
    "Harbor",
    "Pioneer",
];

const COMPANY_NOUNS: &[&str] = &[
    "Dynamics",
    "Solutions",
    "Industries",
    "Logistics",
    "Systems",
    "Analytics",
    "Foods",
    "Energy",
    "Labs",
    "Holdings",
    "Networks",
    "Partners",
    "Robotics",
    "Textiles",
    "Health",
];

const COMPANY_SUFFIXES: &[&str] = &[
    "Inc.", "LLC", "Ltd", "GmbH", "S.A.", "Corp.", "plc", "AG", "B.V.",
];

/// Names chosen to break naive CSV and encoding handling.
const SPECIAL_COMPANIES: &[&str] = &[
    "Müller & Söhne GmbH",
    "O'Reilly Freight, Inc.",
    "\"Blue Sky\" Ventures",
    "Société Générale des Eaux",
    "Zürich Präzision AG",
    "北京贸易有限公司",
    "Smith, Jones & Partners",
    "São Paulo Importadora Ltda.",
    "Café \"Le Petit\", SARL",
    "Łódź Logistics Sp. z o.o.",
    "Ñandú Exports; S.L.",
    "Δέλτα Shipping",
];

const DESCRIPTIONS: &[&str] = &[
    "Long-standing customer in the region.",
    "Key account.\nRenewal due in Q3, \"priority\" customer.",
    "Kunde seit 2015 — Ansprechpartner: Jürgen Groß.",
    "Prefers invoices by post, not e-mail; contact finance first.",
    "Imported from legacy CRM, see \"notes\" field.\r\nDo not merge without review.",
    "Multi-line address history:\n1) Old HQ, Paris\n2) New HQ, Lyon",
    "Emoji test 🚢 and tabs\tinside, commas, \"quotes\", and 'apostrophes'.",
    "Partner since 2012. Annual review in November.",
    "日本支社あり。担当: 田中",
    "Backslash \\ and semicolon; in one line",
];

const STREETS: &[&str] = &[
    "Market Street",
    "Main St",
    "Maximilianstraße",
    "Rue de Rivoli",
    "Avenida Paulista",
    "High Street",
    "Baker Street",
    "Congress Ave",
    "Broadway",
    "George Street",
];

/// City, state (none for some countries), postal code, country.
const PLACES: &[(&str, Option<&str>, &str, &str)] = &[
    ("San Francisco", Some("CA"), "94105", "United States"),
    ("München", Some("Bayern"), "80331", "Germany"),
    ("Montréal", Some("QC"), "H2Y 1C6", "Canada"),
    ("London", None, "EC1A 1BB", "United Kingdom"),
    ("Paris", Some("Île-de-France"), "75001", "France"),
    ("Tokyo", Some("Tokyo"), "100-0001", "Japan"),
    ("São Paulo", Some("SP"), "01310-100", "Brazil"),
    ("Austin", Some("TX"), "78701", "United States"),
    ("New York", Some("NY"), "10001", "United States"),
    ("Sydney", Some("NSW"), "2000", "Australia"),
];

const TITLES: &[&str] = &[
    "CEO",
    "CFO",
    "VP, Sales",
    "Director of Operations",
    "Procurement Manager",
    "Software Engineer",
    "Head of \"Special\" Projects",
    "Geschäftsführer",
    "Office Manager",
    "Buyer",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::FieldType;

    #[test]
    fn counts_add_up() {
        for n in [0u64, 1, 2, 3, 7, 10, 49, 50, 1000, 12_345, 1_000_000] {
            let (u, a, c) = split_counts(n);
            assert_eq!(u + a + c, n, "records {n}");
            if n >= 2 {
                assert!(u >= 1 && a >= 1);
            }
        }
        assert_eq!(split_counts(1000), (20, 200, 780));
    }

    #[test]
    fn values_match_field_types() {
        let org = Org::new(7, 2000);
        for kind in [Generated::User, Generated::Account, Generated::Contact] {
            let object = generated_object(kind);
            for index in 0..org.count(kind) {
                let record = org.record(kind, index);
                assert_eq!(record.len(), object.fields.len(), "{}", object.name);
                for (field, value) in object.fields.iter().zip(&record) {
                    let ok = match value {
                        Val::Null => field.nillable || field.ftype == FieldType::Address,
                        Val::Str(_) => field.ftype.is_text(),
                        Val::Int(_) => field.ftype == FieldType::Int,
                        Val::Num(_) => {
                            matches!(field.ftype, FieldType::Currency | FieldType::Double)
                        }
                        Val::Bool(_) => field.ftype == FieldType::Boolean,
                        Val::Date(_) => field.ftype == FieldType::Date,
                        Val::DateTime(_) => field.ftype == FieldType::Datetime,
                    };
                    assert!(ok, "{}.{} = {value:?}", object.name, field.name);
                    if let (Val::Str(s), Some(_)) = (value, field.picklist.first()) {
                        assert!(
                            field.picklist.contains(&s.as_str()),
                            "{}.{} = {s}",
                            object.name,
                            field.name
                        );
                    }
                }
                assert_eq!(org.index_of(kind, &org.id(kind, index)), Some(index));
            }
        }
    }

    #[test]
    fn hierarchy_is_acyclic_and_has_children_before_parents() {
        let org = Org::new(42, 1000);
        let accounts = org.count(Generated::Account);
        let mut with_parent = 0;
        let mut forward = 0;
        let mut deepest = 0;
        for i in 0..accounts {
            let mut depth = 0;
            let mut cursor = i;
            while let Some(parent) = org.account_parent(cursor) {
                assert!(parent < accounts);
                depth += 1;
                assert!(depth < 10, "cycle at {i}");
                cursor = parent;
            }
            deepest = deepest.max(depth);
            if let Some(parent) = org.account_parent(i) {
                with_parent += 1;
                if parent > i {
                    forward += 1;
                }
            }
        }
        assert!(deepest >= 2);
        assert!(forward > 0);
        let share = with_parent * 100 / accounts;
        assert!((30..=40).contains(&share), "{share}% have a parent");
    }

    #[test]
    fn emails_include_missing_invalid_and_duplicates() {
        let org = Org::new(42, 10_000);
        let object = generated_object(Generated::Contact);
        let email = object.field_index("Email").unwrap_or(0);
        let mut seen = std::collections::HashSet::new();
        let (mut null, mut invalid, mut dup) = (0, 0, 0);
        for i in 0..org.count(Generated::Contact) {
            match &org.record(Generated::Contact, i)[email] {
                Val::Str(e) => {
                    if e.contains("@@") || !e.contains('@') {
                        invalid += 1;
                    } else if !seen.insert(e.clone()) {
                        dup += 1;
                    }
                }
                _ => null += 1,
            }
        }
        let n = org.count(Generated::Contact) as f64;
        for (what, count, expected) in [
            ("null", null, 3.0),
            ("invalid", invalid, 2.0),
            ("dup", dup, 3.0),
        ] {
            let pct = f64::from(count) * 100.0 / n;
            assert!((pct - expected).abs() < 1.0, "{what}: {pct}%");
        }
    }
}
