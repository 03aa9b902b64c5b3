//! The seeded data generator.
//!
//! Records are never stored: record `i` of an object is rebuilt from (seed, object,
//! `i`) whenever it is needed, so an org of a million records costs no memory. The
//! values deliberately include what breaks naive migrations: unicode, commas, quotes
//! and newlines in text, long text near field limits, null references, invalid and
//! duplicate e-mail addresses, an account hierarchy where some children come before
//! their parents, polymorphic references, soft-deleted records and binary bodies.
//!
//! Every object has a number of index *slots*; a fixed share of the slots of most
//! objects (index `i` with `i % 50 == 37`) holds a soft-deleted record, visible only
//! to `queryAll`. References from other records always point at live records. The
//! only state is a small overlay of records changed "now" through [`Org::mutate`], so
//! that delta runs can be tested.

use crate::ids::salesforce_id;
use crate::rng::{Rng, splitmix64};
use crate::schema::{
    ACCOUNT_TYPES, APEX_STATUS, CALL_TYPES, CAMPAIGN_STATUS, CAMPAIGN_TYPES, CASE_ORIGIN,
    CASE_PRIORITY, CASE_STATUS, CHANNELS, CONTACT_ROLES, FLOW_TYPES, Features, GROUPS, Generated,
    INDUSTRIES, LEAD_SOURCES, LEAD_STATUS, LOYALTY_TIERS, MEMBER_STATUS, OPPORTUNITY_TYPES,
    PRIORITIES, PROJECT_STATUS, RECORD_TYPES, REGIONS, RELATION_STATUS, REPORT_FORMATS,
    SALUTATIONS, SEGMENTS, STAGES, TASK_STATUS, TIERS, generated_object,
};
use crate::value::{Val, days_from_civil};
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};

mod commerce;

/// Username of the integration user, who is user 0 and owns the issued tokens.
/// How the generator made a contact's e-mail address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmailKind {
    Missing,
    /// Not an address (`a.b@@example`, `a.b.example.com`).
    Invalid,
    /// The address of an earlier contact (which may itself have been deleted).
    Duplicate,
    Unique,
}

pub const INTEGRATION_USERNAME: &str = "integration@ferry-sim.example";

/// Start of the generated history: 2019-01-01T00:00:00Z.
const HISTORY_START_DAY: i64 = 17_897;
/// "Now" for the generated org: 2024-12-31. A fixed date keeps data reproducible.
const HISTORY_END_DAY: i64 = 20_088;
/// Salesforce archives events, and closed tasks, whose date is more than 365 days
/// before "now": archived rows are seen only by `queryAll`. Start of the first day
/// that is not archived, in Unix seconds.
const ARCHIVE_BEFORE: i64 = (HISTORY_END_DAY - 365) * 86_400;
/// A mass update (a data-loader run) that stamped many records with the same
/// LastModifiedDate and SystemModstamp: 2023-06-15T02:00:00Z.
pub const MASS_UPDATE: i64 = 19_523 * 86_400 + 7_200;

/// Number of fields person accounts add to Account (see `schema::person_account_fields`).
const PERSON_FIELDS: usize = 17;

/// Per-object salts, so that the streams of different objects never coincide.
const SALT_USER: u64 = 0x5553_4552;
const SALT_ACCOUNT: u64 = 0x4143_4354;
const SALT_CONTACT: u64 = 0x434f_4e54;
const SALT_CATEGORY: u64 = 0x4b43_4154;
const SALT_CONTACT_NAME: u64 = 0x434e_414d;
const SALT_CONTACT_EMAIL: u64 = 0x4345_4d4c;
const SALT_IDS: u64 = 0x4944_5321;
const SALT_FILE: u64 = 0x4649_4c45;
const SALT_BLOB: u64 = 0x424c_4f42;
/// The stream of records' currencies (and of the org's corporate currency), apart from
/// every other stream so that switching multiple currencies on shifts no other value.
const SALT_CURRENCY: u64 = 0x4355_5252;
/// Which accounts are person accounts, drawn apart from every other stream so that turning
/// the feature on shifts no other generated value.
const SALT_PERSON: u64 = 0x5045_5253;
/// The person fields of a person account (salutation, phones, birthdate, loyalty tier).
const SALT_PERSON_FIELDS: u64 = 0x5046_4c44;
/// Which leads and cases a queue owns, drawn apart from every other stream so that queue
/// ownership shifts no other generated value.
const SALT_QUEUE: u64 = 0x5155_4555;
/// Per cent of unconverted leads owned by a queue.
const QUEUE_LEADS_PERCENT: u64 = 16;
/// Per cent of cases owned by a queue.
const QUEUE_CASES_PERCENT: u64 = 33;
/// An opportunity's price book and products, drawn apart from the opportunity's own stream
/// so that adding them shifts no generated value of the opportunity.
const SALT_PRODUCTS: u64 = 0x5052_4f44;

/// Products in the catalog: each of [`PRODUCTS`] in two editions.
const PRODUCT_COUNT: u64 = 2 * PRODUCTS.len() as u64;
/// Price books: the standard one (index 0) and two custom ones.
const PRICE_BOOKS: &[(&str, &str, f64)] = &[
    (
        "Standard Price Book",
        "Every product at its list price",
        1.0,
    ),
    (
        "Enterprise Price Book",
        "Volume pricing for enterprise accounts",
        0.9,
    ),
    ("Partner Price Book", "Prices for resellers", 0.8),
];
/// Line items of an opportunity that has products: opportunities with an even index have
/// two, the others none.
const ITEMS_PER_OPPORTUNITY: u64 = 2;
/// The rules of recurring series, apart from every other stream so that no generated
/// value of a task or event moves.
const SALT_SERIES: u64 = 0x5345_5249;

/// What an org is mostly made of: how its records split between the objects that scale
/// with its size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mix {
    /// A sales org: contacts about 30%, tasks 15%, leads 8%, accounts 10%, and the rest
    /// spread over opportunities, cases, emails, events, notes and files.
    #[default]
    Sales,
    /// An org that has logged activity for years: tasks 50%, emails 15%, events with
    /// their relations 15%, and a thin layer of accounts, contacts and deals; fewer files.
    Activities,
}

impl Mix {
    /// Every mix, in the order the command line lists them.
    pub const ALL: [Mix; 2] = [Mix::Sales, Mix::Activities];

    /// The name `--mix` takes.
    pub fn name(self) -> &'static str {
        match self {
            Mix::Sales => "sales",
            Mix::Activities => "activities",
        }
    }

    /// The mix of a `--mix` name.
    pub fn from_name(name: &str) -> Option<Mix> {
        Mix::ALL.into_iter().find(|mix| mix.name() == name)
    }

    fn shares(self) -> &'static Shares {
        match self {
            Mix::Sales => &SALES,
            Mix::Activities => &ACTIVITIES,
        }
    }
}

/// How a [`Mix`] splits an org.
#[derive(Debug)]
struct Shares {
    /// One user per this many records.
    records_per_user: u64,
    /// One account per this many records.
    records_per_account: u64,
    /// Per mille of the records, for the objects listed; contacts take what is left.
    weights: &'static [(Generated, u64)],
    /// Per mille in events and their relations (one Event, two EventRelation).
    events: u64,
    /// Per mille in files (ContentVersion, ContentDocument, ContentDocumentLink, one each).
    files: u64,
}

const SALES: Shares = Shares {
    records_per_user: 50,
    records_per_account: 10,
    weights: WEIGHTS,
    events: EVENT_WEIGHT,
    files: FILE_WEIGHT,
};

const ACTIVITIES: Shares = Shares {
    records_per_user: 200,
    records_per_account: 40,
    weights: &[
        (Generated::Lead, 20),
        (Generated::Opportunity, 15),
        (Generated::OpportunityContactRole, 10),
        (Generated::Task, 500),
        (Generated::Note, 10),
        (Generated::ContentNote, 5),
        (Generated::Attachment, 4),
        (Generated::EmailMessage, 150),
        (Generated::Campaign, 1),
        (Generated::CampaignMember, 5),
        (Generated::Case, 20),
        (Generated::Project, 4),
    ],
    events: 150,
    files: 2,
};

/// Share of records per mille of `records` for the objects that scale with a sales org.
/// Contacts take what is left (about 30%).
const WEIGHTS: &[(Generated, u64)] = &[
    (Generated::Lead, 80),
    (Generated::Opportunity, 50),
    (Generated::OpportunityContactRole, 30),
    (Generated::Task, 150),
    (Generated::Note, 20),
    (Generated::ContentNote, 10),
    (Generated::Attachment, 10),
    (Generated::EmailMessage, 40),
    (Generated::Campaign, 2),
    (Generated::CampaignMember, 30),
    (Generated::Case, 40),
    (Generated::Project, 10),
];

/// Files (ContentVersion, ContentDocument and ContentDocumentLink, one each) and
/// events (one Event, two EventRelation) per mille.
const FILE_WEIGHT: u64 = 8;
const EVENT_WEIGHT: u64 = 30;

/// Sizes of the small fixed objects that do not scale.
const FIXED: &[(Generated, u64)] = &[
    (Generated::OpportunityStage, STAGES.len() as u64),
    (Generated::RecordType, RECORD_TYPES.len() as u64),
    (Generated::Report, 12),
    (Generated::Dashboard, 4),
    (Generated::ApexClass, 9),
    (Generated::ApexTrigger, 4),
    (Generated::FlowDefinitionView, 6),
    (Generated::ValidationRule, 5),
    (Generated::WorkflowRule, 3),
    (Generated::ApexPage, 5),
    (Generated::Organization, 1),
    (
        Generated::CurrencyType,
        crate::schema::CURRENCIES.len() as u64,
    ),
    (Generated::Group, GROUPS.len() as u64),
    (Generated::QueueSobject, QUEUE_OBJECT_ROWS),
    (Generated::Product2, PRODUCT_COUNT),
    (Generated::Pricebook2, PRICE_BOOKS.len() as u64),
];

/// How many `QueueSobject` rows [`GROUPS`] makes.
const QUEUE_OBJECT_ROWS: u64 = {
    let mut rows = 0;
    let mut at = 0;
    while at < GROUPS.len() {
        rows += GROUPS[at].4.len() as u64;
        at += 1;
    }
    rows
};

/// The rows of `QueueSobject`: (group index, object), in group order.
fn queue_objects() -> Vec<(u64, &'static str)> {
    GROUPS
        .iter()
        .enumerate()
        .flat_map(|(index, group)| group.4.iter().map(move |object| (index as u64, *object)))
        .collect()
}

/// Objects whose size follows from others' (price book entries from products and price
/// books, line items from opportunities): on top of the records asked for, like [`FIXED`].
const DERIVED: &[Generated] = &[
    Generated::PricebookEntry,
    Generated::OpportunityLineItem,
    Generated::AccountContactRelation,
    Generated::KnowledgeArticleVersion,
    Generated::DataCategorySelection,
    Generated::KnowledgeArticle,
];

/// Knowledge articles per this many records asked for (on top of them, like [`DERIVED`]).
const RECORDS_PER_ARTICLE: u64 = 250;
/// Versions per article, by article index modulo 10 (see [`Org::article_version`]).
const ARTICLE_VERSIONS: [u64; 10] = [2, 1, 3, 1, 2, 1, 2, 1, 2, 3];
/// Data category selections per article version, by article index modulo 10 (every
/// version of an article carries the article's categories).
const ARTICLE_CATEGORIES: [u64; 10] = [1, 2, 1, 2, 1, 2, 1, 2, 1, 2];
/// Selections per article: its versions times its categories.
const ARTICLE_SELECTIONS: [u64; 10] = {
    let mut out = [0; 10];
    let mut i = 0;
    while i < 10 {
        out[i] = ARTICLE_VERSIONS[i] * ARTICLE_CATEGORIES[i];
        i += 1;
    }
    out
};
/// The data category groups of the knowledge base, with their categories.
pub const DATA_CATEGORY_GROUPS: &[(&str, &[&str])] = &[
    (
        "Products",
        &["Laptops", "Printers", "Software", "Accessories"],
    ),
    ("Regions", &["Americas", "EMEA", "APAC"]),
];
/// One contact in this many (counting from the second) is also related to an account
/// other than its own: an indirect AccountContactRelation.
const CONTACTS_PER_INDIRECT: u64 = 4;

/// The publication state of one article version ([`Org::article_version`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishStatus {
    Draft,
    Online,
    Archived,
}

impl PublishStatus {
    /// As `PublishStatus` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            PublishStatus::Draft => "Draft",
            PublishStatus::Online => "Online",
            PublishStatus::Archived => "Archived",
        }
    }
}

/// Where an article version stands: its article, its number among the article's versions
/// (0-based) and how many the article has, and its publication state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArticleVersion {
    pub article: u64,
    pub number: u64,
    pub versions: u64,
    pub status: PublishStatus,
}

/// How many index slots (live and soft-deleted records) each object holds for a total
/// of `records`.
///
/// Users are 1 in 50 and accounts 1 in 10 (each at least one while records remain);
/// the other scaling objects take their share of [`WEIGHTS`], and contacts the rest,
/// so the scaling objects always add up to `records` exactly. The small fixed objects
/// (stages, record types, reports, dashboards, tooling) come on top.
pub fn split_counts(records: u64) -> BTreeMap<Generated, u64> {
    split_counts_with(records, Mix::Sales)
}

/// Like [`split_counts`], for an org of the given [`Mix`].
pub fn split_counts_with(records: u64, mix: Mix) -> BTreeMap<Generated, u64> {
    let shares = mix.shares();
    let mut left = records;
    let mut take = |want: u64| {
        let n = want.min(left);
        left -= n;
        (n, left)
    };
    let mut counts = BTreeMap::new();
    counts.insert(
        Generated::User,
        take((records / shares.records_per_user).max(1)).0,
    );
    counts.insert(
        Generated::Account,
        take((records / shares.records_per_account).max(1)).0,
    );
    for &(kind, weight) in shares.weights {
        counts.insert(kind, take(records * weight / 1000).0);
    }
    let (_, remaining) = take(0);
    let events = (records * shares.events / 1000 / 3).min(remaining / 3);
    counts.insert(Generated::Event, take(events).0);
    counts.insert(Generated::EventRelation, take(events * 2).0);
    let (_, remaining) = take(0);
    let files = (records * shares.files / 1000).min(remaining / 3);
    // The three file objects share `3 * files` slots: documents, their versions and their
    // links (see [`FileLayout`]); what a whole document does not fit goes back to contacts.
    let layout = FileLayout::fitting(3 * files);
    take(layout.total());
    counts.insert(Generated::ContentDocument, layout.documents);
    counts.insert(Generated::ContentVersion, layout.versions);
    counts.insert(Generated::ContentDocumentLink, layout.links);
    let (_, remaining) = take(0);
    counts.insert(Generated::Contact, take(remaining).0);
    for &(kind, n) in FIXED {
        counts.insert(kind, n);
    }
    // Every product in every price book (one currency: a multi-currency org has one entry
    // per currency, see `Org::with_features`).
    counts.insert(
        Generated::PricebookEntry,
        PRODUCT_COUNT * PRICE_BOOKS.len() as u64,
    );
    let opportunities = counts.get(&Generated::Opportunity).copied().unwrap_or(0);
    counts.insert(
        Generated::OpportunityLineItem,
        opportunities.div_ceil(2) * ITEMS_PER_OPPORTUNITY,
    );
    // Contacts to Multiple Accounts: a relation per contact (to its own account, or for a
    // contact without one to another account) and an indirect one for one contact in four.
    let contacts = counts.get(&Generated::Contact).copied().unwrap_or(0);
    counts.insert(
        Generated::AccountContactRelation,
        contacts + contacts / CONTACTS_PER_INDIRECT,
    );
    // Knowledge: articles with their versions and each version's data categories.
    let articles = records / RECORDS_PER_ARTICLE;
    counts.insert(
        Generated::KnowledgeArticleVersion,
        periodic_sum(&ARTICLE_VERSIONS, articles),
    );
    counts.insert(
        Generated::DataCategorySelection,
        periodic_sum(&ARTICLE_SELECTIONS, articles),
    );
    counts.insert(Generated::KnowledgeArticle, articles);
    // Two relations per email (its sender and its recipient), on top of the records asked
    // for, so that no other object's share moves.
    let emails = counts.get(&Generated::EmailMessage).copied().unwrap_or(0);
    counts.insert(Generated::EmailMessageRelation, emails * 2);
    // Comments on cases, likewise on top: [`CASE_COMMENTS`] per case.
    let cases = counts.get(&Generated::Case).copied().unwrap_or(0);
    counts.insert(Generated::CaseComment, cases * CASE_COMMENTS);
    commerce::add_counts(&mut counts);
    counts
}

/// Comments per case: comment `i` is on case `i / CASE_COMMENTS`.
pub const CASE_COMMENTS: u64 = 2;

/// The rich-text field of accounts, contacts and opportunities that embeds images.
pub const RICH_TEXT_FIELD: &str = "Rich_Notes__c";
const SALT_RICH_IMAGE: u64 = 0x5254_4149;

/// An image in a rich-text field ([`Org::rich_text_images`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RichTextImage {
    /// The image's id (`refid`, an `0EM` id).
    pub refid: String,
    /// Salesforce answers `404 NOT_FOUND` for it.
    pub refused: bool,
    /// Its size.
    pub bytes: u64,
}

/// Versions per document, by document index modulo 10: most files have one version,
/// some were replaced once or twice (ContentVersion.VersionNumber 1..n, `IsLatest` on the
/// newest only).
const VERSIONS_PER_DOCUMENT: [u64; 10] = [1, 1, 3, 1, 1, 2, 1, 1, 1, 1];
/// Records each document is shared to (ContentDocumentLink to an account, contact,
/// opportunity or case), by document index modulo 10; every document also has the link
/// Salesforce adds for its owner (a `005` user).
const RECORD_LINKS_PER_DOCUMENT: [u64; 10] = [1, 3, 1, 1, 2, 1, 1, 1, 3, 1];

/// How files lay out over the version and link slots: document `d` has
/// `VERSIONS_PER_DOCUMENT[d % 10]` versions (the last document also takes the slots no
/// whole document fits, as extra superseded versions) and `1 + RECORD_LINKS_PER_DOCUMENT
/// [d % 10]` links (its owner's first), numbered in document order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileLayout {
    /// ContentDocument records.
    pub documents: u64,
    /// ContentVersion records.
    pub versions: u64,
    /// ContentDocumentLink records.
    pub links: u64,
}

impl FileLayout {
    /// The most documents whose versions and links fit in `slots`.
    fn fitting(slots: u64) -> FileLayout {
        let cost = |d: u64| d + versions_before(d) + links_before(d);
        // Cost per block of ten documents bounds the search.
        let mut documents = slots / cost(10).max(1) * 10;
        while cost(documents + 1) <= slots {
            documents += 1;
        }
        if documents == 0 {
            return FileLayout {
                documents: 0,
                versions: 0,
                links: 0,
            };
        }
        let links = links_before(documents);
        FileLayout {
            documents,
            versions: slots - documents - links,
            links,
        }
    }

    fn total(&self) -> u64 {
        self.documents + self.versions + self.links
    }
}

/// Sum of `per[i % 10]` for `i < n`.
fn periodic_sum(per: &[u64; 10], n: u64) -> u64 {
    let block: u64 = per.iter().sum();
    n / 10 * block + per[..(n % 10) as usize].iter().sum::<u64>()
}

/// Versions of documents `0..d` (before the last document's extras).
fn versions_before(d: u64) -> u64 {
    periodic_sum(&VERSIONS_PER_DOCUMENT, d)
}

/// Links of documents `0..d`.
fn links_before(d: u64) -> u64 {
    d + periodic_sum(&RECORD_LINKS_PER_DOCUMENT, d)
}

/// The `d` with `before(d) <= index < before(d + 1)`, for a periodic prefix sum.
fn periodic_owner(per: &[u64; 10], plus_one: bool, index: u64) -> (u64, u64) {
    let step = |i: usize| per[i] + u64::from(plus_one);
    let block: u64 = (0..10).map(step).sum();
    let mut d = index / block * 10;
    let mut rest = index % block;
    for i in 0..10 {
        if rest < step(i) {
            break;
        }
        rest -= step(i);
        d += 1;
    }
    (d, rest)
}

/// What knowledge articles explain, one per article.
const KNOWLEDGE_TOPICS: &[&str] = &[
    "reset a password",
    "install an update",
    "export a report",
    "pair a device",
    "change the billing address",
    "replace a cartridge",
    "set up single sign-on",
    "restore a backup",
];

/// Task and event slots come in blocks of this many for recurring series.
pub const SERIES_BLOCK: u64 = 40;
/// The offset in a block of a series' main record.
pub const SERIES_MASTER: u64 = 10;
/// Occurrences per series, in the slots after the main record.
pub const SERIES_OCCURRENCES: u64 = 4;

/// A task's or event's place in a recurring series ([`Org::series_of`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeriesRole {
    /// The series' main record: `IsRecurrence = true`, the rule.
    Master,
    /// An occurrence of the series whose main record has index `master`.
    Occurrence { master: u64 },
}

/// Whether an object keeps soft-deleted records in its slots.
fn soft_deletes(kind: Generated) -> bool {
    matches!(
        kind,
        Generated::Account
            | Generated::Contact
            | Generated::Lead
            | Generated::Opportunity
            | Generated::OpportunityContactRole
            | Generated::Task
            | Generated::Event
            | Generated::Note
            | Generated::Attachment
            | Generated::EmailMessage
            | Generated::Campaign
            | Generated::CampaignMember
            | Generated::Case
            | Generated::Project
            | Generated::CaseComment
    )
}

/// Number of `i < n` with `i % m == r`.
fn residues_below(n: u64, m: u64, r: u64) -> u64 {
    (n + m - 1 - r) / m
}

/// Errors of [`Org::mutate`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MutateError {
    /// No generated object of that name.
    #[error("sObject type '{0}' is not supported.")]
    UnknownObject(String),
    /// Records of the object cannot be deleted (users, metadata).
    #[error("entity type {0} does not support delete")]
    NotDeletable(String),
}

/// The ids a mutation changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Mutation {
    /// Records given a new value and `SystemModstamp`.
    pub modified: Vec<String>,
    /// Records soft-deleted.
    pub deleted: Vec<String>,
}

/// Records changed after generation: index -> time of the change.
#[derive(Debug, Default)]
struct Overlay {
    modified: HashMap<(Generated, u64), i64>,
    deleted: HashMap<(Generated, u64), i64>,
    deleted_per_kind: BTreeMap<Generated, u64>,
    /// Next index each object's mutations start looking from.
    cursor: BTreeMap<Generated, u64>,
}

/// The generated org: counts, id bases, the seed everything derives from, and the
/// overlay of records changed since.
#[derive(Debug, Clone)]
pub struct Org {
    seed: u64,
    counts: BTreeMap<Generated, u64>,
    bases: BTreeMap<Generated, u64>,
    org_id: String,
    overlay: Arc<RwLock<Overlay>>,
    /// Number of overlay entries, read without the lock on the hot path.
    changes: Arc<AtomicUsize>,
    /// The org features switched on (person accounts, multiple currencies).
    features: Features,
    /// Which tasks and events are archived, worked out on first use (see [`Archive`]).
    archives: Arc<[std::sync::OnceLock<Archive>; 2]>,
}

/// The archived records of one activity object: a bit per index slot. Archiving depends
/// only on generated values (closed, due date, end) that no mutation changes, so it is
/// computed once, from the generator, the first time a query needs it.
#[derive(Debug)]
struct Archive {
    bits: Vec<u64>,
    /// Archived slots that are not soft-deleted as generated.
    live: u64,
}

impl Archive {
    fn has(&self, index: u64) -> bool {
        self.bits
            .get((index / 64) as usize)
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }
}

/// A generated binary body: its length, and the stream it derives from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blob {
    /// The object whose record holds the body.
    pub kind: Generated,
    /// The record's index.
    pub index: u64,
    /// Length in bytes, as `BodyLength` / `ContentSize` report it.
    pub len: u64,
}

impl Org {
    /// Plans a sales org ([`Mix::Sales`]) of `records` records from `seed`.
    pub fn new(seed: u64, records: u64) -> Self {
        Org::with_mix(seed, records, Mix::Sales)
    }

    /// Plans an org of `records` records from `seed`, split as `mix` says, with no
    /// optional feature on.
    pub fn with_mix(seed: u64, records: u64, mix: Mix) -> Self {
        Org::with_features(seed, records, mix, Features::default())
    }

    /// Plans an org of `records` records from `seed`, split as `mix` says, with
    /// `features` switched on.
    pub fn with_features(seed: u64, records: u64, mix: Mix, features: Features) -> Self {
        let mut counts = split_counts_with(records, mix);
        if features.multi_currency {
            // Salesforce keeps a price book entry per product, price book and currency.
            counts.insert(
                Generated::PricebookEntry,
                PRODUCT_COUNT
                    * PRICE_BOOKS.len() as u64
                    * crate::schema::CURRENCY_CODES.len() as u64,
            );
        }
        let org_id = salesforce_id("00D", 1 + splitmix64(seed ^ SALT_IDS) % 1_000_000);
        let mut bases = BTreeMap::new();
        for kind in Generated::ALL {
            let base = match kind {
                // Record types keep the ids describe's recordTypeInfos list.
                Generated::RecordType => 1,
                _ => 1 + splitmix64(seed ^ salt(kind) ^ SALT_IDS) % 1_000_000_000,
            };
            bases.insert(kind, base);
        }
        // ContentNote shares ContentDocument's key prefix; its ids follow the documents'.
        let documents = bases.get(&Generated::ContentDocument).copied().unwrap_or(1)
            + counts
                .get(&Generated::ContentDocument)
                .copied()
                .unwrap_or(0);
        bases.insert(Generated::ContentNote, documents + 1_000);
        // The one Organization record is the org: its id is the org id.
        bases.insert(
            Generated::Organization,
            1 + splitmix64(seed ^ SALT_IDS) % 1_000_000,
        );
        Org {
            seed,
            counts,
            bases,
            org_id,
            overlay: Arc::new(RwLock::new(Overlay::default())),
            changes: Arc::new(AtomicUsize::new(0)),
            features,
            archives: Arc::new([std::sync::OnceLock::new(), std::sync::OnceLock::new()]),
        }
    }

    /// The org features switched on.
    pub fn features(&self) -> Features {
        self.features
    }

    /// The seed the org derives from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The 18-character organization id.
    pub fn org_id(&self) -> &str {
        &self.org_id
    }

    /// The org's corporate currency (`Organization.DefaultCurrencyIsoCode`), chosen by the
    /// seed among [`crate::schema::corporate_currencies`]; in a single-currency org, the
    /// currency of every amount.
    pub fn corporate_currency(&self) -> &'static str {
        let choices = crate::schema::corporate_currencies();
        let at = splitmix64(self.seed ^ SALT_CURRENCY) % choices.len() as u64;
        choices[at as usize]
    }

    /// The currency of record `index` of `kind` in a multi-currency org: mostly the
    /// corporate currency, the rest spread over the org's other currencies; drawn from a
    /// stream of its own. `None` for objects without `CurrencyIsoCode`.
    pub fn record_currency(&self, kind: Generated, index: u64) -> Option<&'static str> {
        if !crate::schema::has_currency(kind) {
            return None;
        }
        match kind {
            Generated::PricebookEntry => {
                let block = index / (PRODUCT_COUNT * PRICE_BOOKS.len() as u64);
                return self.currencies().get(block as usize).copied();
            }
            // A line item is in its opportunity's currency.
            Generated::OpportunityLineItem => {
                return self.record_currency(Generated::Opportunity, line_item_opportunity(index));
            }
            _ => {}
        }
        if let Some((parent, at)) = self.currency_parent(kind, index) {
            return self.record_currency(parent, at);
        }
        let corporate = self.corporate_currency();
        let mut rng = Rng::for_record(self.seed, SALT_CURRENCY ^ salt(kind), index);
        if rng.chance(65) {
            return Some(corporate);
        }
        let others: Vec<&'static str> = crate::schema::CURRENCY_CODES
            .iter()
            .copied()
            .filter(|code| *code != corporate)
            .collect();
        Some(*rng.pick(others.as_slice()))
    }

    /// The org's currencies, the corporate one first: the order of the blocks of price book
    /// entries.
    fn currencies(&self) -> Vec<&'static str> {
        let corporate = self.corporate_currency();
        std::iter::once(corporate)
            .chain(
                crate::schema::CURRENCY_CODES
                    .iter()
                    .copied()
                    .filter(|code| *code != corporate),
            )
            .collect()
    }

    /// An amount of the corporate currency in `code`, rounded to its decimal places.
    fn in_currency(&self, amount: f64, code: &str) -> f64 {
        let (rate, places) = crate::schema::currency(code);
        let (corporate_rate, _) = crate::schema::currency(self.corporate_currency());
        let scale = 10f64.powi(places as i32);
        (amount * rate / corporate_rate * scale).round() / scale
    }

    /// Decimal places of the amounts of record `index` of `kind`.
    fn places(&self, kind: Generated, index: u64) -> u32 {
        match self.record_currency(kind, index) {
            Some(code) if self.features.multi_currency => crate::schema::currency(code).1,
            _ => crate::schema::currency(self.corporate_currency()).1,
        }
    }

    /// Number of index slots of a generated object: live and soft-deleted records.
    pub fn count(&self, kind: Generated) -> u64 {
        self.counts.get(&kind).copied().unwrap_or(0)
    }

    /// Number of scaling records: what `records` asked for.
    pub fn scaled_total(&self) -> u64 {
        self.counts
            .iter()
            .filter(|(k, _)| !FIXED.iter().any(|(f, _)| f == *k) && !DERIVED.contains(k))
            .filter(|(k, _)| {
                **k != Generated::EmailMessageRelation && **k != Generated::CaseComment
            })
            .filter(|(k, _)| !commerce::COMMERCE.contains(k))
            .map(|(_, n)| n)
            .sum()
    }

    fn statically_deleted(&self, kind: Generated, index: u64) -> bool {
        match kind {
            // An event's attendees go with it.
            Generated::EventRelation => self.statically_deleted(Generated::Event, index / 2),
            // An email's relations and its companion task go with it.
            Generated::EmailMessageRelation => {
                self.statically_deleted(Generated::EmailMessage, index / 2)
            }
            // A case's comments go with it.
            Generated::CaseComment => {
                self.statically_deleted(Generated::Case, index / CASE_COMMENTS)
            }
            // A contact's relations go with it.
            Generated::AccountContactRelation => {
                self.statically_deleted(Generated::Contact, self.relation_contact(index))
            }
            Generated::Task if self.email_of_task(index).is_some() => self
                .email_of_task(index)
                .is_some_and(|email| self.statically_deleted(Generated::EmailMessage, email)),
            _ => soft_deletes(kind) && index % 50 == 37,
        }
    }

    fn statically_deleted_below(&self, kind: Generated, n: u64) -> u64 {
        match kind {
            Generated::EventRelation | Generated::EmailMessageRelation | Generated::CaseComment => {
                residues_below(n, 100, 74) + residues_below(n, 100, 75)
            }
            Generated::Task => {
                let first = self.first_email_task();
                residues_below(n.min(first), 50, 37)
                    + residues_below(n.saturating_sub(first), 50, 37)
            }
            // Contact `c` for the first `contacts` slots, then contact `4j + 1` for slot
            // `contacts + j`, deleted when 4j + 1 = 37 (mod 50), that is j = 9 (mod 25).
            Generated::AccountContactRelation => {
                let contacts = self.count(Generated::Contact);
                residues_below(n.min(contacts), 50, 37)
                    + residues_below(n.saturating_sub(contacts), 25, 9)
            }
            _ if soft_deletes(kind) => residues_below(n, 50, 37),
            _ => 0,
        }
    }

    /// The first of the companion tasks of Enhanced Email: the last task slots, one per
    /// email (the email of index `e` has the task of index `first_email_task() + e`).
    fn first_email_task(&self) -> u64 {
        self.count(Generated::Task)
            .saturating_sub(self.count(Generated::EmailMessage))
    }

    /// The companion task of email `email` (`EmailMessage.ActivityId`): with Enhanced
    /// Email, Salesforce creates a task (`TaskSubtype = 'Email'`) for every email.
    pub fn email_task_of(&self, email: u64) -> Option<u64> {
        let task = self.first_email_task() + email;
        (email < self.count(Generated::EmailMessage) && task < self.count(Generated::Task))
            .then_some(task)
    }

    /// The email a task is the companion of, if it is one.
    pub fn email_of_task(&self, task: u64) -> Option<u64> {
        let first = self.first_email_task();
        (task >= first && task < self.count(Generated::Task)).then(|| task - first)
    }

    /// Where task or event `index` stands in a recurring series: the series' main record
    /// (`IsRecurrence = true`, the rule) or one of its occurrences. Series come in blocks of
    /// [`SERIES_BLOCK`] slots (offset [`SERIES_MASTER`] the main record, the next
    /// [`SERIES_OCCURRENCES`] its occurrences), never on a soft-deleted slot as generated
    /// nor on a companion task of an email.
    pub fn series_of(&self, kind: Generated, index: u64) -> Option<SeriesRole> {
        let bound = match kind {
            Generated::Task => self.first_email_task(),
            Generated::Event => self.count(Generated::Event),
            _ => return None,
        };
        let block = index - index % SERIES_BLOCK;
        let master = block + SERIES_MASTER;
        if master + SERIES_OCCURRENCES >= bound {
            return None;
        }
        match index - block {
            SERIES_MASTER => Some(SeriesRole::Master),
            offset if offset > SERIES_MASTER && offset <= SERIES_MASTER + SERIES_OCCURRENCES => {
                Some(SeriesRole::Occurrence { master })
            }
            _ => None,
        }
    }

    /// The occurrences of the series whose main record is task or event `master`.
    pub fn occurrences_of(&self, kind: Generated, master: u64) -> Vec<u64> {
        match self.series_of(kind, master) {
            Some(SeriesRole::Master) => (master + 1..=master + SERIES_OCCURRENCES).collect(),
            _ => Vec::new(),
        }
    }

    /// Whether record `index` is soft-deleted (generated so, or deleted since).
    pub fn is_deleted(&self, kind: Generated, index: u64) -> bool {
        self.statically_deleted(kind, index)
            || (self.changes.load(Ordering::Acquire) > 0
                && self
                    .overlay
                    .read()
                    .map(|o| o.deleted.contains_key(&(kind, index)))
                    .unwrap_or(false))
    }

    /// Number of soft-deleted records of an object.
    pub fn deleted_count(&self, kind: Generated) -> u64 {
        let overlay = self
            .overlay
            .read()
            .map(|o| o.deleted_per_kind.get(&kind).copied().unwrap_or(0))
            .unwrap_or(0);
        self.statically_deleted_below(kind, self.count(kind)) + overlay
    }

    /// Number of live (not deleted) records of an object.
    pub fn live_count(&self, kind: Generated) -> u64 {
        self.count(kind).saturating_sub(self.deleted_count(kind))
    }

    /// Object name to number of live records (archived ones included), for every
    /// generated object outside the Tooling API.
    pub fn record_counts(&self) -> BTreeMap<String, u64> {
        Generated::ALL
            .into_iter()
            .filter(|k| !k.is_tooling() && self.features.allows(generated_object(*k).feature))
            .map(|k| (k.object_name().to_string(), self.live_count(k)))
            .collect()
    }

    /// What `/limits/recordCount` reports: Salesforce's periodic estimate, here the
    /// records as generated (a snapshot: later mutations are not in it) without the
    /// soft-deleted and the archived ones. Not the count `queryAll` finds.
    pub fn record_count_estimates(&self) -> BTreeMap<String, u64> {
        Generated::ALL
            .into_iter()
            .filter(|k| !k.is_tooling())
            .map(|k| {
                let generated = self.count(k) - self.statically_deleted_below(k, self.count(k));
                let archived = self.archive(k).map_or(0, |a| a.live);
                (k.object_name().to_string(), generated - archived)
            })
            .collect()
    }

    fn archive(&self, kind: Generated) -> Option<&Archive> {
        let slot = match kind {
            Generated::Task => 0,
            Generated::Event => 1,
            _ => return None,
        };
        Some(self.archives[slot].get_or_init(|| {
            let flag = generated_object(kind).field_index("IsArchived");
            let count = self.count(kind);
            let mut bits = vec![0u64; count.div_ceil(64) as usize];
            let mut live = 0;
            for index in 0..count {
                let archived = flag
                    .is_some_and(|f| self.generate(kind, index).get(f) == Some(&Val::Bool(true)));
                if archived {
                    bits[(index / 64) as usize] |= 1 << (index % 64);
                    live += u64::from(!self.statically_deleted(kind, index));
                }
            }
            Archive { bits, live }
        }))
    }

    /// Whether record `index` is archived (an old closed task or an old event): a row of
    /// `queryAll` only.
    pub fn is_archived(&self, kind: Generated, index: u64) -> bool {
        self.archive(kind).is_some_and(|a| a.has(index))
    }

    /// Number of archived records that are not soft-deleted.
    pub fn archived_count(&self, kind: Generated) -> u64 {
        let Some(archive) = self.archive(kind) else {
            return 0;
        };
        let deleted_since = self.overlay.read().map_or(0, |o| {
            o.deleted
                .keys()
                .filter(|(k, i)| *k == kind && archive.has(*i))
                .count() as u64
        });
        archive.live - deleted_since
    }

    /// Number of records `query` sees: live and not archived.
    pub fn visible_count(&self, kind: Generated) -> u64 {
        self.live_count(kind) - self.archived_count(kind)
    }

    /// Object name to number of soft-deleted records, for objects that have some.
    pub fn deleted_counts(&self) -> BTreeMap<String, u64> {
        Generated::ALL
            .into_iter()
            .map(|k| (k.object_name().to_string(), self.deleted_count(k)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// The id of record `index`. Counters start at a seed-dependent base so that orgs
    /// of different seeds do not share ids, and grow with the index so that id order is
    /// index order.
    pub fn id(&self, kind: Generated, index: u64) -> String {
        let prefix = generated_object(kind).key_prefix.unwrap_or("000");
        salesforce_id(prefix, self.bases.get(&kind).copied().unwrap_or(1) + index)
    }

    /// The index of a generated record's id, if the id belongs to this org.
    pub fn index_of(&self, kind: Generated, id: &str) -> Option<u64> {
        let prefix = generated_object(kind).key_prefix?;
        let base = self.bases.get(&kind).copied()?;
        let index = crate::ids::parse_counter(prefix, id)?.checked_sub(base)?;
        (index < self.count(kind)).then_some(index)
    }

    /// Where `id` falls among the ids of `kind`: the index of the first of the object's
    /// records whose id is not below it (clamped to `0..=count`). `None` for an id of
    /// another object, whose place the object's ids do not tell.
    pub fn index_bound(&self, kind: Generated, id: &str) -> Option<u64> {
        let prefix = generated_object(kind).key_prefix?;
        let base = self.bases.get(&kind).copied()?;
        let counter = crate::ids::parse_counter(prefix, id)?;
        Some(counter.saturating_sub(base).min(self.count(kind)))
    }

    /// The object and index of any generated record's id.
    pub fn locate(&self, id: &str) -> Option<(Generated, u64)> {
        let prefix = id.get(..3)?;
        Generated::ALL
            .into_iter()
            .filter(|k| generated_object(*k).key_prefix == Some(prefix))
            .find_map(|k| self.index_of(k, id).map(|i| (k, i)))
    }

    /// The values of record `index`, in the field order of the object's schema, with
    /// any change made since generation.
    pub fn record(&self, kind: Generated, index: u64) -> Vec<Val> {
        let mut values = self.generate(kind, index);
        if self.changes.load(Ordering::Acquire) > 0 {
            self.apply_overlay(kind, index, &mut values);
        }
        values
    }

    fn generate(&self, kind: Generated, index: u64) -> Vec<Val> {
        let mut values = self.generate_fields(kind, index);
        self.add_rich_text_images(kind, index, &mut values);
        self.add_currency(kind, index, &mut values);
        values
    }

    /// The images embedded in record `index`'s rich-text field [`RICH_TEXT_FIELD`]: about
    /// one account, contact or opportunity in seven has one or two, drawn from a stream of
    /// their own; one image in five is one Salesforce no longer serves (deleted since),
    /// answered `404 NOT_FOUND`.
    pub fn rich_text_images(&self, kind: Generated, index: u64) -> Vec<RichTextImage> {
        if !matches!(
            kind,
            Generated::Account | Generated::Contact | Generated::Opportunity
        ) || self.statically_deleted(kind, index)
        {
            return Vec::new();
        }
        let mut rng = Rng::for_record(self.seed, SALT_RICH_IMAGE ^ salt(kind), index);
        if !rng.chance(15) {
            return Vec::new();
        }
        let count = 1 + rng.below(2);
        // Distinct per object, within the id counter's range (62^7).
        let family = match kind {
            Generated::Account => 1,
            Generated::Contact => 2,
            _ => 3,
        };
        (0..count)
            .map(|k| RichTextImage {
                refid: salesforce_id("0EM", family * 100_000_000_000 + index * 4 + k + 1),
                refused: rng.chance(20),
                bytes: 200 + rng.below(1_800),
            })
            .collect()
    }

    /// The field id (`feoid`) of [`RICH_TEXT_FIELD`] on `kind`, as rtaImage URLs carry it.
    pub fn rich_text_field_id(&self, kind: Generated) -> String {
        salesforce_id(
            "00N",
            1 + splitmix64(self.seed ^ salt(kind) ^ SALT_RICH_IMAGE) % 1_000_000,
        )
    }

    /// The host Salesforce serves the org's rich-text images from (`.file.force.com`).
    pub fn file_host(&self) -> String {
        format!(
            "ferry-sim-{}.file.force.com",
            self.org_id.to_ascii_lowercase()
        )
    }

    /// The bytes of image `refid` of record `index` in its rich-text field, or `None` when
    /// the record has no such image or Salesforce refuses it.
    pub fn rich_text_image_bytes(
        &self,
        kind: Generated,
        index: u64,
        refid: &str,
    ) -> Option<Vec<u8>> {
        let image = self
            .rich_text_images(kind, index)
            .into_iter()
            .find(|image| image.refid == refid)?;
        if image.refused {
            return None;
        }
        let mut rng = Rng::for_record(self.seed, SALT_RICH_IMAGE ^ 0x4259_5445, index);
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        while (bytes.len() as u64) < image.bytes {
            bytes.push(rng.below(256) as u8);
        }
        Some(bytes)
    }

    /// Appends the `<img>` of each of the record's rich-text images to its rich-text field,
    /// as Salesforce stores them: the rtaImage URL on the org's file host, `&` escaped.
    fn add_rich_text_images(&self, kind: Generated, index: u64, values: &mut [Val]) {
        let images = self.rich_text_images(kind, index);
        if images.is_empty() {
            return;
        }
        let Some(at) = generated_object(kind).field_index(RICH_TEXT_FIELD) else {
            return;
        };
        let record = self.id(kind, index);
        let field = self.rich_text_field_id(kind);
        let host = self.file_host();
        let mut html = match &values[at] {
            Val::Str(text) => text.clone(),
            _ => String::new(),
        };
        for image in images {
            html.push_str(&format!(
                "<p><img src=\"https://{host}/servlet/rtaImage?eid={record}&amp;feoid={field}&amp;refid={}\" alt=\"chart.png\"></img></p>",
                image.refid
            ));
        }
        values[at] = Val::Str(html);
    }

    /// Appends the record's `CurrencyIsoCode` (the last field of objects that have one;
    /// `Null` in an org without multiple currencies, where the field does not exist) and
    /// expresses its amounts in that currency: a yen amount is about 150 times the dollar
    /// one, with no decimals. A record in the corporate currency keeps its amounts as a
    /// single-currency org generates them.
    fn add_currency(&self, kind: Generated, index: u64, values: &mut Vec<Val>) {
        let object = generated_object(kind);
        if object.fields.len() != values.len() + 1
            || object.fields.last().map(|f| f.name) != Some("CurrencyIsoCode")
        {
            return;
        }
        let code = match self.record_currency(kind, index) {
            Some(code) if self.features.multi_currency => code,
            _ => {
                values.push(Val::Null);
                return;
            }
        };
        let corporate = self.corporate_currency();
        // Price book entries and line items are generated in their own currency.
        let priced_in_own_currency = matches!(
            kind,
            Generated::PricebookEntry | Generated::OpportunityLineItem
        ) || commerce::COMMERCE.contains(&kind);
        if code != corporate && !priced_in_own_currency {
            let (rate, places) = crate::schema::currency(code);
            let (corporate_rate, _) = crate::schema::currency(corporate);
            let factor = rate / corporate_rate;
            let scale = 10f64.powi(places as i32);
            for (field, value) in object.fields.iter().zip(values.iter_mut()) {
                if let (crate::schema::FieldType::Currency, Val::Num(amount)) =
                    (field.ftype, &*value)
                {
                    *value = Val::Num((amount * factor * scale).round() / scale);
                }
            }
        }
        values.push(Val::Str(code.to_string()));
    }

    fn generate_fields(&self, kind: Generated, index: u64) -> Vec<Val> {
        match kind {
            Generated::User => self.user(index),
            Generated::Account => self.account(index),
            Generated::Contact => self.contact(index),
            Generated::Lead => self.lead(index),
            Generated::Opportunity => self.opportunity(index),
            Generated::OpportunityContactRole => self.contact_role(index),
            Generated::OpportunityStage => self.stage(index),
            Generated::RecordType => self.record_type(index),
            Generated::Task => self.task(index),
            Generated::Event => self.event(index),
            Generated::EventRelation => self.event_relation(index),
            Generated::Note => self.note(index),
            Generated::ContentNote => self.content_note(index),
            Generated::Attachment => self.attachment(index),
            Generated::ContentVersion => self.content_version(index),
            Generated::ContentDocument => self.content_document(index),
            Generated::ContentDocumentLink => self.content_link(index),
            Generated::EmailMessage => self.email_message(index),
            Generated::Campaign => self.campaign(index),
            Generated::CampaignMember => self.campaign_member(index),
            Generated::Case => self.case(index),
            Generated::Project => self.project(index),
            Generated::Report => self.report(index),
            Generated::Dashboard => self.dashboard(index),
            Generated::ApexClass => self.apex_class(index),
            Generated::ApexTrigger => self.apex_trigger(index),
            Generated::FlowDefinitionView => self.flow(index),
            Generated::ValidationRule => self.validation_rule(index),
            Generated::WorkflowRule => self.workflow_rule(index),
            Generated::ApexPage => self.apex_page(index),
            Generated::Organization => self.organization(index),
            Generated::CurrencyType => self.currency_type(index),
            Generated::Group => self.group(index),
            Generated::QueueSobject => self.queue_sobject(index),
            Generated::Product2 => self.product(index),
            Generated::Pricebook2 => self.price_book(index),
            Generated::PricebookEntry => self.price_book_entry(index),
            Generated::OpportunityLineItem => self.line_item(index),
            Generated::EmailMessageRelation => self.email_relation(index),
            Generated::CaseComment => self.case_comment(index),
            Generated::Contract => self.contract(index),
            Generated::Order => self.order(index),
            Generated::OrderItem => self.order_item(index),
            Generated::Quote => self.quote(index),
            Generated::QuoteLineItem => self.quote_line_item(index),
            Generated::Asset => self.asset(index),
            Generated::AccountContactRelation => self.account_contact_relation(index),
            Generated::KnowledgeArticleVersion => self.knowledge_article_version(index),
            Generated::DataCategorySelection => self.data_category_selection(index),
            Generated::KnowledgeArticle => self.knowledge_article(index),
        }
    }

    fn apply_overlay(&self, kind: Generated, index: u64, values: &mut [Val]) {
        let Ok(overlay) = self.overlay.read() else {
            return;
        };
        let object = generated_object(kind);
        let stamp = |at: i64, values: &mut [Val]| {
            for name in ["LastModifiedDate", "SystemModstamp"] {
                if let Some(slot) = object.field_index(name).and_then(|i| values.get_mut(i)) {
                    *slot = Val::DateTime(at);
                }
            }
        };
        if let Some(&at) = overlay.modified.get(&(kind, index)) {
            stamp(at, values);
            if let Some(i) = touched_field(kind) {
                let limit = object.fields[i].length as usize;
                let changed = match &values[i] {
                    Val::Str(s) => format!("{s} (updated)"),
                    _ => "Updated".to_string(),
                };
                let start = changed.chars().count().saturating_sub(limit);
                values[i] = Val::Str(changed.chars().skip(start).collect());
            }
        }
        if let Some(&at) = overlay.deleted.get(&(kind, index)) {
            stamp(at, values);
            if let Some(slot) = object
                .field_index("IsDeleted")
                .and_then(|i| values.get_mut(i))
            {
                *slot = Val::Bool(true);
            }
        }
    }

    /// Changes records "now", as a user working in the org would: `modify` live
    /// records get a new value and `LastModifiedDate`/`SystemModstamp` = `now` (Unix
    /// seconds), then `delete` other live records are soft-deleted at `now`. Records
    /// are taken in id order, skipping ones already changed; fewer are changed when the
    /// object runs out.
    pub fn mutate(
        &self,
        object: &str,
        modify: u64,
        delete: u64,
        now: i64,
    ) -> Result<Mutation, MutateError> {
        let kind = Generated::ALL
            .into_iter()
            .find(|k| !k.is_tooling() && k.object_name().eq_ignore_ascii_case(object))
            .ok_or_else(|| MutateError::UnknownObject(object.to_string()))?;
        if delete > 0 && !soft_deletes(kind) {
            return Err(MutateError::NotDeletable(kind.object_name().to_string()));
        }
        let count = self.count(kind);
        let mut overlay = self
            .overlay
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut cursor = overlay.cursor.get(&kind).copied().unwrap_or(0);
        let mut mutation = Mutation::default();
        let mut deleted = 0;
        while cursor < count && (mutation.modified.len() as u64) < modify + delete {
            let index = cursor;
            cursor += 1;
            if self.statically_deleted(kind, index)
                || overlay.deleted.contains_key(&(kind, index))
                || overlay.modified.contains_key(&(kind, index))
            {
                continue;
            }
            if (mutation.modified.len() as u64) < modify {
                overlay.modified.insert((kind, index), now);
                mutation.modified.push(self.id(kind, index));
            } else {
                // A person account and its person contact are one record: deleting either
                // deletes both; an email goes with its companion task and its relations,
                // a series' main record with its occurrences.
                for (kind, index) in self.deleted_with(kind, index) {
                    if overlay.deleted.contains_key(&(kind, index)) {
                        continue;
                    }
                    overlay.deleted.insert((kind, index), now);
                    *overlay.deleted_per_kind.entry(kind).or_insert(0) += 1;
                    mutation.deleted.push(self.id(kind, index));
                }
                deleted += 1;
                if deleted == delete {
                    break;
                }
            }
            if mutation.modified.len() as u64 == modify && delete == 0 {
                break;
            }
        }
        overlay.cursor.insert(kind, cursor);
        self.changes.store(
            overlay.modified.len() + overlay.deleted.len(),
            Ordering::Release,
        );
        Ok(mutation)
    }

    /// The binary body of a `base64` field of a record, if the record has one.
    pub fn blob(&self, kind: Generated, index: u64) -> Option<Blob> {
        if index >= self.count(kind) {
            return None;
        }
        let len = match kind {
            Generated::Attachment | Generated::ContentVersion => blob_len(self.seed, kind, index),
            Generated::ContentNote => self.note_html(index).len() as u64,
            _ => return None,
        };
        Some(Blob { kind, index, len })
    }

    /// Bytes `offset..offset + len` of a blob (clamped to its end). Generated afresh on
    /// every call, so a body costs memory only while a chunk of it is being sent.
    pub fn blob_bytes(&self, blob: &Blob, offset: u64, len: u64) -> Vec<u8> {
        let end = blob.len.min(offset.saturating_add(len));
        if offset >= end {
            return Vec::new();
        }
        if blob.kind == Generated::ContentNote {
            let html = self.note_html(blob.index);
            return html.as_bytes()[offset as usize..end as usize].to_vec();
        }
        let key = self.seed ^ splitmix64(SALT_BLOB ^ salt(blob.kind)) ^ splitmix64(blob.index);
        (offset..end)
            .map(|p| (splitmix64(key ^ (p / 8)) >> (8 * (p % 8))) as u8)
            .collect()
    }

    /// A live record of `kind` picked at random, as a reference value; `Null` when the
    /// object is empty. A pick landing on a soft-deleted slot takes its neighbour.
    fn live_ref(&self, kind: Generated, rng: &mut Rng) -> Val {
        let n = self.count(kind);
        if n == 0 {
            return Val::Null;
        }
        let mut index = rng.below(n);
        while index > 0 && self.statically_deleted(kind, index) {
            index -= 1;
        }
        Val::Str(self.id(kind, index))
    }

    /// Like [`Org::live_ref`], among the records before `bound`; `Null` when there is
    /// none.
    fn live_ref_below(&self, kind: Generated, rng: &mut Rng, bound: u64) -> Val {
        let mut index = rng.below(bound.min(self.count(kind)).max(1));
        while index > 0 && self.statically_deleted(kind, index) {
            index -= 1;
        }
        if index >= bound {
            return Val::Null;
        }
        Val::Str(self.id(kind, index))
    }

    /// The parent of account `index`.
    ///
    /// Accounts come in blocks of ten: the sixth of each block (offset 5) is a root;
    /// offsets 3, 4 and 6 are its children, and offset 7 is the child of offset 6, a
    /// second level. Offsets 3 and 4 therefore come before their parent, which a loader
    /// has to cope with. Parents always exist and are never soft-deleted, and every
    /// chain ends at a root, so the hierarchy is acyclic. Four accounts in ten have a
    /// parent.
    pub fn account_parent(&self, index: u64) -> Option<u64> {
        let block = index - index % 10;
        let parent = match index % 10 {
            3 | 4 | 6 => block + 5,
            7 => block + 6,
            _ => return None,
        };
        (parent < self.count(Generated::Account)).then_some(parent)
    }

    /// Creation, last-modification and system-modstamp times of record `index` of an
    /// object holding `count` records. Creation times grow with the index, as ids do.
    /// A quarter of the records created before [`MASS_UPDATE`] were last touched by it,
    /// so they share one `SystemModstamp`.
    fn audit_times(rng: &mut Rng, index: u64, count: u64) -> (i64, i64, i64) {
        let start = HISTORY_START_DAY * 86_400;
        // Leave the last 200 days for modifications after creation.
        let span = ((HISTORY_END_DAY - HISTORY_START_DAY - 200) * 86_400) as u64;
        let step = (span / count.max(1)).max(1);
        let created = start + (index.min(count) * step + rng.below(step)) as i64;
        if created < MASS_UPDATE && rng.chance(25) {
            return (created, MASS_UPDATE, MASS_UPDATE);
        }
        let modified = created + rng.below(200 * 86_400) as i64;
        let modstamp = modified + rng.below(5) as i64;
        (created, modified, modstamp)
    }

    fn audit(&self, rng: &mut Rng, kind: Generated, index: u64) -> [Val; 3] {
        let (c, m, s) = Self::audit_times(rng, index, self.count(kind));
        [Val::DateTime(c), Val::DateTime(m), Val::DateTime(s)]
    }

    fn owner(&self, rng: &mut Rng) -> Val {
        Val::Str(self.id(
            Generated::User,
            rng.below(self.count(Generated::User).max(1)),
        ))
    }

    /// The queue that owns record `index` of `kind` (a lead or a case), for `percent` of
    /// the records, drawn from its own stream: one of the queues whose `QueueSobject`
    /// rows name the object.
    fn queue_owner(&self, kind: Generated, index: u64, percent: u64) -> Option<Val> {
        let mut rng = Rng::for_record(self.seed, SALT_QUEUE ^ salt(kind), index);
        if !rng.chance(percent) {
            return None;
        }
        let object = kind.object_name();
        let queues: Vec<u64> = queue_objects()
            .into_iter()
            .filter(|(_, owned)| *owned == object)
            .map(|(group, _)| group)
            .collect();
        let group = *queues.get(rng.below(queues.len() as u64) as usize)?;
        Some(Val::Str(self.id(Generated::Group, group)))
    }

    /// Group `index` of [`GROUPS`]: queues and public groups, owned by the integration user.
    fn group(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Group;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let (name, developer_name, group_type, email, _) =
            GROUPS.get(index as usize).copied().unwrap_or(GROUPS[0]);
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Str(name.to_string()),
            Val::Str(developer_name.to_string()),
            Val::Str(group_type.to_string()),
            email.map_or(Val::Null, |email| Val::Str(email.to_string())),
            Val::Bool(email.is_some()),
            Val::Bool(false),
            Val::Str(self.id(Generated::User, 0)),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    /// Row `index` of `QueueSobject`: one object a queue may own.
    fn queue_sobject(&self, index: u64) -> Vec<Val> {
        let kind = Generated::QueueSobject;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let rows = queue_objects();
        let (group, object) = rows.get(index as usize).copied().unwrap_or((0, "Lead"));
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Str(self.id(Generated::Group, group)),
            Val::Str(object.to_string()),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    fn deleted(&self, kind: Generated, index: u64) -> Val {
        Val::Bool(self.statically_deleted(kind, index))
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
        let mut values = vec![
            Val::Str(self.id(Generated::User, index)),
            Val::Str(username),
            Val::Str(last.0.to_string()),
            Val::Str(first.0.to_string()),
            Val::Str(format!("{} {}", first.0, last.0)),
            Val::Str(email),
            Val::Bool(active),
        ];
        values.extend(self.audit(&mut rng, Generated::User, index));
        values
    }

    fn account(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Account;
        let mut rng = Rng::for_record(self.seed, SALT_ACCOUNT, index);
        let name = company_name(&mut rng);
        let slug: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(24)
            .collect::<String>()
            .to_lowercase();
        let account_type = opt(&mut rng, 90, |r| {
            Val::Str(r.pick(ACCOUNT_TYPES).to_string())
        });
        let parent = Val::opt_str(self.account_parent(index).map(|p| self.id(kind, p)));
        let billing = address(&mut rng);
        let phone = opt(&mut rng, 95, |r| Val::Str(phone(r)));
        let website = if rng.chance(10) || slug.is_empty() {
            Val::Null
        } else {
            Val::Str(format!("https://www.{slug}.example.com"))
        };
        let industry = opt(&mut rng, 90, |r| Val::Str(r.pick(INDUSTRIES).to_string()));
        let revenue = opt(&mut rng, 85, |r| {
            Val::Num((r.below(5_000) * 100_000) as f64)
        });
        let employees = opt(&mut rng, 90, |r| {
            // Mostly small firms, a few very large ones.
            let scale = *r.pick(&[10u64, 100, 1_000, 10_000, 100_000]);
            Val::Int(1 + r.below(scale) as i64)
        });
        let description = opt(&mut rng, 70, |r| Val::Str(r.pick(DESCRIPTIONS).to_string()));
        let owner = self.owner(&mut rng);
        let audit = self.audit(&mut rng, kind, index);
        let tier = opt(&mut rng, 85, |r| Val::Str(r.pick(TIERS).to_string()));
        let since = opt(&mut rng, 80, |r| {
            Val::Date(days_from_civil(2005, 1, 1) + r.below(7_000) as i64)
        });
        let health = opt(&mut rng, 90, |r| Val::Num(r.below(10_001) as f64 / 100.0));
        let strategic = Val::Bool(rng.chance(20));
        let shipping = if rng.chance(60) {
            billing.clone()
        } else {
            address(&mut rng)
        };
        let primary = opt(&mut rng, 50, |r| self.live_ref(Generated::Contact, r));
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            Val::Str(name),
            account_type,
            parent,
        ];
        values.extend(billing);
        values.extend([
            phone,
            website,
            industry,
            revenue,
            employees,
            description,
            owner,
        ]);
        values.extend(audit);
        values.extend([tier, since, health, strategic]);
        values.extend(shipping);
        values.extend(every_type_values(&mut rng, primary));
        match self.person_contact_of(index) {
            Some(contact) => {
                let person = self.person_values(index, contact);
                // A person account's name is the person's: "First Last".
                values[2] = Val::Str(format!(
                    "{} {}",
                    person[1].as_str().unwrap_or_default(),
                    person[2].as_str().unwrap_or_default()
                ));
                values.extend(person);
            }
            None => {
                values.push(Val::Bool(false));
                values.extend(std::iter::repeat_n(Val::Null, PERSON_FIELDS - 1));
            }
        }
        values
    }

    /// Whether account `index` is a person account. In an org with person accounts, half of
    /// the accounts outside the hierarchy (offsets 0, 1, 2, 8 and 9 of each block of ten, see
    /// [`Org::account_parent`]: a person account has no parent and no child accounts) are,
    /// about a quarter of all accounts, drawn from a stream of their own; never a
    /// soft-deleted one, nor one whose person contact's slot is soft-deleted.
    pub fn is_person_account(&self, index: u64) -> bool {
        if !self.features.person_accounts
            || index >= self.count(Generated::Account)
            || !matches!(index % 10, 0 | 1 | 2 | 8 | 9)
            || self.statically_deleted(Generated::Account, index)
        {
            return false;
        }
        let contact = index * self.person_stride();
        contact < self.count(Generated::Contact)
            && !self.statically_deleted(Generated::Contact, contact)
            && Rng::for_record(self.seed, SALT_PERSON, index).chance(50)
    }

    /// Person account `a`'s person contact is contact `a * stride`: a bijection between
    /// person accounts and person contacts that either side computes without a search.
    fn person_stride(&self) -> u64 {
        (self.count(Generated::Contact) / self.count(Generated::Account).max(1)).max(1)
    }

    /// The index of the person contact of account `index`, if it is a person account.
    pub fn person_contact_of(&self, index: u64) -> Option<u64> {
        self.is_person_account(index)
            .then(|| index * self.person_stride())
    }

    /// The index of the person account whose person contact is contact `index`, if any.
    pub fn person_account_of(&self, index: u64) -> Option<u64> {
        if !self.features.person_accounts {
            return None;
        }
        let stride = self.person_stride();
        let account = index / stride;
        (index.is_multiple_of(stride) && self.is_person_account(account)).then_some(account)
    }

    /// The loyalty tier of person account `account`: its `Loyalty_Tier__pc`, and its person
    /// contact's `Loyalty_Tier__c`.
    fn loyalty_tier(&self, account: u64) -> Val {
        let mut rng = Rng::for_record(self.seed, SALT_PERSON_FIELDS ^ 1, account);
        opt(&mut rng, 80, |r| {
            Val::Str(r.pick(LOYALTY_TIERS).to_string())
        })
    }

    /// The person fields of person account `account`, in the order of the schema's person
    /// account fields: the name, e-mail, title and mailing address are its person
    /// contact's.
    fn person_values(&self, account: u64, contact: u64) -> Vec<Val> {
        let object = generated_object(Generated::Contact);
        let person = self.contact(contact);
        let of = |name: &str| {
            object
                .field_index(name)
                .and_then(|i| person.get(i).cloned())
                .unwrap_or(Val::Null)
        };
        let mut rng = Rng::for_record(self.seed, SALT_PERSON_FIELDS, account);
        let salutation = opt(&mut rng, 60, |r| Val::Str(r.pick(SALUTATIONS).to_string()));
        let mobile = opt(&mut rng, 70, |r| Val::Str(phone(r)));
        let home = opt(&mut rng, 30, |r| Val::Str(phone(r)));
        let birthdate = opt(&mut rng, 60, |r| {
            Val::Date(days_from_civil(1950, 1, 1) + r.below(50 * 365) as i64)
        });
        let mut values = vec![
            Val::Bool(true),
            of("FirstName"),
            of("LastName"),
            salutation,
            Val::Str(self.id(Generated::Contact, contact)),
            of("Email"),
            of("Title"),
            mobile,
            home,
            birthdate,
        ];
        values.extend(
            [
                "MailingStreet",
                "MailingCity",
                "MailingState",
                "MailingPostalCode",
                "MailingCountry",
                "MailingAddress",
            ]
            .map(of),
        );
        values.push(self.loyalty_tier(account));
        values
    }

    /// Record `index` of `kind`, and its person account or person contact if it has one.
    fn with_person_partner(&self, kind: Generated, index: u64) -> Vec<(Generated, u64)> {
        let partner = match kind {
            Generated::Account => self
                .person_contact_of(index)
                .map(|c| (Generated::Contact, c)),
            Generated::Contact => self
                .person_account_of(index)
                .map(|a| (Generated::Account, a)),
            _ => None,
        };
        std::iter::once((kind, index)).chain(partner).collect()
    }

    /// Record `index` of `kind` and what Salesforce deletes with it: its person account or
    /// person contact; an email's companion task and relations (and a companion task's
    /// email with them); the occurrences of a series' main record.
    fn deleted_with(&self, kind: Generated, index: u64) -> Vec<(Generated, u64)> {
        let mut records = self.with_person_partner(kind, index);
        let email = match kind {
            Generated::EmailMessage => Some(index),
            Generated::Task => self.email_of_task(index),
            _ => None,
        };
        if let Some(email) = email {
            records.clear();
            records.push((Generated::EmailMessage, email));
            records.extend(self.email_task_of(email).map(|t| (Generated::Task, t)));
            records.push((Generated::EmailMessageRelation, email * 2));
            records.push((Generated::EmailMessageRelation, email * 2 + 1));
            // The record asked for first, as the mutation reports it.
            if let Some(at) = records.iter().position(|r| *r == (kind, index)) {
                records.swap(0, at);
            }
        }
        records.extend(
            self.occurrences_of(kind, index)
                .into_iter()
                .map(|occurrence| (kind, occurrence)),
        );
        if kind == Generated::Case {
            records.extend(
                (index * CASE_COMMENTS..(index + 1) * CASE_COMMENTS)
                    .filter(|&comment| comment < self.count(Generated::CaseComment))
                    .map(|comment| (Generated::CaseComment, comment)),
            );
        }
        records
    }

    /// `account` (a reference drawn from the accounts), or, when it is a person account,
    /// the nearest earlier business account: a business contact never belongs to a person.
    fn business_account(&self, account: Val) -> Val {
        let Some(mut index) = account
            .as_str()
            .and_then(|id| self.index_of(Generated::Account, id))
        else {
            return account;
        };
        if !self.is_person_account(index) {
            return account;
        }
        while index > 0 {
            index -= 1;
            if !self.is_person_account(index) && !self.statically_deleted(Generated::Account, index)
            {
                return Val::Str(self.id(Generated::Account, index));
            }
        }
        Val::Null
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

    /// Ground truth of contact `index`'s e-mail, as the generator chose it: what a dry run
    /// of this org must find.
    pub fn contact_email_kind(&self, index: u64) -> EmailKind {
        match self.contact_email_bucket(index).0 {
            0..=2 => EmailKind::Missing,
            3 | 4 => EmailKind::Invalid,
            5..=7 if index > 0 => EmailKind::Duplicate,
            _ => EmailKind::Unique,
        }
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
        let kind = Generated::Contact;
        let mut rng = Rng::for_record(self.seed, SALT_CONTACT, index);
        let account = if rng.chance(5) {
            Val::Null
        } else {
            self.business_account(self.live_ref(Generated::Account, &mut rng))
        };
        let person_account = self.person_account_of(index);
        // A person contact belongs to its person account.
        let account = person_account.map_or(account, |a| Val::Str(self.id(Generated::Account, a)));
        let (first, last) = self.contact_name(index);
        let address = address(&mut rng);
        let phone = opt(&mut rng, 90, |r| Val::Str(phone(r)));
        let title = opt(&mut rng, 85, |r| Val::Str(r.pick(TITLES).to_string()));
        let owner = self.owner(&mut rng);
        let audit = self.audit(&mut rng, kind, index);
        let channel = opt(&mut rng, 90, |r| Val::Str(r.pick(CHANNELS).to_string()));
        let opt_in = Val::Bool(rng.chance(40));
        let value = opt(&mut rng, 90, |r| {
            Val::Num(r.below(5_000_000) as f64 / 100.0)
        });
        // Managers come earlier in id order, so the reporting lines never loop.
        let reports_to = opt(&mut rng, 30, |r| self.live_ref_below(kind, r, index));
        let referred = opt(&mut rng, 20, |r| self.live_ref(kind, r));
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            account,
            Val::Str(last.0.to_string()),
            Val::Str(first.0.to_string()),
            Val::Str(format!("{} {}", first.0, last.0)),
        ];
        values.extend(address);
        values.extend([phone, self.contact_email(index), title, owner]);
        values.extend(audit);
        values.extend([channel, opt_in, value, reports_to]);
        values.extend(every_type_values(&mut rng, referred));
        values.push(Val::Bool(person_account.is_some()));
        values.push(person_account.map_or(Val::Null, |a| self.loyalty_tier(a)));
        values
    }

    fn lead(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Lead;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let (first, last) = (*rng.pick(FIRST_NAMES), *rng.pick(LAST_NAMES));
        let company = company_name(&mut rng);
        let title = opt(&mut rng, 70, |r| Val::Str(r.pick(TITLES).to_string()));
        let address = address(&mut rng);
        let phone = opt(&mut rng, 80, |r| Val::Str(phone(r)));
        let email = match rng.below(100) {
            0..=4 => Val::Null,
            5 | 6 => Val::Str(format!("{}.{}@", first.1, last.1)),
            _ => Val::Str(format!("{}.{}{index}@leads.example.com", first.1, last.1)),
        };
        let converted = rng.chance(12);
        let status = if converted {
            "Closed - Converted"
        } else {
            *rng.pick(&[LEAD_STATUS[0], LEAD_STATUS[1], LEAD_STATUS[3]])
        };
        let source = opt(&mut rng, 85, |r| Val::Str(r.pick(LEAD_SOURCES).to_string()));
        let industry = opt(&mut rng, 70, |r| Val::Str(r.pick(INDUSTRIES).to_string()));
        let mut owner = self.owner(&mut rng);
        // Salesforce converts only a lead a user owns, so a converted lead is never a queue's.
        if !converted && let Some(queue) = self.queue_owner(kind, index, QUEUE_LEADS_PERCENT) {
            owner = queue;
        }
        let [created, modified, stamp] = self.audit(&mut rng, kind, index);
        let (date, account, contact, opportunity) = if converted {
            let day = match created {
                Val::DateTime(s) => s.div_euclid(86_400) + rng.below(60) as i64,
                _ => HISTORY_START_DAY,
            };
            let opportunity = opt(&mut rng, 80, |r| self.live_ref(Generated::Opportunity, r));
            (
                Val::Date(day),
                self.live_ref(Generated::Account, &mut rng),
                self.live_ref(Generated::Contact, &mut rng),
                opportunity,
            )
        } else {
            (Val::Null, Val::Null, Val::Null, Val::Null)
        };
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            Val::Str(last.0.to_string()),
            Val::Str(first.0.to_string()),
            Val::Str(format!("{} {}", first.0, last.0)),
            Val::Str(company),
            title,
        ];
        values.extend(address);
        values.extend([
            phone,
            email,
            Val::Str(status.to_string()),
            source,
            industry,
            Val::Bool(converted),
            date,
            account,
            contact,
            opportunity,
            owner,
            created,
            modified,
            stamp,
        ]);
        values
    }

    fn opportunity(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Opportunity;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let account = opt(&mut rng, 95, |r| self.live_ref(Generated::Account, r));
        let record_type = Val::Str(self.id(Generated::RecordType, 2 + rng.below(2)));
        let name = format!(
            "{} – {} {}",
            rng.pick(COMPANY_WORDS),
            rng.pick(PRODUCTS),
            2019 + rng.below(6)
        );
        let description = opt(&mut rng, 60, |r| Val::Str(r.pick(DESCRIPTIONS).to_string()));
        let stage = match rng.below(100) {
            0..=29 => 8,
            30..=54 => 9,
            _ => rng.below(8) as usize,
        };
        let (stage_name, probability, closed, won, forecast) = STAGES[stage];
        let amount = opt(&mut rng, 95, |r| {
            Val::Num((1_000 + r.below(500_000)) as f64 + r.below(100) as f64 / 100.0)
        });
        let expected = match amount {
            Val::Num(a) => Val::Num((a * f64::from(probability)).round() / 100.0),
            _ => Val::Null,
        };
        let opportunity_type = opt(&mut rng, 80, |r| {
            Val::Str(r.pick(OPPORTUNITY_TYPES).to_string())
        });
        let source = opt(&mut rng, 70, |r| Val::Str(r.pick(LEAD_SOURCES).to_string()));
        let owner = self.owner(&mut rng);
        let audit = self.audit(&mut rng, kind, index);
        let close = match audit[0] {
            Val::DateTime(s) => Val::Date(s.div_euclid(86_400) + rng.below(180) as i64),
            _ => Val::Null,
        };
        let partner = opt(&mut rng, 15, |r| self.live_ref(Generated::Account, r));
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            account,
            record_type,
            Val::Str(name),
            description,
            Val::Str(stage_name.to_string()),
            amount,
            Val::Num(f64::from(probability)),
            expected,
            close,
            opportunity_type,
            source,
            Val::Bool(closed),
            Val::Bool(won),
            Val::Str(forecast.to_string()),
            owner,
        ];
        values.extend(audit);
        values.extend(every_type_values(&mut rng, partner));
        values.push(match self.opportunity_products(index) {
            Some((book, _)) => Val::Str(self.id(Generated::Pricebook2, book)),
            None => Val::Null,
        });
        values
    }

    /// The price book and the products of opportunity `index`'s line items, if it has any
    /// (even indexes): a stream of its own, so the opportunity's other values stay put.
    /// The products are two different ones, never the catalog's last (inactive) one.
    pub fn opportunity_products(&self, index: u64) -> Option<(u64, [u64; 2])> {
        if !index.is_multiple_of(2) || index >= self.count(Generated::Opportunity) {
            return None;
        }
        let mut rng = Rng::for_record(self.seed, SALT_PRODUCTS, index);
        let book = rng.below(PRICE_BOOKS.len() as u64);
        let sellable = PRODUCT_COUNT - 1;
        let first = rng.below(sellable);
        let second = (first + 1 + rng.below(sellable - 1)) % sellable;
        Some((book, [first, second]))
    }

    /// The price book entry of `product` in `book`, in the currency of `currency_block`.
    fn entry_index(&self, currency_block: u64, book: u64, product: u64) -> u64 {
        (currency_block * PRICE_BOOKS.len() as u64 + book) * PRODUCT_COUNT + product
    }

    /// The standard (list) price of product `index`, in the corporate currency.
    fn product_list_price(&self, index: u64) -> f64 {
        let mut rng = Rng::for_record(self.seed, SALT_PRODUCTS ^ salt(Generated::Product2), index);
        (100 + rng.below(99) * 100) as f64
    }

    /// The name and code of product `index`.
    fn product_name(index: u64) -> (String, String) {
        let base = PRODUCTS[(index % PRODUCTS.len() as u64) as usize];
        let edition = if index < PRODUCTS.len() as u64 {
            "Standard"
        } else {
            "Enterprise"
        };
        let code: String = base
            .split_whitespace()
            .filter_map(|word| word.chars().next())
            .collect();
        (
            format!("{base} ({edition})"),
            format!("{code}-{}", &edition[..3].to_uppercase()),
        )
    }

    fn product(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Product2;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let (name, code) = Self::product_name(index);
        let family = match index % PRODUCTS.len() as u64 {
            0 | 6 => "Software",
            4 => "Hardware",
            _ => "Services",
        };
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            Val::Str(name),
            Val::Str(code.clone()),
            opt(&mut rng, 70, |r| Val::Str(r.pick(DESCRIPTIONS).to_string())),
            // The catalog's last product is retired: inactive, in no opportunity.
            Val::Bool(index + 1 < PRODUCT_COUNT),
            Val::Str(family.to_string()),
            Val::Str(format!("SKU-{code}-{:04}", 1000 + index)),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    fn price_book(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Pricebook2;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let (name, description, _) = PRICE_BOOKS[(index as usize).min(PRICE_BOOKS.len() - 1)];
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            Val::Str(name.to_string()),
            Val::Bool(true),
            Val::Str(description.to_string()),
            Val::Bool(index == 0),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    /// Entry `index`: blocks of one currency (the corporate one first), each holding every
    /// product in every price book, the standard book first, so every custom entry has the
    /// standard entry of its product and currency (Salesforce requires it).
    fn price_book_entry(&self, index: u64) -> Vec<Val> {
        let kind = Generated::PricebookEntry;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let product = index % PRODUCT_COUNT;
        let book = index / PRODUCT_COUNT % PRICE_BOOKS.len() as u64;
        let code = self
            .record_currency(kind, index)
            .filter(|_| self.features.multi_currency)
            .unwrap_or(self.corporate_currency());
        let list = self.product_list_price(product);
        let (_, _, factor) = PRICE_BOOKS[book as usize];
        // A custom book uses the standard price for some products.
        let use_standard = book != 0 && rng.chance(25);
        let price = if use_standard { list } else { list * factor };
        let (name, product_code) = Self::product_name(product);
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            Val::Str(name),
            Val::Str(self.id(Generated::Pricebook2, book)),
            Val::Str(self.id(Generated::Product2, product)),
            Val::Num(self.in_currency(price, code)),
            Val::Bool(product + 1 < PRODUCT_COUNT),
            Val::Bool(use_standard),
            Val::Str(product_code),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    /// The price book entry line item `index` is sold from: its product in its
    /// opportunity's price book and currency.
    pub fn line_item_entry(&self, index: u64) -> Option<u64> {
        let opportunity = line_item_opportunity(index);
        let (book, products) = self.opportunity_products(opportunity)?;
        let block = match self.record_currency(Generated::Opportunity, opportunity) {
            Some(code) if self.features.multi_currency => self
                .currencies()
                .iter()
                .position(|c| *c == code)
                .unwrap_or(0) as u64,
            _ => 0,
        };
        let product = products[(index % ITEMS_PER_OPPORTUNITY) as usize];
        Some(self.entry_index(block, book, product))
    }

    fn line_item(&self, index: u64) -> Vec<Val> {
        let kind = Generated::OpportunityLineItem;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let opportunity = line_item_opportunity(index);
        let entry = self.line_item_entry(index).unwrap_or(0);
        let entry_values = self.generate_fields(Generated::PricebookEntry, entry);
        let list = match entry_values.get(5) {
            Some(Val::Num(price)) => *price,
            _ => 0.0,
        };
        let product = entry % PRODUCT_COUNT;
        let (product_name, product_code) = Self::product_name(product);
        let opportunity_name = match self.opportunity(opportunity).get(4) {
            Some(Val::Str(name)) => name.clone(),
            _ => String::new(),
        };
        let quantity = (1 + rng.below(20)) as f64;
        let discount = opt(&mut rng, 30, |r| Val::Num((5 * (1 + r.below(6))) as f64));
        let scale = 10f64.powi(self.places(kind, index) as i32);
        let off = match discount {
            Val::Num(percent) => percent / 100.0,
            _ => 0.0,
        };
        let total = (list * quantity * (1.0 - off) * scale).round() / scale;
        let audit = self.audit(&mut rng, kind, index);
        let service = match audit[0] {
            Val::DateTime(s) => opt(&mut rng, 50, |r| {
                Val::Date(s.div_euclid(86_400) + r.below(90) as i64)
            }),
            _ => Val::Null,
        };
        let description = opt(&mut rng, 30, |r| Val::Str(r.pick(DESCRIPTIONS).to_string()));
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            Val::Str(self.id(Generated::Opportunity, opportunity)),
            Val::Int((1 + index % ITEMS_PER_OPPORTUNITY) as i64),
            Val::Str(self.id(Generated::PricebookEntry, entry)),
            Val::Str(self.id(Generated::Product2, product)),
            Val::Str(product_code),
            Val::Str(format!("{opportunity_name} {product_name}")),
            Val::Num(quantity),
            Val::Num(total),
            Val::Num(list),
            Val::Num(list),
            service,
            description,
            discount,
        ];
        values.extend(audit);
        values
    }

    /// The contact of AccountContactRelation `index`: contact `index` for the first
    /// slots (one per contact), then every fourth contact from the second.
    pub fn relation_contact(&self, index: u64) -> u64 {
        let contacts = self.count(Generated::Contact);
        if index < contacts {
            index
        } else {
            (index - contacts) * CONTACTS_PER_INDIRECT + 1
        }
    }

    /// AccountContactRelation `index`: the first slots are each contact's relation to its
    /// own account (`IsDirect`, the account `Contact.AccountId` names; a contact without
    /// one is related to another account instead, indirectly), the rest relate a contact
    /// to a business account other than its own.
    fn account_contact_relation(&self, index: u64) -> Vec<Val> {
        let kind = Generated::AccountContactRelation;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let contact = self.relation_contact(index);
        let contact_values = self.generate_fields(Generated::Contact, contact);
        let own = contact_values.get(2).cloned().unwrap_or(Val::Null);
        let direct = index < self.count(Generated::Contact) && !own.is_null();
        let account = if direct {
            own
        } else {
            let mut other = self.business_account(self.live_ref(Generated::Account, &mut rng));
            // Never the contact's own account: that relation is the direct one.
            if other == own {
                other = self.live_ref(Generated::Account, &mut rng);
                other = self.business_account(other);
            }
            other
        };
        let roles: Vec<&str> = crate::schema::RELATION_ROLES
            .iter()
            .copied()
            .filter(|_| rng.chance(if direct { 15 } else { 30 }))
            .collect();
        let roles = if roles.is_empty() {
            Val::Null
        } else {
            Val::Str(roles.join(";"))
        };
        let active = Val::Bool(direct || rng.chance(80));
        let audit = self.audit(&mut rng, kind, index);
        let (start, end) = match audit[0] {
            Val::DateTime(created) if !direct || rng.chance(30) => {
                let start = created.div_euclid(86_400) - rng.below(400) as i64;
                let end = if active == Val::Bool(false) {
                    Val::Date(start + 30 + rng.below(300) as i64)
                } else {
                    Val::Null
                };
                (Val::Date(start), end)
            }
            _ => (Val::Null, Val::Null),
        };
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            account,
            Val::Str(self.id(Generated::Contact, contact)),
            roles,
            Val::Bool(direct),
            active,
            start,
            end,
        ];
        values.extend(audit);
        values
    }

    /// Where Knowledge__kav record `index` stands: versions are numbered article by
    /// article, [`ARTICLE_VERSIONS`] each. By article index modulo 10: 0, 6 and 9 are
    /// published with a newer draft in progress, 4 is archived (every version archived),
    /// 7 was never published (its one version a draft), the others are published; a
    /// published article's one online version is its latest published one, the earlier
    /// ones archived.
    pub fn article_version(&self, index: u64) -> ArticleVersion {
        let (article, number) = periodic_owner(&ARTICLE_VERSIONS, false, index);
        let versions = ARTICLE_VERSIONS[(article % 10) as usize];
        let has_draft = matches!(article % 10, 0 | 6 | 9);
        let status = match article % 10 {
            7 => PublishStatus::Draft,
            4 => PublishStatus::Archived,
            _ if has_draft && number + 1 == versions => PublishStatus::Draft,
            _ if number + 1 + u64::from(has_draft) == versions => PublishStatus::Online,
            _ => PublishStatus::Archived,
        };
        ArticleVersion {
            article,
            number,
            versions,
            status,
        }
    }

    /// The data categories of article `article`, (group, category), one or two.
    pub fn article_categories(&self, article: u64) -> Vec<(&'static str, &'static str)> {
        let count = ARTICLE_CATEGORIES[(article % 10) as usize];
        (0..count)
            .map(|group| {
                let (name, categories) = DATA_CATEGORY_GROUPS[group as usize];
                let mut rng = Rng::for_record(self.seed, SALT_CATEGORY ^ group, article);
                (name, *rng.pick(categories))
            })
            .collect()
    }

    /// Article `index` itself (`KnowledgeArticle`): its number and publication dates, as
    /// its versions have them.
    fn knowledge_article(&self, index: u64) -> Vec<Val> {
        let first = periodic_sum(&ARTICLE_VERSIONS, index);
        let versions = ARTICLE_VERSIONS[(index % 10) as usize];
        let version = |n: u64| self.knowledge_article_version(first + n);
        let first_version = version(0);
        let latest = (0..versions)
            .map(version)
            .rfind(|v| v[9] != Val::Str("Draft".to_string()))
            .unwrap_or_else(|| first_version.clone());
        let archived = if index % 10 == 4 {
            latest[19].clone()
        } else {
            Val::Null
        };
        vec![
            Val::Str(self.id(Generated::KnowledgeArticle, index)),
            Val::Bool(false),
            first_version[16].clone(),
            first_version[17].clone(),
            latest[18].clone(),
            archived,
            Val::Str("en_US".to_string()),
            first_version[20].clone(),
            latest[21].clone(),
            latest[22].clone(),
        ]
    }

    fn knowledge_article_version(&self, index: u64) -> Vec<Val> {
        let kind = Generated::KnowledgeArticleVersion;
        let place = self.article_version(index);
        let article = place.article;
        // Drawn per article, so every version of an article shares its topic and owner.
        let mut rng = Rng::for_record(self.seed, salt(kind), article);
        let topic = *rng.pick(KNOWLEDGE_TOPICS);
        let product = self
            .article_categories(article)
            .first()
            .map_or("Software", |(_, category)| *category);
        let owner = self.owner(&mut rng);
        let visible_pkb = rng.chance(60);
        let visible_csp = rng.chance(70);
        let visible_prm = rng.chance(30);
        let mut audit_rng = Rng::for_record(self.seed, salt(kind) ^ 0x5645_5253, index);
        let audit = self.audit(&mut audit_rng, kind, index);
        let created = match audit[0] {
            Val::DateTime(at) => at,
            _ => 0,
        };
        let number = place.number + 1;
        let title = if number == 1 {
            format!("How to {topic} ({product})")
        } else {
            format!("How to {topic} ({product}), revision {number}")
        };
        let slug: String = format!("how-to-{topic}-{product}-{article}")
            .to_lowercase()
            .replace(' ', "-");
        let summary = format!("Steps to {topic} on {product}.");
        let answer = format!(
            "<p>To {topic}:</p><ol><li>Open <b>{product}</b> settings.</li><li>Follow the prompts (version {number}).</li></ol>"
        );
        let published = place.status != PublishStatus::Draft;
        let first_published = if article % 10 == 7 {
            Val::Null
        } else {
            Val::DateTime(created)
        };
        let last_published = if published {
            Val::DateTime(created + 3_600)
        } else {
            first_published.clone()
        };
        let archived = if place.status == PublishStatus::Archived {
            Val::DateTime(created + 86_400 * 30)
        } else {
            Val::Null
        };
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Bool(false),
            Val::Str(self.id(Generated::KnowledgeArticle, article)),
            owner,
            Val::Str(title),
            Val::Str(slug),
            Val::Str(summary),
            Val::Str(answer),
            Val::Str("en_US".to_string()),
            Val::Str(place.status.as_str().to_string()),
            Val::Int(number as i64),
            Val::Bool(number == place.versions),
            Val::Bool(true),
            Val::Bool(visible_pkb),
            Val::Bool(visible_csp),
            Val::Bool(visible_prm),
            Val::Str(format!("{:09}", 1_000 + article)),
            first_published,
            last_published,
            archived,
        ];
        values.extend(audit);
        values
    }

    /// Knowledge__DataCategorySelection `index`: selections are numbered version by
    /// version, each version of an article carrying the article's categories.
    fn data_category_selection(&self, index: u64) -> Vec<Val> {
        let kind = Generated::DataCategorySelection;
        let (article, rest) = periodic_owner(&ARTICLE_SELECTIONS, false, index);
        let per_version = ARTICLE_CATEGORIES[(article % 10) as usize];
        let version = periodic_sum(&ARTICLE_VERSIONS, article) + rest / per_version;
        let categories = self.article_categories(article);
        let (group, category) = categories[(rest % per_version) as usize];
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let audit = self.audit(&mut rng, kind, index);
        vec![
            Val::Str(self.id(kind, index)),
            Val::Bool(false),
            Val::Str(self.id(Generated::KnowledgeArticleVersion, version)),
            Val::Str(group.to_string()),
            Val::Str(category.to_string()),
            audit[0].clone(),
            audit[2].clone(),
        ]
    }

    fn contact_role(&self, index: u64) -> Vec<Val> {
        let kind = Generated::OpportunityContactRole;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            self.live_ref(Generated::Opportunity, &mut rng),
            self.live_ref(Generated::Contact, &mut rng),
            opt(&mut rng, 90, |r| {
                Val::Str(r.pick(CONTACT_ROLES).to_string())
            }),
            Val::Bool(rng.chance(30)),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    fn stage(&self, index: u64) -> Vec<Val> {
        let kind = Generated::OpportunityStage;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let (name, probability, closed, won, forecast) =
            STAGES[(index as usize).min(STAGES.len() - 1)];
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Str(name.to_string()),
            Val::Str(name.to_string()),
            Val::Bool(true),
            Val::Int(index as i64 + 1),
            Val::Bool(closed),
            Val::Bool(won),
            Val::Str(forecast.to_string()),
            Val::Num(f64::from(probability)),
            Val::Null,
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    fn record_type(&self, index: u64) -> Vec<Val> {
        let kind = Generated::RecordType;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let (object, name, developer) = RECORD_TYPES[(index as usize).min(RECORD_TYPES.len() - 1)];
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Str(name.to_string()),
            Val::Str(developer.to_string()),
            Val::Null,
            Val::Str(format!("{name} records of {object}")),
            Val::Str(object.to_string()),
            Val::Bool(true),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    /// WhoId and WhatId of an activity: mostly a contact and their account or an
    /// opportunity; a lead's activities relate to nothing else, as Salesforce requires.
    fn who_what(&self, rng: &mut Rng) -> (Val, Val) {
        let who_kind = rng.below(10);
        let who = match who_kind {
            0..=6 => self.live_ref(Generated::Contact, rng),
            7 | 8 => self.live_ref(Generated::Lead, rng),
            _ => Val::Null,
        };
        let what = if (7..=8).contains(&who_kind) {
            Val::Null
        } else {
            match rng.below(10) {
                0..=4 => self.live_ref(Generated::Account, rng),
                5..=7 => self.live_ref(Generated::Opportunity, rng),
                8 => self.live_ref(Generated::Case, rng),
                _ => Val::Null,
            }
        };
        (who, what)
    }

    fn task(&self, index: u64) -> Vec<Val> {
        if let Some(email) = self.email_of_task(index) {
            return self.email_task(index, email);
        }
        let kind = Generated::Task;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let (who, what) = self.who_what(&mut rng);
        let subtype = match rng.below(10) {
            0..=3 => "Call",
            4..=6 => "Email",
            _ => "Task",
        };
        let subject = match subtype {
            "Call" => format!("Call: {}", rng.pick(TOPICS)),
            "Email" => format!("Email: {}", rng.pick(TOPICS)),
            _ => rng.pick(TOPICS).to_string(),
        };
        let status = if rng.chance(60) {
            "Completed"
        } else {
            *rng.pick(TASK_STATUS)
        };
        let closed = status == "Completed";
        let priority = rng.pick(PRIORITIES).to_string();
        let (duration, call_type) = if subtype == "Call" {
            let duration = if closed {
                Val::Int(rng.below(3_600) as i64 + 15)
            } else {
                Val::Null
            };
            (duration, Val::Str(rng.pick(CALL_TYPES).to_string()))
        } else {
            (Val::Null, Val::Null)
        };
        let description = opt(&mut rng, 40, |r| Val::Str(r.pick(DESCRIPTIONS).to_string()));
        let owner = self.owner(&mut rng);
        let audit = self.audit(&mut rng, kind, index);
        let due = match audit[0] {
            Val::DateTime(s) if !rng.chance(10) => {
                Val::Date(s.div_euclid(86_400) + rng.below(30) as i64)
            }
            _ => Val::Null,
        };
        // A closed task is archived by its due date, or without one by its creation.
        let archived = closed
            && match (&due, &audit[0]) {
                (Val::Date(day), _) => day * 86_400 < ARCHIVE_BEFORE,
                (_, Val::DateTime(created)) => *created < ARCHIVE_BEFORE,
                _ => false,
            };
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            who,
            what,
            Val::Str(subject),
            due,
            Val::Str(status.to_string()),
            Val::Str(priority),
            Val::Bool(closed),
            Val::Str(subtype.to_string()),
            duration,
            call_type,
            description,
            owner,
        ];
        values.extend(audit);
        values.push(Val::Bool(archived));
        let start = match &values[5] {
            Val::Date(day) => *day,
            Val::Null => match &values[14] {
                Val::DateTime(created) => created.div_euclid(86_400),
                _ => HISTORY_START_DAY,
            },
            _ => HISTORY_START_DAY,
        };
        values.extend(self.recurrence(kind, index, start, None));
        values
    }

    /// The companion task of email `email` (Enhanced Email): the email's subject, its
    /// contact as `WhoId`, its `RelatedToId` as `WhatId` (a case email's task is about the
    /// case: `EmailMessage.ActivityId`, the task Email-to-Case creates for the case's owner),
    /// its sender or recipient user as owner, completed on the day of the message, created
    /// with it.
    fn email_task(&self, index: u64, email: u64) -> Vec<Val> {
        let kind = Generated::Task;
        let message = self.email_message(email);
        let contact = self.email_relation(email * 2);
        let user = self.email_relation(email * 2 + 1);
        let day = match &message[11] {
            Val::DateTime(at) => at.div_euclid(86_400),
            _ => HISTORY_START_DAY,
        };
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            contact[3].clone(),
            message[3].clone(),
            message[4].clone(),
            Val::Date(day),
            Val::Str("Completed".to_string()),
            Val::Str("Normal".to_string()),
            Val::Bool(true),
            Val::Str("Email".to_string()),
            Val::Null,
            Val::Null,
            Val::Null,
            user[3].clone(),
        ];
        values.extend(message[14..17].iter().cloned());
        values.push(Val::Bool(day * 86_400 < ARCHIVE_BEFORE));
        values.extend(self.recurrence(kind, index, day, None));
        values
    }

    /// The recurrence fields of task or event `index` ([`crate::schema`]'s
    /// `recurrence_fields`): the rule on a series' main record, drawn from a stream of its
    /// own and starting on `start_day` (an event's at `start_at`), the main record's id on
    /// every record of a series, nothing on the rest.
    fn recurrence(
        &self,
        kind: Generated,
        index: u64,
        start_day: i64,
        start_at: Option<i64>,
    ) -> Vec<Val> {
        let width = if kind == Generated::Task { 12 } else { 11 };
        let mut values = vec![Val::Null; width];
        values[1] = Val::Bool(false);
        let master = match self.series_of(kind, index) {
            None => return values,
            Some(SeriesRole::Occurrence { master }) => {
                values[0] = Val::Str(self.id(kind, master));
                return values;
            }
            Some(SeriesRole::Master) => index,
        };
        let mut rng = Rng::for_record(self.seed, SALT_SERIES ^ salt(kind), master);
        values[0] = Val::Str(self.id(kind, master));
        values[1] = Val::Bool(true);
        values[2] = match start_at {
            Some(at) => Val::DateTime(at),
            None => Val::Date(start_day),
        };
        // 1970-01-01 was a Thursday; Salesforce's mask is 1 for Sunday ... 64 for Saturday.
        let weekday_bit = 1i64 << (start_day + 4).rem_euclid(7);
        let n = SERIES_OCCURRENCES as i64;
        let (rule, interval) = match rng.below(4) {
            0 => ("RecursDaily", 1 + rng.below(2) as i64),
            1 => ("RecursWeekly", 1 + rng.below(2) as i64),
            2 => ("RecursMonthly", 1),
            _ => ("RecursMonthlyNth", 1),
        };
        let days = match rule {
            "RecursDaily" => interval,
            "RecursWeekly" => 7 * interval,
            _ => 31,
        };
        values[3] = Val::Date(start_day + days * (n - 1));
        values[4] = Val::Str(rng.pick(crate::schema::TIME_ZONES).to_string());
        values[5] = Val::Str(rule.to_string());
        values[6] = Val::Int(interval);
        match rule {
            "RecursWeekly" => values[7] = Val::Int(weekday_bit),
            "RecursMonthly" => {
                let (_, _, day_of_month) = crate::value::civil_from_days(start_day);
                values[8] = Val::Int(day_of_month as i64);
            }
            "RecursMonthlyNth" => {
                values[7] = Val::Int(weekday_bit);
                let (_, _, day_of_month) = crate::value::civil_from_days(start_day);
                let nth = ((day_of_month - 1) / 7).min(4) as usize;
                values[9] = Val::Str(crate::schema::RECURRENCE_INSTANCES[nth].to_string());
            }
            _ => {}
        }
        values
    }

    fn event(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Event;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let (who, what) = self.who_what(&mut rng);
        let subject = format!("Meeting: {}", rng.pick(TOPICS));
        let location = opt(&mut rng, 60, |r| Val::Str(r.pick(LOCATIONS).to_string()));
        let all_day = rng.chance(10);
        let description = opt(&mut rng, 40, |r| Val::Str(r.pick(DESCRIPTIONS).to_string()));
        let owner = self.owner(&mut rng);
        let audit = self.audit(&mut rng, kind, index);
        let created = match audit[0] {
            Val::DateTime(s) => s,
            _ => HISTORY_START_DAY * 86_400,
        };
        let day = created.div_euclid(86_400) + 1 + rng.below(60) as i64;
        let (start, minutes) = if all_day {
            (day * 86_400, 1_440)
        } else {
            let slot = rng.below(16) as i64;
            (
                day * 86_400 + 9 * 3_600 + slot * 1_800,
                *rng.pick(&[30i64, 60, 90]),
            )
        };
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            who,
            what,
            Val::Str(subject),
            location,
            Val::Bool(all_day),
            if all_day {
                Val::Null
            } else {
                Val::DateTime(start)
            },
            Val::Date(day),
            Val::Int(minutes),
            Val::DateTime(start),
            Val::DateTime(start + minutes * 60),
            description,
            owner,
        ];
        values.extend(audit);
        // An event is archived once it ended more than a year ago.
        values.push(Val::Bool(start + minutes * 60 < ARCHIVE_BEFORE));
        values.extend(self.recurrence(kind, index, day, Some(start)));
        values
    }

    fn event_relation(&self, index: u64) -> Vec<Val> {
        let kind = Generated::EventRelation;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let event = Val::Str(self.id(Generated::Event, index / 2));
        let relation = match rng.below(10) {
            0..=5 => self.live_ref(Generated::Contact, &mut rng),
            6 | 7 => self.live_ref(Generated::Lead, &mut rng),
            _ => self.owner(&mut rng),
        };
        let status = rng.pick(RELATION_STATUS).to_string();
        let audit = self.audit(&mut rng, kind, index);
        let responded = match (&audit[0], status.as_str()) {
            (_, "New") => Val::Null,
            (Val::DateTime(s), _) => Val::DateTime(s + rng.below(86_400) as i64),
            _ => Val::Null,
        };
        let response = if status == "Declined" && rng.chance(50) {
            Val::Str("Sorry, I'm travelling that week; can we do Thursday?".to_string())
        } else {
            Val::Null
        };
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            event,
            relation,
            Val::Str(status),
            Val::Bool(true),
            responded,
            response,
        ];
        values.extend(audit);
        values
    }

    /// A parent for notes and files: an account, contact, opportunity or (when
    /// `cases`) a case.
    fn file_parent(&self, rng: &mut Rng, cases: bool) -> Val {
        match rng.below(if cases { 10 } else { 9 }) {
            0..=3 => self.live_ref(Generated::Account, rng),
            4..=6 => self.live_ref(Generated::Contact, rng),
            7 | 8 => self.live_ref(Generated::Opportunity, rng),
            _ => self.live_ref(Generated::Case, rng),
        }
    }

    fn note(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Note;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let parent = self.file_parent(&mut rng, false);
        let title = rng.pick(TOPICS).to_string();
        let private = Val::Bool(rng.chance(10));
        let body = opt(&mut rng, 90, |r| Val::Str(long_text(r, 32_000)));
        let owner = self.owner(&mut rng);
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            parent,
            Val::Str(title),
            private,
            body,
            owner,
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    /// The HTML content of content note `index`.
    fn note_html(&self, index: u64) -> String {
        let mut rng = Rng::for_record(self.seed, SALT_FILE ^ 0x4e4f, index);
        let text = rng.pick(DESCRIPTIONS);
        let escaped = text
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('\n', "</p><p>");
        format!("<p>{escaped}</p>")
    }

    fn content_note(&self, index: u64) -> Vec<Val> {
        let kind = Generated::ContentNote;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let mut preview_rng = Rng::for_record(self.seed, SALT_FILE ^ 0x4e4f, index);
        let preview: String = preview_rng
            .pick(DESCRIPTIONS)
            .chars()
            .filter(|c| *c != '\r')
            .take(255)
            .collect();
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Bool(false),
            Val::Str(rng.pick(TOPICS).to_string()),
            Val::Str(preview),
            Val::Null,
            Val::Str("snote".to_string()),
            Val::Int(self.note_html(index).len() as i64),
            self.owner(&mut rng),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    fn attachment(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Attachment;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let parent = self.file_parent(&mut rng, true);
        let (name, content_type) = *rng.pick(FILES);
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            parent,
            Val::Str(name.to_string()),
            Val::Bool(rng.chance(5)),
            Val::Str(content_type.to_string()),
            Val::Int(blob_len(self.seed, kind, index) as i64),
            Val::Null,
            opt(&mut rng, 30, |r| Val::Str(r.pick(TOPICS).to_string())),
            self.owner(&mut rng),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    /// Title, file type, extension, parent, owner and audit times shared by the
    /// version, document and link of file `index`.
    fn file(&self, index: u64) -> (String, &'static str, &'static str, Val, Val, [Val; 3]) {
        let mut rng = Rng::for_record(self.seed, SALT_FILE, index);
        let (name, _) = *rng.pick(FILES);
        let (stem, extension) = name.rsplit_once('.').unwrap_or((name, "bin"));
        let file_type = match extension {
            "pdf" => "PDF",
            "docx" => "WORD_X",
            "xlsx" => "EXCEL_X",
            "png" => "PNG",
            "txt" => "TEXT",
            _ => "UNKNOWN",
        };
        let parent = self.file_parent(&mut rng, true);
        let owner = self.owner(&mut rng);
        let audit = self.audit(&mut rng, Generated::ContentVersion, index);
        (stem.to_string(), file_type, extension, parent, owner, audit)
    }

    /// The document of version `index`, its version number (from 1) and how many versions
    /// the document has.
    pub fn version_of(&self, index: u64) -> (u64, u64, u64) {
        let documents = self.count(Generated::ContentDocument).max(1);
        let last = documents - 1;
        let document = if index >= versions_before(last) {
            last
        } else {
            periodic_owner(&VERSIONS_PER_DOCUMENT, false, index).0
        };
        let first = versions_before(document);
        (document, index - first + 1, self.versions_of(document))
    }

    /// How many versions document `document` has.
    pub fn versions_of(&self, document: u64) -> u64 {
        let documents = self.count(Generated::ContentDocument);
        if document + 1 == documents {
            self.count(Generated::ContentVersion) - versions_before(document)
        } else {
            VERSIONS_PER_DOCUMENT[(document % 10) as usize]
        }
    }

    /// The index of document `document`'s latest version.
    pub fn latest_version(&self, document: u64) -> u64 {
        versions_before(document) + self.versions_of(document) - 1
    }

    /// The records document `document` is shared to, first the record it was published to
    /// (`FirstPublishLocationId`); the others from a stream of their own, all distinct.
    pub fn document_records(&self, document: u64) -> Vec<Val> {
        let (_, _, _, parent, _, _) = self.file(document);
        let wanted = RECORD_LINKS_PER_DOCUMENT[(document % 10) as usize];
        let mut rng = Rng::for_record(self.seed, SALT_FILE ^ 0x4c49_4e4b, document);
        let mut records = vec![parent];
        let mut attempts = 0;
        while (records.len() as u64) < wanted && attempts < 32 {
            attempts += 1;
            // The extra links go to an account, a contact and an opportunity in turn.
            let kind = match (records.len() + (document as usize)) % 3 {
                0 => Generated::Account,
                1 => Generated::Contact,
                _ => Generated::Opportunity,
            };
            let candidate = self.live_ref(kind, &mut rng);
            if !candidate.is_null() && !records.contains(&candidate) {
                records.push(candidate);
            }
        }
        records
    }

    fn content_version(&self, index: u64) -> Vec<Val> {
        let kind = Generated::ContentVersion;
        let (document, number, versions) = self.version_of(index);
        let (title, file_type, extension, parent, owner, audit) = self.file(document);
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Bool(false),
            Val::Str(self.id(Generated::ContentDocument, document)),
            Val::Bool(number == versions),
            Val::Str(title.clone()),
            Val::Null,
            Val::Str(format!("{title}.{extension}")),
            Val::Str(file_type.to_string()),
            Val::Str(extension.to_string()),
            Val::Str(number.to_string()),
            Val::Int(blob_len(self.seed, kind, index) as i64),
            Val::Null,
            parent,
            owner,
        ];
        values.extend(audit);
        values
    }

    fn content_document(&self, index: u64) -> Vec<Val> {
        let (title, file_type, extension, _, owner, audit) = self.file(index);
        let latest = self.latest_version(index);
        let mut values = vec![
            Val::Str(self.id(Generated::ContentDocument, index)),
            Val::Bool(false),
            Val::Str(title),
            Val::Str(file_type.to_string()),
            Val::Str(extension.to_string()),
            Val::Int(blob_len(self.seed, Generated::ContentVersion, latest) as i64),
            Val::Str(self.id(Generated::ContentVersion, latest)),
            owner,
        ];
        values.extend(audit);
        values
    }

    /// The document of link `index` and the link's place among the document's links
    /// (0: its owner's).
    pub fn link_of(&self, index: u64) -> (u64, u64) {
        periodic_owner(&RECORD_LINKS_PER_DOCUMENT, true, index)
    }

    fn content_link(&self, index: u64) -> Vec<Val> {
        let kind = Generated::ContentDocumentLink;
        let (document, place) = self.link_of(index);
        let (_, _, _, _, owner, audit) = self.file(document);
        let (entity, share_type) = if place == 0 {
            // The owner's link Salesforce adds to every file: inferred sharing.
            (owner, "I")
        } else {
            let records = self.document_records(document);
            let entity = records
                .get(place as usize - 1)
                .cloned()
                .unwrap_or(Val::Null);
            let mut rng = Rng::for_record(self.seed, salt(kind), index);
            (entity, if rng.chance(80) { "V" } else { "I" })
        };
        vec![
            Val::Str(self.id(kind, index)),
            Val::Bool(false),
            entity,
            Val::Str(self.id(Generated::ContentDocument, document)),
            Val::Str(share_type.to_string()),
            Val::Str("AllUsers".to_string()),
            audit[2].clone(),
        ]
    }

    fn email_message(&self, index: u64) -> Vec<Val> {
        let kind = Generated::EmailMessage;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let case = opt(&mut rng, 30, |r| self.live_ref(Generated::Case, r));
        let related = if case.is_null() {
            if rng.chance(50) {
                self.live_ref(Generated::Account, &mut rng)
            } else {
                self.live_ref(Generated::Opportunity, &mut rng)
            }
        } else {
            case.clone()
        };
        let (first, last) = (*rng.pick(FIRST_NAMES), *rng.pick(LAST_NAMES));
        let from = format!("{}.{}@example.com", first.1, last.1);
        let incoming = rng.chance(50);
        let to = if rng.chance(20) {
            format!("sales@ferry-sim.example; {}", from.replace('.', "_"))
        } else {
            "sales@ferry-sim.example".to_string()
        };
        let cc = opt(&mut rng, 30, |_| {
            Val::Str("legal@example.com, \"Finance, Team\" <finance@example.com>".to_string())
        });
        let subject = format!("{}{}", rng.pick(&["", "Re: ", "Fwd: "]), rng.pick(TOPICS));
        let text = long_text(&mut rng, 131_072);
        let html = format!(
            "<html><body><p>{}</p></body></html>",
            text.replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
                .replace('\n', "<br>")
        );
        let html: String = html.chars().take(131_072).collect();
        let status = rng.pick(&["0", "1", "2", "3"]).to_string();
        let audit = self.audit(&mut rng, kind, index);
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            case,
            related,
            Val::Str(subject),
            Val::Str(format!("{} {}", first.0, last.0)),
            Val::Str(from),
            Val::Str(to),
            cc,
            Val::Str(text),
            Val::Str(html),
            audit[0].clone(),
            Val::Bool(incoming),
            Val::Str(status),
        ];
        values.extend(audit);
        values.push(
            self.email_task_of(index)
                .map_or(Val::Null, |task| Val::Str(self.id(Generated::Task, task))),
        );
        values
    }

    /// Relation `index` of email `index / 2`: first its contact (the sender of an incoming
    /// email, the recipient of an outgoing one), then the user on the other side.
    fn email_relation(&self, index: u64) -> Vec<Val> {
        let kind = Generated::EmailMessageRelation;
        let email = index / 2;
        let mut rng = Rng::for_record(self.seed, salt(kind), email);
        let contact = self.live_ref(Generated::Contact, &mut rng);
        let user = self.owner(&mut rng);
        let message = self.email_message(email);
        let incoming = message[12] == Val::Bool(true);
        let (relation, object, address, from) = if index.is_multiple_of(2) {
            let from = message[6].as_str().unwrap_or_default().to_string();
            (contact, "Contact", from, incoming)
        } else {
            (
                user,
                "User",
                "sales@ferry-sim.example".to_string(),
                !incoming,
            )
        };
        let relation_type = if from { "FromAddress" } else { "ToAddress" };
        let object = if relation.is_null() {
            Val::Null
        } else {
            Val::Str(object.to_string())
        };
        vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            Val::Str(self.id(Generated::EmailMessage, email)),
            relation,
            Val::Str(address),
            object,
            Val::Str(relation_type.to_string()),
            message[14].clone(),
            message[16].clone(),
        ]
    }

    fn campaign(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Campaign;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let campaign_type = rng.pick(CAMPAIGN_TYPES);
        let year = 2019 + rng.below(6) as i64;
        let name = format!("{year} {campaign_type}: {}", rng.pick(TOPICS));
        let start = days_from_civil(year, 1, 1) + rng.below(300) as i64;
        let budget = (rng.below(500) * 100) as f64;
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            Val::Str(name),
            Val::Str(campaign_type.to_string()),
            Val::Str(rng.pick(CAMPAIGN_STATUS).to_string()),
            Val::Date(start),
            Val::Date(start + 7 + rng.below(60) as i64),
            Val::Num(budget),
            opt(&mut rng, 60, |r| {
                Val::Num(budget * r.below(120) as f64 / 100.0)
            }),
            Val::Bool(rng.chance(40)),
            opt(&mut rng, 50, |r| Val::Str(r.pick(DESCRIPTIONS).to_string())),
            self.owner(&mut rng),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values.push(match self.campaign_parent(index) {
            Some(parent) => Val::Str(self.id(kind, parent)),
            None => Val::Null,
        });
        values
    }

    /// The parent of campaign `index`: campaigns come in blocks of five, the first a root
    /// and the second and third its children (no randomness, so no other value moves).
    /// Parents are never soft-deleted (no block starts at an index `% 50 == 37`).
    pub fn campaign_parent(&self, index: u64) -> Option<u64> {
        matches!(index % 5, 1 | 2).then_some(index - index % 5)
    }

    fn campaign_member(&self, index: u64) -> Vec<Val> {
        let kind = Generated::CampaignMember;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let campaign = self.live_ref(Generated::Campaign, &mut rng);
        let (lead, contact) = if rng.chance(60) {
            (Val::Null, self.live_ref(Generated::Contact, &mut rng))
        } else {
            let lead = self.live_ref(Generated::Lead, &mut rng);
            // Converting a lead sets its members' ContactId to the contact it became and
            // keeps their LeadId.
            let converted = match &lead {
                Val::Str(id) => self
                    .index_of(Generated::Lead, id)
                    .zip(generated_object(Generated::Lead).field_index("ConvertedContactId"))
                    .and_then(|(at, field)| self.lead(at).get(field).cloned())
                    .unwrap_or(Val::Null),
                _ => Val::Null,
            };
            (lead, converted)
        };
        let status = rng.pick(MEMBER_STATUS).to_string();
        let responded = status == "Responded";
        let audit = self.audit(&mut rng, kind, index);
        let first = match (&audit[0], responded) {
            (Val::DateTime(s), true) => Val::Date(s.div_euclid(86_400) + rng.below(20) as i64),
            _ => Val::Null,
        };
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            campaign,
            lead,
            contact,
            Val::Str(status),
            Val::Bool(responded),
            first,
        ];
        values.extend(audit);
        values
    }

    fn case(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Case;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let account = opt(&mut rng, 90, |r| self.live_ref(Generated::Account, r));
        let contact = opt(&mut rng, 80, |r| self.live_ref(Generated::Contact, r));
        let record_type = Val::Str(self.id(Generated::RecordType, 4 + rng.below(2)));
        let subject = rng.pick(CASE_SUBJECTS).to_string();
        let description = opt(&mut rng, 70, |r| Val::Str(long_text(r, 32_000)));
        let status = rng.pick(CASE_STATUS).to_string();
        let closed = status == "Closed";
        let priority = rng.pick(CASE_PRIORITY).to_string();
        let origin = opt(&mut rng, 95, |r| Val::Str(r.pick(CASE_ORIGIN).to_string()));
        let mut owner = self.owner(&mut rng);
        if let Some(queue) = self.queue_owner(kind, index, QUEUE_CASES_PERCENT) {
            owner = queue;
        }
        let audit = self.audit(&mut rng, kind, index);
        let closed_date = match (&audit[1], closed) {
            (Val::DateTime(s), true) => Val::DateTime(*s),
            _ => Val::Null,
        };
        // Drawn after the rest, so that no earlier value moves: a parent case among the
        // earlier ones (a hierarchy without cycles), the address of a case that came in by
        // email or the web, its type and reason.
        let parent = if rng.chance(15) {
            self.live_ref_below(kind, &mut rng, index)
        } else {
            Val::Null
        };
        let supplied = match &origin {
            Val::Str(o) if o == "Email" || o == "Web" => {
                let (first, last) = (*rng.pick(FIRST_NAMES), *rng.pick(LAST_NAMES));
                Val::Str(format!("{}.{}@example.com", first.1, last.1))
            }
            _ => Val::Null,
        };
        let case_type = opt(&mut rng, 80, |r| {
            Val::Str(r.pick(crate::schema::CASE_TYPES).to_string())
        });
        let reason = opt(&mut rng, 60, |r| {
            Val::Str(r.pick(crate::schema::CASE_REASONS).to_string())
        });
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            Val::Str(format!("{:08}", 1_001 + index)),
            account,
            contact,
            record_type,
            Val::Str(subject),
            description,
            Val::Str(status),
            Val::Str(priority),
            origin,
            Val::Bool(closed),
            closed_date,
            owner,
            parent,
            supplied,
            case_type,
            reason,
        ];
        values.extend(audit);
        values
    }

    /// Comment `index`, on case `index / CASE_COMMENTS`: written by a user after the case
    /// was opened; most are internal notes, some published to the customer.
    fn case_comment(&self, index: u64) -> Vec<Val> {
        let kind = Generated::CaseComment;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let case = index / CASE_COMMENTS;
        let published = rng.chance(40);
        let body = format!(
            "{} {}",
            rng.pick(&[
                "Called the customer back:",
                "Escalated to tier 2:",
                "Customer confirmed:",
                "Internal note:",
                "Waiting on the customer:",
            ]),
            rng.pick(DESCRIPTIONS)
        );
        let body: String = body.chars().take(4_000).collect();
        let author = self.owner(&mut rng);
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            Val::Str(self.id(Generated::Case, case)),
            Val::Bool(published),
            Val::Str(body),
            author,
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    fn project(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Project;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            self.deleted(kind, index),
            Val::Str(format!("{} rollout #{}", rng.pick(PRODUCTS), index + 1)),
            opt(&mut rng, 90, |r| self.live_ref(Generated::Account, r)),
            Val::Str(rng.pick(PROJECT_STATUS).to_string()),
            opt(&mut rng, 80, |r| Val::Num((r.below(100_000) * 10) as f64)),
            opt(&mut rng, 80, |r| {
                Val::Date(days_from_civil(2019, 1, 1) + r.below(2_000) as i64)
            }),
            self.owner(&mut rng),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    fn report(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Report;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let name = REPORT_NAMES[(index as usize) % REPORT_NAMES.len()];
        let developer: String = name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let audit = self.audit(&mut rng, kind, index);
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Bool(false),
            Val::Str(name.to_string()),
            Val::Str(format!("{developer}_{index}")),
            Val::Str(
                rng.pick(&["Sales Reports", "Service Reports", "Private"])
                    .to_string(),
            ),
            Val::Str(rng.pick(REPORT_FORMATS).to_string()),
            opt(&mut rng, 50, |r| Val::Str(r.pick(TOPICS).to_string())),
            audit[2].clone(),
            self.owner(&mut rng),
        ];
        values.extend(audit);
        values
    }

    fn dashboard(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Dashboard;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let title = [
            "Sales Pipeline",
            "Service KPIs",
            "Executive Overview",
            "Marketing ROI",
        ][(index % 4) as usize];
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Bool(false),
            Val::Str(title.to_string()),
            Val::Str(format!("{}_{index}", title.replace(' ', "_"))),
            Val::Str("Company Dashboards".to_string()),
            Val::Null,
            self.owner(&mut rng),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    fn apex_class(&self, index: u64) -> Vec<Val> {
        let kind = Generated::ApexClass;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let name = APEX_CLASSES[(index as usize) % APEX_CLASSES.len()];
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Str(name.to_string()),
            Val::Null,
            Val::Num(*rng.pick(&[48.0, 52.0, 56.0, 59.0])),
            Val::Str(APEX_STATUS[0].to_string()),
            Val::Bool(rng.chance(90)),
            Val::Int(200 + rng.below(20_000) as i64),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    fn apex_trigger(&self, index: u64) -> Vec<Val> {
        let kind = Generated::ApexTrigger;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let table = ["Account", "Contact", "Opportunity", "Lead", "Case"][(index % 5) as usize];
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Str(format!("{table}Trigger")),
            Val::Str(table.to_string()),
            Val::Num(59.0),
            Val::Str(APEX_STATUS[(index % 2) as usize].to_string()),
            Val::Bool(true),
            Val::Bool(rng.chance(50)),
            Val::Bool(rng.chance(50)),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    fn flow(&self, index: u64) -> Vec<Val> {
        let kind = Generated::FlowDefinitionView;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let label = FLOWS[(index as usize) % FLOWS.len()];
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Str(label.replace(' ', "_")),
            Val::Str(label.to_string()),
            Val::Str(rng.pick(FLOW_TYPES).to_string()),
            Val::Bool(rng.chance(80)),
            opt(&mut rng, 50, |r| Val::Str(r.pick(DESCRIPTIONS).to_string())),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    fn validation_rule(&self, index: u64) -> Vec<Val> {
        let kind = Generated::ValidationRule;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let (object, name, message) = VALIDATION_RULES[(index as usize) % VALIDATION_RULES.len()];
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Str(name.to_string()),
            Val::Str(object.to_string()),
            Val::Bool(rng.chance(80)),
            Val::Str(message.to_string()),
            Val::Null,
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    fn apex_page(&self, index: u64) -> Vec<Val> {
        let kind = Generated::ApexPage;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let (name, label) = [
            ("AccountOverview", "Account Overview"),
            ("QuoteTemplate", "Quote Template"),
            ("CaseDeflection", "Case Deflection"),
            ("PartnerPortalHome", "Partner Portal Home"),
            ("InvoicePdf", "Invoice PDF"),
        ][(index % 5) as usize];
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Str(name.to_string()),
            Val::Str(label.to_string()),
            Val::Null,
            Val::Num(*rng.pick(&[48.0, 52.0, 56.0, 59.0])),
            opt(&mut rng, 50, |r| Val::Str(r.pick(DESCRIPTIONS).to_string())),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    fn organization(&self, index: u64) -> Vec<Val> {
        let kind = Generated::Organization;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Str(format!("{} {}", rng.pick(COMPANY_WORDS), "Holdings")),
            Val::Str(self.corporate_currency().to_string()),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    /// Currency `index` of [`crate::schema::CURRENCIES`], its rate relative to the
    /// corporate currency (whose rate is 1).
    fn currency_type(&self, index: u64) -> Vec<Val> {
        let kind = Generated::CurrencyType;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let (code, rate, places) = crate::schema::CURRENCIES
            .get(index as usize)
            .copied()
            .unwrap_or(("USD", 1.0, 2));
        let corporate = self.corporate_currency();
        let (corporate_rate, _) = crate::schema::currency(corporate);
        let relative = (rate / corporate_rate * 1e6).round() / 1e6;
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Str(code.to_string()),
            Val::Num(relative),
            Val::Int(i64::from(places)),
            Val::Bool(true),
            Val::Bool(code == corporate),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }

    fn workflow_rule(&self, index: u64) -> Vec<Val> {
        let kind = Generated::WorkflowRule;
        let mut rng = Rng::for_record(self.seed, salt(kind), index);
        let (object, name) = [
            ("Lead", "Notify owner of hot lead"),
            ("Opportunity", "Big deal alert"),
            ("Case", "Escalate high priority"),
        ][(index % 3) as usize];
        let mut values = vec![
            Val::Str(self.id(kind, index)),
            Val::Str(name.to_string()),
            Val::Str(object.to_string()),
        ];
        values.extend(self.audit(&mut rng, kind, index));
        values
    }
}

/// The stream salt of an object; the first three keep the salts ids were built from.
fn salt(kind: Generated) -> u64 {
    match kind {
        Generated::User => SALT_USER,
        Generated::Account => SALT_ACCOUNT,
        Generated::Contact => SALT_CONTACT,
        other => 0x4f42_4a00 + other.slot() as u64,
    }
}

/// The opportunity line item `index` belongs to (see [`ITEMS_PER_OPPORTUNITY`]).
fn line_item_opportunity(index: u64) -> u64 {
    index - index % ITEMS_PER_OPPORTUNITY
}

/// The field a modification changes: a visible text field of the object.
fn touched_field(kind: Generated) -> Option<usize> {
    let object = generated_object(kind);
    ["Description", "Title", "Subject", "Phone", "Name", "Status"]
        .iter()
        .filter_map(|name| object.field_index(name))
        .find(|&i| {
            let field = &object.fields[i];
            field.writable && field.ftype.is_text() && field.picklist.is_empty()
        })
}

/// Length of the binary body of record `index`: mostly small, some of a few MB.
fn blob_len(seed: u64, kind: Generated, index: u64) -> u64 {
    let mut rng = Rng::for_record(seed, SALT_BLOB ^ salt(kind), index);
    match rng.below(100) {
        0..=39 => 1 + rng.below(1_000),
        40..=84 => 1_000 + rng.below(99_000),
        85..=97 => 100_000 + rng.below(900_000),
        _ => 1_000_000 + rng.below(3_000_000),
    }
}

/// `make(rng)` with probability `percent`, otherwise `Null`.
fn opt(rng: &mut Rng, percent: u64, make: impl FnOnce(&mut Rng) -> Val) -> Val {
    if rng.chance(percent) {
        make(rng)
    } else {
        Val::Null
    }
}

fn company_name(rng: &mut Rng) -> String {
    if rng.chance(10) {
        rng.pick(SPECIAL_COMPANIES).to_string()
    } else {
        format!(
            "{} {} {}",
            rng.pick(COMPANY_WORDS),
            rng.pick(COMPANY_NOUNS),
            rng.pick(COMPANY_SUFFIXES)
        )
    }
}

/// Free text: usually a line or two, one time in a hundred close to `limit`
/// characters (paragraphs with newlines, quotes, commas and non-ASCII text).
fn long_text(rng: &mut Rng, limit: usize) -> String {
    if rng.chance(1) {
        let mut text = String::new();
        let mut count = 0;
        loop {
            let paragraph = rng.pick(DESCRIPTIONS);
            let len = paragraph.chars().count() + 2;
            if count + len > limit.saturating_sub(16) {
                break;
            }
            text.push_str(paragraph);
            text.push_str("\n\n");
            count += len;
        }
        text
    } else {
        let lines = 1 + rng.below(3);
        (0..lines)
            .map(|_| *rng.pick(DESCRIPTIONS))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Values of the custom fields of every type (see `schema::every_type_fields`),
/// ending with the object's own lookup.
fn every_type_values(rng: &mut Rng, lookup: Val) -> Vec<Val> {
    let regions = {
        let chosen: Vec<&str> = REGIONS.iter().copied().filter(|_| rng.chance(40)).collect();
        if chosen.is_empty() {
            Val::Null
        } else {
            Val::Str(chosen.join(";"))
        }
    };
    vec![
        opt(rng, 80, |r| {
            Val::Str(format!(
                "{}-{:06}",
                r.pick(&["EXT", "ÄÖÜ", "北京", "X,Y"]),
                r.below(1_000_000)
            ))
        }),
        opt(rng, 50, |r| Val::Str(r.pick(DESCRIPTIONS).to_string())),
        opt(rng, 40, |r| Val::Str(long_text(r, 32_768))),
        opt(rng, 30, |r| {
            Val::Str(format!(
                "<p><b>{}</b></p><ul><li>one</li><li>two &amp; three</li></ul>",
                r.pick(TOPICS)
            ))
        }),
        opt(rng, 80, |r| Val::Num(r.below(100_000_000) as f64 / 100.0)),
        opt(rng, 70, |r| Val::Num(r.below(100_000_000) as f64 / 100.0)),
        opt(rng, 60, |r| Val::Num(r.below(10_001) as f64 / 100.0)),
        opt(rng, 70, |r| {
            Val::Date(
                HISTORY_START_DAY + r.below((HISTORY_END_DAY - HISTORY_START_DAY) as u64) as i64,
            )
        }),
        opt(rng, 70, |r| {
            Val::DateTime(
                HISTORY_START_DAY * 86_400
                    + r.below(((HISTORY_END_DAY - HISTORY_START_DAY) * 86_400) as u64) as i64,
            )
        }),
        Val::Bool(rng.chance(50)),
        opt(rng, 85, |r| Val::Str(r.pick(SEGMENTS).to_string())),
        regions,
        opt(rng, 30, |r| {
            Val::Str(format!("alt.{}@example.net", r.pick(FIRST_NAMES).1))
        }),
        opt(rng, 40, |r| Val::Str(phone(r))),
        opt(rng, 40, |r| {
            Val::Str(format!(
                "https://portal.example.com/c/{}?ref=a,b&x=\"y\"",
                r.below(100_000)
            ))
        }),
        lookup,
    ]
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

const PRODUCTS: &[&str] = &[
    "Platform Licences",
    "Support Renewal",
    "Onboarding Services",
    "Data Migration",
    "Hardware Refresh",
    "Consulting Days",
    "Premium Add-on",
];

const TOPICS: &[&str] = &[
    "Follow up on proposal",
    "Quarterly business review",
    "Pricing question, \"urgent\"",
    "Renewal discussion",
    "Demo for the new team",
    "Angebot für Müller & Söhne",
    "Contract redlines (v2)",
    "Intro call — partnership",
    "Invoice #4711, overdue",
    "見積もりの件",
    "Kick-off: rollout; phase 1",
];

const LOCATIONS: &[&str] = &[
    "Zoom",
    "Customer HQ, Room 4",
    "Café \"Le Petit\", Paris",
    "München Office",
    "Phone",
];

/// File names with their MIME type.
const FILES: &[(&str, &str)] = &[
    ("Q3 report, final (v2).pdf", "application/pdf"),
    (
        "Lebenslauf Jürgen.docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    ("screenshot 2024-01-02.png", "image/png"),
    (
        "数据.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    ("notes.txt", "text/plain"),
    ("contract \"signed\".pdf", "application/pdf"),
];

const CASE_SUBJECTS: &[&str] = &[
    "Cannot log in",
    "Invoice shows wrong amount",
    "Lieferung beschädigt",
    "Feature request: export, \"CSV\"",
    "Outage in EU region",
    "Password reset not received",
];

const REPORT_NAMES: &[&str] = &[
    "Pipeline by Stage",
    "Won Deals This Quarter",
    "Open Cases by Owner",
    "Leads by Source",
    "Activities Last 30 Days",
    "Accounts Without Contacts",
];

const APEX_CLASSES: &[&str] = &[
    "AccountService",
    "LeadRouting",
    "OpportunityTriggerHandler",
    "InvoiceSync",
    "CaseEscalation",
    "TestDataFactory",
    "ContactDedupe",
    "ErpCallout",
    "NightlyBatch",
];

const FLOWS: &[&str] = &[
    "Lead Assignment",
    "Opportunity Closed Won Notification",
    "Case Auto Close",
    "Welcome Email",
    "Update Account Rating",
    "Renewal Reminder",
];

/// Validation rules: object, name, error message.
const VALIDATION_RULES: &[(&str, &str, &str)] = &[
    (
        "Account",
        "Website_Must_Be_Https",
        "Website must start with https://",
    ),
    (
        "Contact",
        "Email_Or_Phone_Required",
        "Enter an email or a phone number.",
    ),
    (
        "Opportunity",
        "Amount_Required_When_Won",
        "Closed Won deals need an amount.",
    ),
    ("Lead", "Company_Not_Blank", "Company is required."),
    (
        "Case",
        "Reason_On_Close",
        "Give a reason when closing a case.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::FieldType;

    fn person_org(seed: u64, records: u64) -> Org {
        let features = Features {
            person_accounts: true,
            ..Features::default()
        };
        Org::with_features(seed, records, Mix::Sales, features)
    }

    #[test]
    fn person_accounts_and_person_contacts_are_a_bijection() {
        for (seed, records) in [(1, 40), (3, 2000), (9, 20_000)] {
            let org = person_org(seed, records);
            let accounts = org.count(Generated::Account);
            let persons: Vec<u64> = (0..accounts)
                .filter(|&a| org.is_person_account(a))
                .collect();
            if records >= 2000 {
                let share = persons.len() as f64 / accounts as f64;
                assert!((0.2..0.3).contains(&share), "{share}");
            }
            let mut contacts = std::collections::BTreeSet::new();
            for &a in &persons {
                let Some(c) = org.person_contact_of(a) else {
                    panic!("person account {a} has no person contact");
                };
                assert!(
                    c < org.count(Generated::Contact) && !org.is_deleted(Generated::Contact, c)
                );
                assert_eq!(org.person_account_of(c), Some(a));
                assert!(org.account_parent(a).is_none());
                assert!((0..accounts).all(|child| org.account_parent(child) != Some(a)));
                assert!(contacts.insert(c));
            }
            let person_contacts = (0..org.count(Generated::Contact))
                .filter(|&c| org.person_account_of(c).is_some())
                .count();
            assert_eq!(person_contacts, persons.len());
        }
    }

    #[test]
    fn an_email_its_companion_task_and_its_relations_are_deleted_together()
    -> Result<(), MutateError> {
        let org = Org::new(5, 3000);
        for email in 0..org.count(Generated::EmailMessage) {
            let task = org.email_task_of(email).unwrap_or_default();
            assert_eq!(org.email_of_task(task), Some(email));
            let deleted = org.is_deleted(Generated::EmailMessage, email);
            assert_eq!(org.is_deleted(Generated::Task, task), deleted);
            assert_eq!(
                org.is_deleted(Generated::EmailMessageRelation, email * 2),
                deleted
            );
        }
        assert_eq!(
            org.deleted_count(Generated::Task),
            (0..org.count(Generated::Task))
                .filter(|&t| org.is_deleted(Generated::Task, t))
                .count() as u64
        );
        let tasks = org.live_count(Generated::Task);
        let mutation = org.mutate("EmailMessage", 0, 1, 1_800_000_000)?;
        assert_eq!(mutation.deleted.len(), 4, "{mutation:?}");
        assert_eq!(org.live_count(Generated::Task), tasks - 1);
        let email = org
            .index_of(Generated::EmailMessage, &mutation.deleted[0])
            .unwrap_or_default();
        let task = org.email_task_of(email).unwrap_or_default();
        assert!(mutation.deleted.contains(&org.id(Generated::Task, task)));
        assert!(org.is_deleted(Generated::EmailMessageRelation, email * 2 + 1));
        Ok(())
    }

    #[test]
    fn deleting_a_series_main_record_deletes_its_occurrences() -> Result<(), MutateError> {
        let org = Org::new(5, 3000);
        assert_eq!(org.series_of(Generated::Task, 10), Some(SeriesRole::Master));
        assert_eq!(
            org.series_of(Generated::Task, 14),
            Some(SeriesRole::Occurrence { master: 10 })
        );
        assert_eq!(org.series_of(Generated::Task, 15), None);
        let tasks = org.live_count(Generated::Task);
        // Slots 0..=10 are taken in order: the eleventh deletion is the series' main record.
        let mutation = org.mutate("Task", 0, 11, 1_800_000_000)?;
        assert!(mutation.deleted.contains(&org.id(Generated::Task, 10)));
        for occurrence in 11..=14 {
            assert!(org.is_deleted(Generated::Task, occurrence));
        }
        assert_eq!(org.live_count(Generated::Task), tasks - 15);
        Ok(())
    }

    #[test]
    fn deleting_a_person_account_deletes_its_person_contact() -> Result<(), MutateError> {
        let org = person_org(2, 2000);
        let contacts = org.live_count(Generated::Contact);
        let mutation = org.mutate("Account", 0, 20, 1_800_000_000)?;
        let persons: Vec<u64> = (0..org.count(Generated::Account))
            .filter(|&a| org.is_person_account(a) && org.is_deleted(Generated::Account, a))
            .collect();
        assert!(!persons.is_empty());
        for &a in &persons {
            let c = org.person_contact_of(a).unwrap_or_default();
            assert!(org.is_deleted(Generated::Contact, c));
            assert!(mutation.deleted.contains(&org.id(Generated::Contact, c)));
        }
        assert_eq!(
            org.live_count(Generated::Contact),
            contacts - persons.len() as u64
        );
        assert_eq!(mutation.deleted.len(), 20 + persons.len());
        // And the other way round.
        let c = (0..org.count(Generated::Contact))
            .find(|&c| {
                org.person_account_of(c)
                    .is_some_and(|a| !org.is_deleted(Generated::Account, a))
            })
            .unwrap_or_default();
        let a = org.person_account_of(c).unwrap_or_default();
        let before = org.live_count(Generated::Contact);
        let mut deleted_account = false;
        while !deleted_account {
            org.mutate("Contact", 0, 1, 1_800_000_000)?;
            deleted_account = org.is_deleted(Generated::Account, a);
            assert!(org.live_count(Generated::Contact) < before);
        }
        assert!(org.is_deleted(Generated::Contact, c));
        Ok(())
    }

    #[test]
    fn person_accounts_shift_no_other_generated_value() {
        let plain = Org::new(5, 3000);
        let person = person_org(5, 3000);
        let account = generated_object(Generated::Account);
        let own = account
            .fields
            .iter()
            .filter(|f| f.feature.is_none())
            .count();
        let mut persons = 0;
        for a in 0..plain.count(Generated::Account) {
            let (before, after) = (
                plain.record(Generated::Account, a),
                person.record(Generated::Account, a),
            );
            assert_eq!(before.len(), after.len());
            if person.is_person_account(a) {
                persons += 1;
                // Only the name changes among the fields every org has.
                assert_eq!(before[..2], after[..2]);
                assert_eq!(before[3..own], after[3..own]);
            } else {
                assert_eq!(before, after, "business account {a}");
            }
        }
        assert!(persons > 0);
        for kind in [
            Generated::Opportunity,
            Generated::Task,
            Generated::Event,
            Generated::Case,
        ] {
            for i in 0..plain.count(kind) {
                assert_eq!(
                    plain.record(kind, i),
                    person.record(kind, i),
                    "{kind:?} {i}"
                );
            }
        }
        let contact = generated_object(Generated::Contact);
        for c in 0..plain.count(Generated::Contact) {
            let (mut before, mut after) = (
                plain.record(Generated::Contact, c),
                person.record(Generated::Contact, c),
            );
            // The person fields are the only others that change (other features' fields,
            // such as a currency, come after them).
            for field in ["AccountId", "IsPersonAccount", "Loyalty_Tier__c"] {
                if let Some(index) = contact.field_index(field) {
                    before[index] = Val::Null;
                    after[index] = Val::Null;
                }
            }
            assert_eq!(before, after, "contact {c}");
        }
    }

    #[test]
    #[allow(clippy::unwrap_used)]
    fn files_have_versions_and_several_links() {
        let org = Org::new(7, 20_000);
        let field = |kind: Generated, index: u64, name: &str| {
            let object = crate::schema::generated_object(kind);
            org.record(kind, index)[object.field_index(name).unwrap()].clone()
        };
        let documents = org.count(Generated::ContentDocument);
        assert!(documents >= 50, "{documents}");
        let mut versions_by_document = BTreeMap::<String, Vec<(u64, bool, String)>>::new();
        for v in 0..org.count(Generated::ContentVersion) {
            let Val::Str(document) = field(Generated::ContentVersion, v, "ContentDocumentId")
            else {
                panic!("version {v} without document");
            };
            let Val::Str(number) = field(Generated::ContentVersion, v, "VersionNumber") else {
                panic!("version {v} without number");
            };
            let latest = field(Generated::ContentVersion, v, "IsLatest") == Val::Bool(true);
            versions_by_document.entry(document).or_default().push((
                number.parse().unwrap(),
                latest,
                org.id(Generated::ContentVersion, v),
            ));
        }
        assert_eq!(versions_by_document.len() as u64, documents);
        let mut links_by_document = BTreeMap::<String, Vec<Val>>::new();
        for l in 0..org.count(Generated::ContentDocumentLink) {
            let Val::Str(document) = field(Generated::ContentDocumentLink, l, "ContentDocumentId")
            else {
                panic!("link {l} without document");
            };
            links_by_document.entry(document).or_default().push(field(
                Generated::ContentDocumentLink,
                l,
                "LinkedEntityId",
            ));
        }
        assert_eq!(links_by_document.len() as u64, documents);
        let (mut several_versions, mut three_records) = (0, 0);
        for d in 0..documents {
            let id = org.id(Generated::ContentDocument, d);
            let versions = &versions_by_document[&id];
            let numbers: Vec<u64> = versions.iter().map(|v| v.0).collect();
            assert_eq!(
                numbers,
                (1..=versions.len() as u64).collect::<Vec<_>>(),
                "{id}"
            );
            let latest: Vec<&(u64, bool, String)> = versions.iter().filter(|v| v.1).collect();
            assert_eq!(latest.len(), 1, "{id}");
            assert_eq!(latest[0].0, versions.len() as u64, "{id}");
            assert_eq!(
                field(Generated::ContentDocument, d, "LatestPublishedVersionId"),
                Val::Str(latest[0].2.clone()),
                "{id}"
            );
            several_versions += usize::from(versions.len() > 1);
            let links = &links_by_document[&id];
            assert!((2..=4).contains(&links.len()), "{id}: {links:?}");
            let Val::Str(owner) = &links[0] else {
                panic!("{id}")
            };
            assert!(owner.starts_with("005"), "{id}: {owner}");
            assert_eq!(links[0], field(Generated::ContentDocument, d, "OwnerId"));
            let mut distinct = links.clone();
            distinct.dedup();
            assert_eq!(&distinct, links, "{id}");
            three_records += usize::from(links.len() == 4);
        }
        assert!(several_versions > 0 && three_records > 0);
    }

    #[test]
    fn counts_add_up() {
        for n in [0u64, 1, 2, 3, 7, 10, 49, 50, 1000, 12_345, 1_000_000] {
            let org = Org::new(1, n);
            assert_eq!(org.scaled_total(), n, "records {n}");
            if n >= 2 {
                assert!(org.count(Generated::User) >= 1 && org.count(Generated::Account) >= 1);
            }
            let documents = org.count(Generated::ContentDocument);
            if documents > 0 {
                assert!(org.count(Generated::ContentVersion) > documents);
                assert!(org.count(Generated::ContentDocumentLink) > 2 * documents);
                let last = org.count(Generated::ContentVersion) - 1;
                assert_eq!(org.version_of(last).0, documents - 1);
                assert_eq!(
                    org.link_of(org.count(Generated::ContentDocumentLink) - 1).0,
                    documents - 1
                );
            }
            assert_eq!(
                org.count(Generated::EventRelation),
                2 * org.count(Generated::Event)
            );
        }
        let counts = split_counts(1000);
        assert_eq!(counts[&Generated::User], 20);
        assert_eq!(counts[&Generated::Account], 100);
        assert_eq!(counts[&Generated::Contact], 354);
    }

    #[test]
    fn activities_are_archived_by_salesforce_rule_and_counted() {
        let org = Org::new(5, 4_000);
        for kind in [Generated::Task, Generated::Event] {
            let object = generated_object(kind);
            let field = |values: &[Val], name: &str| {
                object
                    .field_index(name)
                    .map_or(Val::Null, |i| values[i].clone())
            };
            let mut archived_live = 0;
            for index in 0..org.count(kind) {
                let values = org.record(kind, index);
                let expected = if kind == Generated::Task {
                    field(&values, "IsClosed") == Val::Bool(true)
                        && match (
                            field(&values, "ActivityDate"),
                            field(&values, "CreatedDate"),
                        ) {
                            (Val::Date(day), _) => day * 86_400 < ARCHIVE_BEFORE,
                            (_, Val::DateTime(at)) => at < ARCHIVE_BEFORE,
                            _ => false,
                        }
                } else {
                    matches!(field(&values, "EndDateTime"), Val::DateTime(end) if end < ARCHIVE_BEFORE)
                };
                assert_eq!(
                    field(&values, "IsArchived"),
                    Val::Bool(expected),
                    "{kind:?} {index}"
                );
                assert_eq!(org.is_archived(kind, index), expected, "{kind:?} {index}");
                archived_live += u64::from(expected && !org.is_deleted(kind, index));
            }
            assert!(archived_live > 0, "{kind:?}");
            assert_eq!(org.archived_count(kind), archived_live, "{kind:?}");
            assert_eq!(
                org.visible_count(kind),
                org.live_count(kind) - archived_live
            );
        }
        assert_eq!(org.archived_count(Generated::Contact), 0);
    }

    #[test]
    fn deleted_counts_match_the_slots() {
        for n in [0u64, 37, 38, 600, 12_345] {
            let org = Org::new(3, n);
            for kind in Generated::ALL {
                let deleted = (0..org.count(kind))
                    .filter(|&i| org.is_deleted(kind, i))
                    .count() as u64;
                assert_eq!(deleted, org.deleted_count(kind), "{kind:?} of {n}");
                let flagged = generated_object(kind).field_index("IsDeleted");
                if let Some(field) = flagged {
                    for i in 0..org.count(kind) {
                        assert_eq!(
                            org.record(kind, i)[field],
                            Val::Bool(org.is_deleted(kind, i)),
                            "{kind:?} {i}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn values_match_field_types_and_limits() {
        for org in [
            Org::new(7, 6000),
            Org::with_features(7, 3000, Mix::Sales, Features::ALL),
        ] {
            values_match_field_types_and_limits_in(&org);
        }
    }

    fn values_match_field_types_and_limits_in(org: &Org) {
        for kind in Generated::ALL {
            let object = generated_object(kind);
            for index in 0..org.count(kind) {
                let record = org.record(kind, index);
                assert_eq!(record.len(), object.fields.len(), "{}", object.name);
                for (field, value) in object.fields.iter().zip(&record) {
                    let ok = match value {
                        Val::Null => {
                            field.nillable
                                || matches!(field.ftype, FieldType::Address | FieldType::Base64)
                        }
                        Val::Str(_) => field.ftype.is_text(),
                        Val::Int(_) => field.ftype == FieldType::Int,
                        Val::Num(_) => matches!(
                            field.ftype,
                            FieldType::Currency | FieldType::Double | FieldType::Percent
                        ),
                        Val::Bool(_) => field.ftype == FieldType::Boolean,
                        Val::Date(_) => field.ftype == FieldType::Date,
                        Val::DateTime(_) => field.ftype == FieldType::Datetime,
                    };
                    assert!(ok, "{}.{} = {value:?}", object.name, field.name);
                    if let Val::Str(s) = value {
                        if field.length > 0 {
                            assert!(
                                s.chars().count() <= field.length as usize,
                                "{}.{} too long",
                                object.name,
                                field.name
                            );
                        }
                        if !field.picklist.is_empty() {
                            for part in s.split(';') {
                                assert!(
                                    field.picklist.contains(&part),
                                    "{}.{} = {s}",
                                    object.name,
                                    field.name
                                );
                            }
                        }
                        if field.ftype == FieldType::Reference && !org.is_deleted(kind, index) {
                            let target = org.locate(s);
                            assert!(
                                target.is_some_and(|(k, i)| {
                                    field.reference_to.contains(&k.object_name())
                                        && !org.is_deleted(k, i)
                                }),
                                "{}.{} = {s} points nowhere",
                                object.name,
                                field.name
                            );
                        }
                    }
                }
                assert_eq!(org.index_of(kind, &org.id(kind, index)), Some(index));
                assert_eq!(org.locate(&org.id(kind, index)), Some((kind, index)));
            }
        }
    }

    #[test]
    fn blobs_have_their_declared_length_and_are_deterministic() {
        let org = Org::new(9, 20_000);
        let attachment = generated_object(Generated::Attachment);
        let length = attachment.field_index("BodyLength").unwrap_or(0);
        let mut big = 0;
        for i in 0..org.count(Generated::Attachment) {
            let Some(blob) = org.blob(Generated::Attachment, i) else {
                panic!("attachment {i} has no body");
            };
            assert_eq!(
                org.record(Generated::Attachment, i)[length],
                Val::Int(blob.len as i64)
            );
            big += usize::from(blob.len > 1_000_000);
        }
        assert!(big > 0, "some bodies are megabytes");
        let Some(blob) = org.blob(Generated::ContentVersion, 3) else {
            panic!("no version data");
        };
        let whole = org.blob_bytes(&blob, 0, blob.len);
        assert_eq!(whole.len() as u64, blob.len);
        let split: Vec<u8> = [
            org.blob_bytes(&blob, 0, 5),
            org.blob_bytes(&blob, 5, blob.len),
        ]
        .concat();
        assert_eq!(split, whole);
        assert_eq!(Org::new(9, 20_000).blob_bytes(&blob, 0, blob.len), whole);
        assert_eq!(org.blob(Generated::Account, 0), None);
    }

    #[test]
    fn mutations_stamp_now_and_delete() -> Result<(), MutateError> {
        let org = Org::new(42, 1000);
        let contacts = org.live_count(Generated::Contact);
        let now = 1_800_000_000;
        let mutation = org.mutate("contact", 3, 2, now)?;
        assert_eq!((mutation.modified.len(), mutation.deleted.len()), (3, 2));
        assert_eq!(org.live_count(Generated::Contact), contacts - 2);
        let object = generated_object(Generated::Contact);
        let stamp = object.field_index("SystemModstamp").unwrap_or(0);
        let deleted = object.field_index("IsDeleted").unwrap_or(0);
        for id in &mutation.modified {
            let Some((kind, i)) = org.locate(id) else {
                panic!("{id} unknown");
            };
            let record = org.record(kind, i);
            assert_eq!(record[stamp], Val::DateTime(now));
            assert_ne!(record, org.generate(kind, i));
            assert_eq!(record[deleted], Val::Bool(false));
        }
        for id in &mutation.deleted {
            let Some((kind, i)) = org.locate(id) else {
                panic!("{id} unknown");
            };
            assert!(org.is_deleted(kind, i));
            assert_eq!(org.record(kind, i)[deleted], Val::Bool(true));
        }
        let again = org.mutate("Contact", 1, 0, now)?;
        assert!(!mutation.modified.contains(&again.modified[0]));
        assert_eq!(
            org.mutate("User", 0, 1, now),
            Err(MutateError::NotDeletable("User".into()))
        );
        assert!(matches!(
            org.mutate("Nope", 1, 0, now),
            Err(MutateError::UnknownObject(_))
        ));
        Ok(())
    }

    #[test]
    fn reporting_lines_point_to_earlier_live_contacts() {
        let org = Org::new(4, 5000);
        let object = generated_object(Generated::Contact);
        let field = object.field_index("ReportsToId").unwrap_or(0);
        let mut with_manager = 0;
        for i in 0..org.count(Generated::Contact) {
            if let Val::Str(id) = &org.record(Generated::Contact, i)[field] {
                let manager = org.index_of(Generated::Contact, id);
                assert!(manager.is_some_and(|m| m < i), "{i} reports to {manager:?}");
                with_manager += 1;
            }
        }
        assert!(with_manager > 100);
    }

    #[test]
    fn many_records_share_a_system_modstamp() {
        let org = Org::new(42, 5000);
        let object = generated_object(Generated::Task);
        let stamp = object.field_index("SystemModstamp").unwrap_or(0);
        let shared = (0..org.count(Generated::Task))
            .filter(|&i| org.record(Generated::Task, i)[stamp] == Val::DateTime(MASS_UPDATE))
            .count();
        assert!(shared > 50, "{shared}");
    }

    #[test]
    fn hierarchy_is_acyclic_and_has_children_before_parents() {
        let org = Org::new(42, 2000);
        let accounts = org.count(Generated::Account);
        let mut with_parent = 0;
        let mut forward = 0;
        let mut deepest = 0;
        for i in 0..accounts {
            let mut depth = 0;
            let mut cursor = i;
            while let Some(parent) = org.account_parent(cursor) {
                assert!(parent < accounts);
                assert!(!org.is_deleted(Generated::Account, parent));
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
        let org = Org::new(42, 30_000);
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

#[cfg(test)]
mod product_tests {
    use super::*;

    fn value(org: &Org, kind: Generated, index: u64, field: &str) -> Val {
        let at = generated_object(kind)
            .field_index(field)
            .unwrap_or_else(|| panic!("{} has no {field}", kind.object_name()));
        org.record(kind, index)[at].clone()
    }

    fn id_index(org: &Org, kind: Generated, value: &Val) -> u64 {
        match value {
            Val::Str(id) => org
                .index_of(kind, id)
                .unwrap_or_else(|| panic!("{id} is no {}", kind.object_name())),
            other => panic!("{other:?} is not an id of {}", kind.object_name()),
        }
    }

    fn multi_currency(seed: u64, records: u64) -> Org {
        let features = Features {
            multi_currency: true,
            ..Features::default()
        };
        Org::with_features(seed, records, Mix::Sales, features)
    }

    #[test]
    fn there_is_one_standard_price_book_and_custom_entries_have_a_standard_entry() {
        for org in [Org::new(3, 2_000), multi_currency(3, 2_000)] {
            let books = org.count(Generated::Pricebook2);
            let standard: Vec<u64> = (0..books)
                .filter(|&b| value(&org, Generated::Pricebook2, b, "IsStandard") == Val::Bool(true))
                .collect();
            assert_eq!(standard.len(), 1);
            let currency = |e: u64| {
                org.features()
                    .multi_currency
                    .then(|| value(&org, Generated::PricebookEntry, e, "CurrencyIsoCode"))
            };
            let entries = org.count(Generated::PricebookEntry);
            assert!(entries > 0);
            let mut keys = std::collections::HashSet::new();
            for e in 0..entries {
                let book = id_index(
                    &org,
                    Generated::Pricebook2,
                    &value(&org, Generated::PricebookEntry, e, "Pricebook2Id"),
                );
                let product = id_index(
                    &org,
                    Generated::Product2,
                    &value(&org, Generated::PricebookEntry, e, "Product2Id"),
                );
                assert!(
                    keys.insert((book, product, format!("{:?}", currency(e)))),
                    "entry {e} twice"
                );
                if book != standard[0] {
                    let has_standard = (0..entries).any(|s| {
                        value(&org, Generated::PricebookEntry, s, "Pricebook2Id")
                            == Val::Str(org.id(Generated::Pricebook2, standard[0]))
                            && value(&org, Generated::PricebookEntry, s, "Product2Id")
                                == Val::Str(org.id(Generated::Product2, product))
                            && currency(s) == currency(e)
                    });
                    assert!(has_standard, "entry {e} has no standard entry");
                } else {
                    assert_eq!(
                        value(&org, Generated::PricebookEntry, e, "UseStandardPrice"),
                        Val::Bool(false)
                    );
                }
            }
            // A multi-currency org has an entry per currency.
            let per_currency = org.count(Generated::Product2) * books;
            let currencies = if org.features().multi_currency {
                crate::schema::CURRENCY_CODES.len() as u64
            } else {
                1
            };
            assert_eq!(entries, per_currency * currencies);
        }
    }

    #[test]
    fn line_items_come_from_their_opportunitys_price_book_in_its_currency() {
        for org in [Org::new(9, 3_000), multi_currency(9, 3_000)] {
            let items = org.count(Generated::OpportunityLineItem);
            assert!(items > 0);
            let mut with_items = std::collections::HashSet::new();
            for i in 0..items {
                let opportunity = id_index(
                    &org,
                    Generated::Opportunity,
                    &value(&org, Generated::OpportunityLineItem, i, "OpportunityId"),
                );
                with_items.insert(opportunity);
                let entry = id_index(
                    &org,
                    Generated::PricebookEntry,
                    &value(&org, Generated::OpportunityLineItem, i, "PricebookEntryId"),
                );
                let book = value(&org, Generated::Opportunity, opportunity, "Pricebook2Id");
                assert_ne!(
                    book,
                    Val::Null,
                    "opportunity {opportunity} has items but no price book"
                );
                assert_eq!(
                    value(&org, Generated::PricebookEntry, entry, "Pricebook2Id"),
                    book,
                    "item {i}"
                );
                assert_eq!(
                    value(&org, Generated::PricebookEntry, entry, "IsActive"),
                    Val::Bool(true)
                );
                assert_eq!(
                    value(&org, Generated::PricebookEntry, entry, "Product2Id"),
                    value(&org, Generated::OpportunityLineItem, i, "Product2Id")
                );
                assert_eq!(
                    value(&org, Generated::PricebookEntry, entry, "UnitPrice"),
                    value(&org, Generated::OpportunityLineItem, i, "ListPrice")
                );
                if org.features().multi_currency {
                    let code = value(&org, Generated::OpportunityLineItem, i, "CurrencyIsoCode");
                    assert_eq!(
                        code,
                        value(&org, Generated::Opportunity, opportunity, "CurrencyIsoCode")
                    );
                    assert_eq!(
                        code,
                        value(&org, Generated::PricebookEntry, entry, "CurrencyIsoCode")
                    );
                }
                let number =
                    |field: &str| match value(&org, Generated::OpportunityLineItem, i, field) {
                        Val::Num(n) => n,
                        Val::Null => 0.0,
                        other => panic!("{field} {other:?}"),
                    };
                let expected =
                    number("UnitPrice") * number("Quantity") * (1.0 - number("Discount") / 100.0);
                // Rounded to the currency's places (none for yen).
                assert!((number("TotalPrice") - expected).abs() <= 0.5, "item {i}");
            }
            for o in 0..org.count(Generated::Opportunity) {
                if !with_items.contains(&o) {
                    assert_eq!(
                        value(&org, Generated::Opportunity, o, "Pricebook2Id"),
                        Val::Null
                    );
                }
            }
        }
    }

    #[test]
    fn products_and_line_items_come_on_top_of_the_records_asked_for() {
        for n in [0u64, 1, 999, 1_000, 12_345] {
            let org = Org::new(1, n);
            assert_eq!(org.scaled_total(), n);
            let opportunities = org.count(Generated::Opportunity);
            assert_eq!(
                org.count(Generated::OpportunityLineItem),
                opportunities.div_ceil(2) * 2
            );
        }
    }

    #[test]
    fn campaigns_have_a_hierarchy_and_converted_leads_members_carry_the_contact() {
        let org = Org::new(4, 5_000);
        let campaigns = org.count(Generated::Campaign);
        let mut children = 0;
        for c in 0..campaigns {
            let parent = value(&org, Generated::Campaign, c, "ParentId");
            if parent != Val::Null {
                let p = id_index(&org, Generated::Campaign, &parent);
                assert!(!org.is_deleted(Generated::Campaign, p));
                assert_eq!(value(&org, Generated::Campaign, p, "ParentId"), Val::Null);
                children += 1;
            }
        }
        assert!(children > 0);
        let mut both = 0;
        for m in 0..org.count(Generated::CampaignMember) {
            let lead = value(&org, Generated::CampaignMember, m, "LeadId");
            let contact = value(&org, Generated::CampaignMember, m, "ContactId");
            assert!(lead != Val::Null || contact != Val::Null, "member {m}");
            if lead != Val::Null {
                let l = id_index(&org, Generated::Lead, &lead);
                assert_eq!(
                    contact,
                    value(&org, Generated::Lead, l, "ConvertedContactId")
                );
                both += usize::from(contact != Val::Null);
            }
        }
        assert!(both > 0, "no member of a converted lead");
    }

    #[test]
    fn cases_have_earlier_parents_comments_and_emails_and_their_comments_go_with_them() {
        let org = Org::new(4, 5_000);
        let cases = org.count(Generated::Case);
        assert_eq!(org.count(Generated::CaseComment), cases * CASE_COMMENTS);
        let mut children = 0;
        for c in 0..cases {
            let parent = value(&org, Generated::Case, c, "ParentId");
            if parent != Val::Null {
                let p = id_index(&org, Generated::Case, &parent);
                assert!(p < c, "case {c}'s parent {p} comes after it");
                assert!(!org.is_deleted(Generated::Case, p));
                children += 1;
            }
            for comment in c * CASE_COMMENTS..(c + 1) * CASE_COMMENTS {
                let on = value(&org, Generated::CaseComment, comment, "ParentId");
                assert_eq!(id_index(&org, Generated::Case, &on), c);
                assert_eq!(
                    org.is_deleted(Generated::CaseComment, comment),
                    org.is_deleted(Generated::Case, c)
                );
            }
        }
        assert!(children > 0);
        assert_eq!(
            org.deleted_count(Generated::CaseComment),
            (0..org.count(Generated::CaseComment))
                .filter(|&i| org.is_deleted(Generated::CaseComment, i))
                .count() as u64
        );
        // Case emails: ParentId and RelatedToId are the case, and the companion task is
        // about the case too.
        let mut case_emails = 0;
        for e in 0..org.count(Generated::EmailMessage) {
            let parent = value(&org, Generated::EmailMessage, e, "ParentId");
            if parent == Val::Null {
                continue;
            }
            case_emails += 1;
            assert_eq!(
                value(&org, Generated::EmailMessage, e, "RelatedToId"),
                parent
            );
            if let Some(task) = org.email_task_of(e) {
                assert_eq!(value(&org, Generated::Task, task, "WhatId"), parent);
            }
        }
        assert!(case_emails > 0);
        let about_cases = (0..org.count(Generated::Event))
            .filter(|&e| {
                matches!(value(&org, Generated::Event, e, "WhatId"), Val::Str(s) if s.starts_with("500"))
            })
            .count();
        assert!(about_cases > 0);
    }
}

#[cfg(test)]
mod knowledge_tests {
    use super::*;

    fn value(org: &Org, kind: Generated, index: u64, field: &str) -> Val {
        let at = generated_object(kind)
            .field_index(field)
            .unwrap_or_else(|| panic!("{} has no {field}", kind.object_name()));
        org.record(kind, index)[at].clone()
    }

    #[test]
    fn every_published_article_has_one_online_version_and_drafts_and_archives_exist() {
        let org = Org::new(7, 10_000);
        let kind = Generated::KnowledgeArticleVersion;
        let versions = org.count(kind);
        assert_eq!(versions, 40 / 10 * 18, "40 articles, 18 versions per ten");
        let mut by_article: BTreeMap<String, Vec<(i64, String, bool)>> = BTreeMap::new();
        for i in 0..versions {
            let article = value(&org, kind, i, "KnowledgeArticleId");
            let number = match value(&org, kind, i, "VersionNumber") {
                Val::Int(n) => n,
                other => panic!("VersionNumber {other:?}"),
            };
            let status = value(&org, kind, i, "PublishStatus");
            let latest = value(&org, kind, i, "IsLatestVersion") == Val::Bool(true);
            by_article
                .entry(article.as_str().unwrap_or_default().to_string())
                .or_default()
                .push((
                    number,
                    status.as_str().unwrap_or_default().to_string(),
                    latest,
                ));
        }
        assert_eq!(by_article.len(), 40);
        let mut statuses = BTreeMap::new();
        for (article, versions) in &by_article {
            let online = versions.iter().filter(|v| v.1 == "Online").count();
            assert!(online <= 1, "{article}: {online} online versions");
            let numbers: Vec<i64> = versions.iter().map(|v| v.0).collect();
            let expected: Vec<i64> = (1..=versions.len() as i64).collect();
            assert_eq!(numbers, expected, "{article}: versions numbered 1..n");
            assert_eq!(
                versions.iter().filter(|v| v.2).count(),
                1,
                "{article}: one latest version"
            );
            assert!(versions.last().is_some_and(|v| v.2));
            for version in versions {
                *statuses.entry(version.1.clone()).or_insert(0) += 1;
            }
        }
        assert_eq!(statuses.get("Online"), Some(&32));
        assert_eq!(statuses.get("Draft"), Some(&16));
        assert_eq!(statuses.get("Archived"), Some(&24));
    }

    #[test]
    fn every_version_carries_its_articles_categories() {
        let org = Org::new(7, 10_000);
        let selections = org.count(Generated::DataCategorySelection);
        let mut per_version: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for i in 0..selections {
            let parent = value(&org, Generated::DataCategorySelection, i, "ParentId");
            let group = value(
                &org,
                Generated::DataCategorySelection,
                i,
                "DataCategoryGroupName",
            );
            let name = value(
                &org,
                Generated::DataCategorySelection,
                i,
                "DataCategoryName",
            );
            per_version
                .entry(parent.as_str().unwrap_or_default().to_string())
                .or_default()
                .push((
                    group.as_str().unwrap_or_default().to_string(),
                    name.as_str().unwrap_or_default().to_string(),
                ));
        }
        let versions = org.count(Generated::KnowledgeArticleVersion);
        assert_eq!(
            per_version.len() as u64,
            versions,
            "every version has categories"
        );
        for v in 0..versions {
            let id = org.id(Generated::KnowledgeArticleVersion, v);
            let article = org.article_version(v).article;
            let expected: Vec<(String, String)> = org
                .article_categories(article)
                .into_iter()
                .map(|(g, c)| (g.to_string(), c.to_string()))
                .collect();
            assert_eq!(per_version.get(&id), Some(&expected), "version {v}");
        }
    }

    #[test]
    fn each_contact_with_an_account_has_one_direct_relation_to_it() {
        let org = Org::new(7, 5_000);
        let kind = Generated::AccountContactRelation;
        let contacts = org.count(Generated::Contact);
        assert_eq!(org.count(kind), contacts + contacts / 4);
        let mut direct = 0;
        for i in 0..org.count(kind) {
            let contact = value(&org, kind, i, "ContactId");
            let c = org
                .index_of(Generated::Contact, contact.as_str().unwrap_or_default())
                .unwrap_or_else(|| panic!("relation {i}: {contact:?} is no contact of the org"));
            let own = value(&org, Generated::Contact, c, "AccountId");
            let account = value(&org, kind, i, "AccountId");
            assert!(!account.is_null(), "relation {i} has an account");
            if value(&org, kind, i, "IsDirect") == Val::Bool(true) {
                direct += 1;
                assert_eq!(account, own, "relation {i} is to the contact's own account");
            } else {
                assert_ne!(
                    account, own,
                    "an indirect relation {i} is to another account"
                );
            }
            assert_eq!(
                org.is_deleted(kind, i),
                org.is_deleted(Generated::Contact, c),
                "relation {i} goes with its contact"
            );
        }
        let with_account = (0..contacts)
            .filter(|&c| !value(&org, Generated::Contact, c, "AccountId").is_null())
            .count();
        assert_eq!(direct, with_account);
        let deleted = (0..org.count(kind))
            .filter(|&i| org.is_deleted(kind, i))
            .count() as u64;
        assert_eq!(org.deleted_count(kind), deleted);
    }
}
