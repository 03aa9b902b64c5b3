//! The field map: which Salesforce object becomes which destination entity, field by field.
//!
//! The map is data, not code. The built-in map ships as `default_map.json` beside this crate;
//! the pipeline reads only the parsed [`FieldMap`], so a user-supplied map can replace it
//! without touching any step.
//!
//! A user rarely wants to restate the whole map: an override file ([`MapOverrides`], JSON or
//! TOML) changes it object by object and field by field, and [`FieldMap::overlay`] applies it
//! and validates the result. An override can
//!
//! - replace an object's destination entity (`"entity": "contact"`);
//! - add, replace or drop a field mapping (`"Phone": "phone"`, `"Fax": null`); a field may
//!   be a parent's, one relationship up (`"RecordType.Name": "pipeline"`), read as text;
//! - add, replace or drop a link (`"ParentId": "parent_company"`, `"ParentId": null`); a
//!   polymorphic reference names a link per object its id may name
//!   (`"WhatId": { "Account": "company", "Opportunity": "opportunity" }`), told apart at load
//!   by the id's key prefix ([`LinkTarget`]);
//! - add, replace or drop a constant value of a standard field (`"values": { "tags": ["lead"] }`);
//! - set or clear the reference that makes a record land as another
//!   (`"replaced_by": "ConvertedContactId"`, see [`ObjectMap::replaced_by`]);
//!   the whole map (not yet an override) may make that conditional on the record's own
//!   values (`"replaced_when": {"IsPersonAccount": true}`) and land some records of an
//!   object as another entity (`"variants"`, [`ObjectMap::variants`]: person accounts);
//! - add a whole new object (it must name its entity);
//! - drop an object (`"Lead": null`), or leave out one the map does not name, which would
//!   otherwise land as custom or generic records (`"Solution": null`);
//! - leave out the custom objects the map does not name (`"custom_objects": false`), which
//!   otherwise land as custom records;
//! - leave out the standard objects with data that the map does not name
//!   (`"generic_objects": false`), which otherwise land as generic records (custom records
//!   keeping the object's name and every field, see [`crate::plan::generic_object_map`]).
//!
//! TOML has no `null`, so `false` drops too, in either format (`Fax = false`). Salesforce API
//! names are case-insensitive, and so is the matching of an override's object and field names
//! against the map's.
//!
//! ```json
//! {
//!   "version": 4,
//!   "objects": {
//!     "Account": { "fields": { "Phone": null, "Main_Phone__c": "phone" } },
//!     "Contact": { "fields": { "Title": null, "Job_Title__c": "job_title" } },
//!     "Partner__c": { "entity": "company", "fields": { "Name": "name" } }
//!   }
//! }
//! ```
//!
//! ```toml
//! version = 4
//!
//! [objects.Account.fields]
//! Phone = false
//! Main_Phone__c = "phone"
//!
//! [objects.Contact.fields]
//! Title = false
//! Job_Title__c = "job_title"
//!
//! [objects.Partner__c]
//! entity = "company"
//! fields = { Name = "name" }
//! ```
//!
//! # Versions
//!
//! Every map carries a `version`: the revision of the built-in map (and of this format) it was
//! written for, [`MAP_VERSION`] in this Ferry. A whole map of another version is refused, and
//! so is an override written for another version than the map it overlays: a mismatch is an
//! error, not a warning, because an override written against an older built-in map may drop
//! or re-target fields the new one handles differently, and a migration must not run on a map
//! nobody reviewed. The fix is to read the override against the new built-in map and raise its
//! `version`.
//!
//! # Validation
//!
//! A map, and the result of every overlay, is checked as a whole; the first fault found is
//! returned as a [`MapError`] naming the object, the field and the reason: an unknown entity,
//! a target that is not a standard field (or link) of the entity, two fields of one object
//! filling the same target (a constant counts as a source), one Salesforce field mapped
//! twice, a polymorphic link table naming no link, a constant its field cannot hold, or a
//! field the destination requires (such as a company's `name`) that nothing fills.
//!
//! # Entities
//!
//! The reference CRM holds companies, contacts (leads among them, tagged), owners (the
//! destination's users: matched by email, never created), opportunities, pipeline stages,
//! contact roles, tasks, events and their attendees, notes, files with their bytes,
//! conversations (emails), custom records, products, price books and their entries, line
//! items, campaigns and campaign members, file links, recurring series, cases and case
//! comments ([`EntityKind`]). Each entity is defined once,
//! in an [`EntitySchema`]: its standard fields with how each is held and whether it is
//! required, and its links with the entity each points to. The map's validation, the
//! transform and the SQLite destination's tables all read that one definition.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

/// The version of the built-in map, and the only version of a map or override this Ferry reads.
pub const MAP_VERSION: u32 = 4;

/// The kinds of record the reference CRM holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Company,
    Contact,
    /// A destination user who can own records. Salesforce users are matched to owners by
    /// email; a migration never creates one.
    Owner,
    Opportunity,
    /// A stage of an opportunity pipeline, with its order and probability.
    Stage,
    /// A contact's role on an opportunity.
    ContactRole,
    /// A task or a logged call.
    Task,
    /// A calendar event.
    Event,
    /// A person invited to an event: a contact or an owner.
    Attendee,
    Note,
    /// A file attached to a record, with its bytes.
    File,
    /// An email, as a conversation history entry.
    Conversation,
    /// A record of a Salesforce custom object, kept with the object's name.
    CustomRecord,
    /// A team (a Salesforce queue): a shared owner of records, such as leads nobody has
    /// picked up yet.
    Team,
    /// A product of the catalog.
    Product,
    /// A price book: the standard one or a custom one.
    PriceBook,
    /// A product's price in a price book, in one currency.
    PriceBookEntry,
    /// A product on an opportunity, from an entry of the opportunity's price book.
    LineItem,
    /// A marketing campaign, in a hierarchy.
    Campaign,
    /// A contact or lead who is a member of a campaign.
    CampaignMember,
    /// A file shared to a record (a Salesforce ContentDocumentLink): one file can be
    /// attached to several records, one link each.
    FileLink,
    /// A recurring series of tasks or events: its rule, which its occurrences link to.
    Series,
    /// A support case, in a hierarchy of cases, owned by a person or a team (a queue).
    Case,
    /// A comment on a case, written by an owner.
    CaseComment,
    /// A contract with a company: its term, status and the price book its orders use.
    Contract,
    /// An order of a company, under a contract or none, from one price book.
    Order,
    /// A product on an order, from an entry of the order's price book.
    OrderItem,
    /// A quote on an opportunity, from the opportunity's price book.
    Quote,
    /// A product on a quote, from an entry of the quote's price book.
    QuoteLineItem,
    /// A product a company or contact owns, in a hierarchy of assets.
    Asset,
    /// A knowledge base article: its published (online) version.
    KnowledgeArticle,
    /// A data category an article is classified in (a group and a category).
    ArticleCategory,
    /// A contact's relation to an account other than its own company (Salesforce's
    /// Contacts to Multiple Accounts), with the contact's roles there.
    AccountContactRelation,
}

/// One standard field of an entity: its name, how it is held, and whether the destination
/// refuses a record without it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StandardField {
    pub name: &'static str,
    pub kind: ValueKind,
    pub required: bool,
}

/// What the reference CRM holds of one entity: the one definition the map's validation, the
/// transform and the SQLite destination's tables are all derived from.
#[derive(Debug, Clone, Copy)]
pub struct EntitySchema {
    /// The table (or collection) that holds the entity.
    pub table: &'static str,
    pub fields: &'static [StandardField],
    /// The links this entity can hold, and the entity each one points to.
    pub links: &'static [(&'static str, EntityKind)],
    /// Whether a migration creates records of this entity. Owners are only matched.
    pub created_by_migration: bool,
}

const fn text(name: &'static str) -> StandardField {
    StandardField {
        name,
        kind: ValueKind::Text,
        required: false,
    }
}

const fn required(name: &'static str) -> StandardField {
    StandardField {
        name,
        kind: ValueKind::Text,
        required: true,
    }
}

const fn of_kind(name: &'static str, kind: ValueKind) -> StandardField {
    StandardField {
        name,
        kind,
        required: false,
    }
}

/// Every entity keeps when its record was created and last changed in Salesforce.
const CREATED_AT: StandardField = text("created_at");
const UPDATED_AT: StandardField = text("updated_at");

/// The standard field holding the currency of a record's money values.
pub const CURRENCY_FIELD: &str = "currency";

/// Every entity that carries money (an amount, a revenue, a custom currency field) keeps the
/// currency of all of its money values: the ISO 4217 code of the record's Salesforce
/// `CurrencyIsoCode` in a multi-currency org, the org's currency otherwise. No conversion.
const CURRENCY: StandardField = text(CURRENCY_FIELD);

const COMPANY: EntitySchema = EntitySchema {
    table: "companies",
    fields: &[
        required("name"),
        text("website"),
        text("industry"),
        text("phone"),
        of_kind("employee_count", ValueKind::Integer),
        of_kind("annual_revenue", ValueKind::Decimal),
        text("description"),
        CREATED_AT,
        UPDATED_AT,
        of_kind("billing_address", ValueKind::Json),
        of_kind("shipping_address", ValueKind::Json),
        CURRENCY,
    ],
    links: &[
        ("parent_company", EntityKind::Company),
        ("owner", EntityKind::Owner),
    ],
    created_by_migration: true,
};

const CONTACT: EntitySchema = EntitySchema {
    table: "contacts",
    fields: &[
        text("first_name"),
        required("last_name"),
        text("email"),
        text("phone"),
        text("job_title"),
        CREATED_AT,
        UPDATED_AT,
        of_kind("mailing_address", ValueKind::Json),
        // A list of labels: a contact that was a Salesforce lead is tagged `lead`.
        of_kind("tags", ValueKind::Json),
        // A lead's company, as text: a lead belongs to no company record yet.
        text("company_name"),
        text("lead_status"),
        text("lead_source"),
        CURRENCY,
    ],
    links: &[
        ("company", EntityKind::Company),
        ("reports_to", EntityKind::Contact),
        ("owner", EntityKind::Owner),
        // The team (a Salesforce queue) that owns a lead instead of a person.
        ("team", EntityKind::Team),
    ],
    created_by_migration: true,
};

const OWNER: EntitySchema = EntitySchema {
    table: "owners",
    // `active`: false when the person left the company in the source CRM (an inactive
    // Salesforce user); a matched user is given it, never created.
    fields: &[
        required("email"),
        required("name"),
        of_kind("active", ValueKind::Boolean),
    ],
    links: &[],
    created_by_migration: false,
};

const OPPORTUNITY: EntitySchema = EntitySchema {
    table: "opportunities",
    fields: &[
        required("name"),
        of_kind("amount", ValueKind::Decimal),
        text("stage"),
        // A percentage, kept exactly.
        of_kind("probability", ValueKind::Decimal),
        text("pipeline"),
        text("close_date"),
        text("type"),
        text("lead_source"),
        text("forecast_category"),
        of_kind("is_closed", ValueKind::Boolean),
        of_kind("is_won", ValueKind::Boolean),
        text("description"),
        CREATED_AT,
        UPDATED_AT,
        CURRENCY,
    ],
    links: &[
        ("company", EntityKind::Company),
        ("owner", EntityKind::Owner),
        // The person a deal is with when its Salesforce account is a person account: that
        // person lands as a contact, not a company.
        ("contact", EntityKind::Contact),
        // The price book its line items come from.
        ("price_book", EntityKind::PriceBook),
    ],
    created_by_migration: true,
};

const STAGE: EntitySchema = EntitySchema {
    table: "stages",
    fields: &[
        required("name"),
        text("api_name"),
        text("pipeline"),
        of_kind("sort_order", ValueKind::Integer),
        of_kind("probability", ValueKind::Decimal),
        of_kind("is_closed", ValueKind::Boolean),
        of_kind("is_won", ValueKind::Boolean),
        of_kind("is_active", ValueKind::Boolean),
        text("forecast_category"),
        text("description"),
        CREATED_AT,
        UPDATED_AT,
    ],
    links: &[],
    created_by_migration: true,
};

const CONTACT_ROLE: EntitySchema = EntitySchema {
    table: "contact_roles",
    fields: &[
        text("role"),
        of_kind("is_primary", ValueKind::Boolean),
        CREATED_AT,
        UPDATED_AT,
    ],
    links: &[
        ("opportunity", EntityKind::Opportunity),
        ("contact", EntityKind::Contact),
    ],
    created_by_migration: true,
};

/// Tasks, events, notes and files hang off a contact, a company, an opportunity or a case.
const ACTIVITY_LINKS: &[(&str, EntityKind)] = &[
    ("contact", EntityKind::Contact),
    ("company", EntityKind::Company),
    ("opportunity", EntityKind::Opportunity),
    ("owner", EntityKind::Owner),
    ("case", EntityKind::Case),
];

/// A task or an event may be an occurrence of a recurring series.
const OCCURRENCE_LINKS: &[(&str, EntityKind)] = &[
    ("contact", EntityKind::Contact),
    ("company", EntityKind::Company),
    ("opportunity", EntityKind::Opportunity),
    ("owner", EntityKind::Owner),
    ("series", EntityKind::Series),
    ("case", EntityKind::Case),
];

const TASK: EntitySchema = EntitySchema {
    table: "tasks",
    fields: &[
        text("subject"),
        text("due_date"),
        text("status"),
        text("priority"),
        of_kind("is_closed", ValueKind::Boolean),
        // `Call`, `Email` or `Task`: calls are tasks of kind `Call`.
        text("kind"),
        text("call_type"),
        of_kind("call_duration_seconds", ValueKind::Integer),
        text("description"),
        CREATED_AT,
        UPDATED_AT,
    ],
    links: OCCURRENCE_LINKS,
    created_by_migration: true,
};

const EVENT: EntitySchema = EntitySchema {
    table: "events",
    fields: &[
        text("subject"),
        text("location"),
        of_kind("is_all_day", ValueKind::Boolean),
        text("start_at"),
        text("end_at"),
        text("activity_date"),
        of_kind("duration_minutes", ValueKind::Integer),
        text("description"),
        CREATED_AT,
        UPDATED_AT,
    ],
    links: OCCURRENCE_LINKS,
    created_by_migration: true,
};

const ATTENDEE: EntitySchema = EntitySchema {
    table: "attendees",
    fields: &[
        text("status"),
        of_kind("is_invitee", ValueKind::Boolean),
        text("responded_at"),
        text("response"),
        CREATED_AT,
        UPDATED_AT,
    ],
    // An attendee is a contact (a Salesforce contact or lead) or a user of the CRM, invited
    // to an event or to every event of a series.
    links: &[
        ("event", EntityKind::Event),
        ("contact", EntityKind::Contact),
        ("owner", EntityKind::Owner),
        ("series", EntityKind::Series),
    ],
    created_by_migration: true,
};

const NOTE: EntitySchema = EntitySchema {
    table: "notes",
    fields: &[
        required("title"),
        text("body"),
        of_kind("is_private", ValueKind::Boolean),
        CREATED_AT,
        UPDATED_AT,
    ],
    links: ACTIVITY_LINKS,
    created_by_migration: true,
};

const FILE: EntitySchema = EntitySchema {
    table: "files",
    fields: &[
        required("name"),
        text("title"),
        of_kind("content", ValueKind::Bytes),
        text("content_type"),
        of_kind("size", ValueKind::Integer),
        text("description"),
        of_kind("is_private", ValueKind::Boolean),
        CREATED_AT,
        UPDATED_AT,
    ],
    links: ACTIVITY_LINKS,
    created_by_migration: true,
};

const CONVERSATION: EntitySchema = EntitySchema {
    table: "conversations",
    fields: &[
        text("subject"),
        text("from_name"),
        text("from_address"),
        text("to_address"),
        text("cc_address"),
        text("text_body"),
        text("html_body"),
        text("message_at"),
        of_kind("is_incoming", ValueKind::Boolean),
        text("status"),
        CREATED_AT,
        UPDATED_AT,
    ],
    links: &[
        ("company", EntityKind::Company),
        ("opportunity", EntityKind::Opportunity),
        ("contact", EntityKind::Contact),
        // The case an email belongs to (Email-to-Case).
        ("case", EntityKind::Case),
    ],
    created_by_migration: true,
};

const TEAM: EntitySchema = EntitySchema {
    table: "teams",
    fields: &[
        required("name"),
        text("api_name"),
        text("email"),
        // The Salesforce objects whose records the queue may own (`["Lead", "Case"]`).
        of_kind("objects", ValueKind::Json),
        CREATED_AT,
        UPDATED_AT,
    ],
    links: &[],
    created_by_migration: true,
};

const FILE_LINK: EntitySchema = EntitySchema {
    table: "file_links",
    fields: &[text("share_type"), text("visibility")],
    // The file, and the one record it is attached to through this link.
    links: &[
        ("file", EntityKind::File),
        ("company", EntityKind::Company),
        ("contact", EntityKind::Contact),
        ("opportunity", EntityKind::Opportunity),
        ("case", EntityKind::Case),
    ],
    created_by_migration: true,
};

const CUSTOM_RECORD: EntitySchema = EntitySchema {
    table: "custom_records",
    fields: &[text("name"), CREATED_AT, UPDATED_AT, CURRENCY],
    // A queue may own a record of a custom object or a case, as it owns a lead.
    links: &[("owner", EntityKind::Owner), ("team", EntityKind::Team)],
    created_by_migration: true,
};

const PRODUCT: EntitySchema = EntitySchema {
    table: "products",
    fields: &[
        required("name"),
        text("product_code"),
        text("description"),
        of_kind("is_active", ValueKind::Boolean),
        text("family"),
        text("sku"),
        CREATED_AT,
        UPDATED_AT,
    ],
    links: &[],
    created_by_migration: true,
};

const PRICE_BOOK: EntitySchema = EntitySchema {
    table: "price_books",
    fields: &[
        required("name"),
        text("description"),
        of_kind("is_active", ValueKind::Boolean),
        // The standard price book holds every product's list price; custom ones refer to it.
        of_kind("is_standard", ValueKind::Boolean),
        CREATED_AT,
        UPDATED_AT,
    ],
    links: &[],
    created_by_migration: true,
};

const PRICE_BOOK_ENTRY: EntitySchema = EntitySchema {
    table: "price_book_entries",
    fields: &[
        of_kind("unit_price", ValueKind::Decimal),
        of_kind("is_active", ValueKind::Boolean),
        of_kind("use_standard_price", ValueKind::Boolean),
        CREATED_AT,
        UPDATED_AT,
        CURRENCY,
    ],
    links: &[
        ("price_book", EntityKind::PriceBook),
        ("product", EntityKind::Product),
    ],
    created_by_migration: true,
};

const LINE_ITEM: EntitySchema = EntitySchema {
    table: "line_items",
    fields: &[
        text("name"),
        text("product_code"),
        of_kind("quantity", ValueKind::Decimal),
        of_kind("unit_price", ValueKind::Decimal),
        of_kind("list_price", ValueKind::Decimal),
        of_kind("total_price", ValueKind::Decimal),
        // A percentage, kept exactly.
        of_kind("discount", ValueKind::Decimal),
        text("service_date"),
        text("description"),
        of_kind("sort_order", ValueKind::Integer),
        CREATED_AT,
        UPDATED_AT,
        CURRENCY,
    ],
    links: &[
        ("opportunity", EntityKind::Opportunity),
        ("price_book_entry", EntityKind::PriceBookEntry),
        ("product", EntityKind::Product),
    ],
    created_by_migration: true,
};

const CAMPAIGN: EntitySchema = EntitySchema {
    table: "campaigns",
    fields: &[
        required("name"),
        text("type"),
        text("status"),
        text("start_date"),
        text("end_date"),
        of_kind("budgeted_cost", ValueKind::Decimal),
        of_kind("actual_cost", ValueKind::Decimal),
        of_kind("is_active", ValueKind::Boolean),
        text("description"),
        CREATED_AT,
        UPDATED_AT,
        CURRENCY,
    ],
    links: &[
        ("parent_campaign", EntityKind::Campaign),
        ("owner", EntityKind::Owner),
    ],
    created_by_migration: true,
};

const CAMPAIGN_MEMBER: EntitySchema = EntitySchema {
    table: "campaign_members",
    fields: &[
        text("status"),
        of_kind("has_responded", ValueKind::Boolean),
        text("first_responded_date"),
        CREATED_AT,
        UPDATED_AT,
    ],
    // A member is a contact, a lead (a contact tagged `lead`), or both: a converted lead's
    // membership keeps its lead and gains the contact it became.
    links: &[
        ("campaign", EntityKind::Campaign),
        ("contact", EntityKind::Contact),
        ("lead", EntityKind::Contact),
    ],
    created_by_migration: true,
};

/// A recurring series (a Salesforce task or event with `IsRecurrence`): the rule, as
/// Salesforce keeps it, and who and what the series is about. Its occurrences are tasks or
/// events with a `series` link to it.
const SERIES: EntitySchema = EntitySchema {
    table: "activity_series",
    fields: &[
        // `Task` or `Event`: what the occurrences are.
        text("kind"),
        text("subject"),
        // `RecursDaily`, `RecursEveryWeekday`, `RecursWeekly`, `RecursMonthly`,
        // `RecursMonthlyNth`, `RecursYearly` or `RecursYearlyNth`.
        text("recurrence_type"),
        of_kind("recurrence_interval", ValueKind::Integer),
        // Days of the week, a bit each: 1 Sunday, 2 Monday, ... 64 Saturday.
        of_kind("day_of_week_mask", ValueKind::Integer),
        of_kind("day_of_month", ValueKind::Integer),
        // `First` ... `Last`: which weekday of the month (`RecursMonthlyNth`).
        text("instance"),
        text("month_of_year"),
        // A task series starts on a date, an event series at a time.
        text("starts_on"),
        text("starts_at"),
        text("ends_on"),
        text("time_zone"),
        text("description"),
        CREATED_AT,
        UPDATED_AT,
    ],
    links: ACTIVITY_LINKS,
    created_by_migration: true,
};

/// A support case (Salesforce `Case`): what the customer reported and where it stands.
const CASE: EntitySchema = EntitySchema {
    table: "cases",
    fields: &[
        text("case_number"),
        text("subject"),
        text("description"),
        text("status"),
        text("priority"),
        // How it came in: `Phone`, `Email`, `Web`.
        text("origin"),
        text("type"),
        text("reason"),
        of_kind("is_closed", ValueKind::Boolean),
        text("closed_at"),
        // The address a case that came in by email or the web was sent from.
        text("supplied_email"),
        CREATED_AT,
        UPDATED_AT,
    ],
    links: &[
        ("company", EntityKind::Company),
        ("contact", EntityKind::Contact),
        ("owner", EntityKind::Owner),
        // The team (a Salesforce queue) that owns a case nobody has picked up yet.
        ("team", EntityKind::Team),
        // Its parent in the case hierarchy (may arrive through a `links` patch).
        ("parent_case", EntityKind::Case),
    ],
    created_by_migration: true,
};

const CONTRACT: EntitySchema = EntitySchema {
    table: "contracts",
    fields: &[
        text("contract_number"),
        text("status"),
        // `Draft`, `InApproval`, `Activated`, `Terminated` or `Expired`.
        text("status_code"),
        text("start_date"),
        text("end_date"),
        of_kind("contract_term", ValueKind::Integer),
        text("owner_expiration_notice"),
        text("activated_at"),
        text("description"),
        CREATED_AT,
        UPDATED_AT,
        CURRENCY,
    ],
    links: &[
        ("company", EntityKind::Company),
        ("owner", EntityKind::Owner),
        ("price_book", EntityKind::PriceBook),
    ],
    created_by_migration: true,
};

/// A comment on a case (Salesforce `CaseComment`): no owner of its own, its author a user.
const CASE_COMMENT: EntitySchema = EntitySchema {
    table: "case_comments",
    fields: &[
        text("body"),
        // Published to the customer (true) or an internal note.
        of_kind("is_published", ValueKind::Boolean),
        CREATED_AT,
        UPDATED_AT,
    ],
    links: &[("case", EntityKind::Case), ("author", EntityKind::Owner)],
    created_by_migration: true,
};

const ORDER: EntitySchema = EntitySchema {
    table: "orders",
    fields: &[
        text("order_number"),
        text("name"),
        text("status"),
        text("effective_date"),
        text("end_date"),
        // The sum of the items' total prices, as Salesforce computed it.
        of_kind("total_amount", ValueKind::Decimal),
        text("description"),
        CREATED_AT,
        UPDATED_AT,
        CURRENCY,
    ],
    links: &[
        ("company", EntityKind::Company),
        ("contract", EntityKind::Contract),
        ("price_book", EntityKind::PriceBook),
        ("owner", EntityKind::Owner),
    ],
    created_by_migration: true,
};

const ORDER_ITEM: EntitySchema = EntitySchema {
    table: "order_items",
    fields: &[
        text("order_item_number"),
        of_kind("quantity", ValueKind::Decimal),
        of_kind("unit_price", ValueKind::Decimal),
        of_kind("list_price", ValueKind::Decimal),
        of_kind("total_price", ValueKind::Decimal),
        text("service_date"),
        text("description"),
        CREATED_AT,
        UPDATED_AT,
        CURRENCY,
    ],
    links: &[
        ("order", EntityKind::Order),
        ("price_book_entry", EntityKind::PriceBookEntry),
        ("product", EntityKind::Product),
    ],
    created_by_migration: true,
};

const QUOTE: EntitySchema = EntitySchema {
    table: "quotes",
    fields: &[
        required("name"),
        text("quote_number"),
        text("status"),
        text("expiration_date"),
        of_kind("is_syncing", ValueKind::Boolean),
        // Roll-ups of the line items, as Salesforce computed them.
        of_kind("subtotal", ValueKind::Decimal),
        of_kind("discount", ValueKind::Decimal),
        of_kind("total_price", ValueKind::Decimal),
        of_kind("grand_total", ValueKind::Decimal),
        of_kind("line_item_count", ValueKind::Integer),
        text("description"),
        CREATED_AT,
        UPDATED_AT,
        CURRENCY,
    ],
    links: &[
        ("opportunity", EntityKind::Opportunity),
        ("price_book", EntityKind::PriceBook),
        ("contact", EntityKind::Contact),
    ],
    created_by_migration: true,
};

const QUOTE_LINE_ITEM: EntitySchema = EntitySchema {
    table: "quote_line_items",
    fields: &[
        text("line_number"),
        of_kind("quantity", ValueKind::Decimal),
        of_kind("unit_price", ValueKind::Decimal),
        of_kind("list_price", ValueKind::Decimal),
        // A percentage, kept exactly.
        of_kind("discount", ValueKind::Decimal),
        of_kind("subtotal", ValueKind::Decimal),
        of_kind("total_price", ValueKind::Decimal),
        text("service_date"),
        text("description"),
        of_kind("sort_order", ValueKind::Integer),
        CREATED_AT,
        UPDATED_AT,
        CURRENCY,
    ],
    links: &[
        ("quote", EntityKind::Quote),
        ("price_book_entry", EntityKind::PriceBookEntry),
        ("product", EntityKind::Product),
    ],
    created_by_migration: true,
};

const ASSET: EntitySchema = EntitySchema {
    table: "assets",
    fields: &[
        required("name"),
        text("serial_number"),
        text("status"),
        of_kind("quantity", ValueKind::Decimal),
        of_kind("price", ValueKind::Decimal),
        text("purchase_date"),
        text("install_date"),
        text("usage_end_date"),
        of_kind("is_competitor_product", ValueKind::Boolean),
        text("description"),
        CREATED_AT,
        UPDATED_AT,
        CURRENCY,
    ],
    // `parent_asset` is the asset it is part of; `root_asset` the top of its hierarchy
    // (a root's is itself).
    links: &[
        ("company", EntityKind::Company),
        ("contact", EntityKind::Contact),
        ("product", EntityKind::Product),
        ("owner", EntityKind::Owner),
        ("parent_asset", EntityKind::Asset),
        ("root_asset", EntityKind::Asset),
    ],
    created_by_migration: true,
};

/// A knowledge base article as its readers see it: the version published online (drafts
/// in progress and archived versions stay behind), its body as HTML.
const KNOWLEDGE_ARTICLE: EntitySchema = EntitySchema {
    table: "knowledge_articles",
    fields: &[
        required("title"),
        text("url_name"),
        text("summary"),
        // Rich text (HTML), images inlined as `data:` URIs.
        text("body"),
        text("article_number"),
        text("language"),
        of_kind("version_number", ValueKind::Integer),
        of_kind("visible_internally", ValueKind::Boolean),
        of_kind("visible_in_public_knowledge_base", ValueKind::Boolean),
        of_kind("visible_to_customers", ValueKind::Boolean),
        of_kind("visible_to_partners", ValueKind::Boolean),
        text("first_published_at"),
        text("last_published_at"),
        CREATED_AT,
        UPDATED_AT,
    ],
    links: &[("owner", EntityKind::Owner)],
    created_by_migration: true,
};

/// One data category of an article: its category group (`Products`) and the category in
/// it (`Laptops`).
const ARTICLE_CATEGORY: EntitySchema = EntitySchema {
    table: "article_categories",
    fields: &[
        required("group_name"),
        required("category_name"),
        CREATED_AT,
    ],
    links: &[("article", EntityKind::KnowledgeArticle)],
    created_by_migration: true,
};

/// A contact related to a company other than its own (its own is the contact's `company`
/// link): the roles it plays there, whether the relation is current, and when.
const ACCOUNT_CONTACT_RELATION: EntitySchema = EntitySchema {
    table: "account_contact_relations",
    fields: &[
        // Salesforce's multi-select picklist, as a list (`["Decision Maker", "Evaluator"]`).
        of_kind("roles", ValueKind::Json),
        of_kind("is_active", ValueKind::Boolean),
        text("start_date"),
        text("end_date"),
        CREATED_AT,
        UPDATED_AT,
    ],
    links: &[
        ("company", EntityKind::Company),
        ("contact", EntityKind::Contact),
    ],
    created_by_migration: true,
};

impl EntityKind {
    /// Every entity, in a stable order.
    pub const ALL: [EntityKind; 33] = [
        Self::Company,
        Self::Contact,
        Self::Owner,
        Self::Opportunity,
        Self::Stage,
        Self::ContactRole,
        Self::Task,
        Self::Event,
        Self::Attendee,
        Self::Note,
        Self::File,
        Self::Conversation,
        Self::CustomRecord,
        Self::Team,
        Self::Product,
        Self::PriceBook,
        Self::PriceBookEntry,
        Self::LineItem,
        Self::Campaign,
        Self::CampaignMember,
        Self::FileLink,
        Self::Series,
        Self::Case,
        Self::CaseComment,
        Self::Contract,
        Self::Order,
        Self::OrderItem,
        Self::Quote,
        Self::QuoteLineItem,
        Self::Asset,
        Self::KnowledgeArticle,
        Self::ArticleCategory,
        Self::AccountContactRelation,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Company => "company",
            Self::Contact => "contact",
            Self::Owner => "owner",
            Self::Opportunity => "opportunity",
            Self::Stage => "stage",
            Self::ContactRole => "contact_role",
            Self::Task => "task",
            Self::Event => "event",
            Self::Attendee => "attendee",
            Self::Note => "note",
            Self::File => "file",
            Self::Conversation => "conversation",
            Self::CustomRecord => "custom_record",
            Self::Team => "team",
            Self::Product => "product",
            Self::PriceBook => "price_book",
            Self::PriceBookEntry => "price_book_entry",
            Self::LineItem => "line_item",
            Self::Campaign => "campaign",
            Self::CampaignMember => "campaign_member",
            Self::FileLink => "file_link",
            Self::Series => "series",
            Self::Case => "case",
            Self::CaseComment => "case_comment",
            Self::Contract => "contract",
            Self::Order => "order",
            Self::OrderItem => "order_item",
            Self::Quote => "quote",
            Self::QuoteLineItem => "quote_line_item",
            Self::Asset => "asset",
            Self::KnowledgeArticle => "knowledge_article",
            Self::ArticleCategory => "article_category",
            Self::AccountContactRelation => "account_contact_relation",
        }
    }

    /// The entity a map names, as [`EntityKind::as_str`] spells it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|entity| entity.as_str() == name)
    }

    /// The entity's definition in the reference CRM.
    pub fn schema(self) -> &'static EntitySchema {
        match self {
            Self::Company => &COMPANY,
            Self::Contact => &CONTACT,
            Self::Owner => &OWNER,
            Self::Opportunity => &OPPORTUNITY,
            Self::Stage => &STAGE,
            Self::ContactRole => &CONTACT_ROLE,
            Self::Task => &TASK,
            Self::Event => &EVENT,
            Self::Attendee => &ATTENDEE,
            Self::Note => &NOTE,
            Self::File => &FILE,
            Self::Conversation => &CONVERSATION,
            Self::CustomRecord => &CUSTOM_RECORD,
            Self::Team => &TEAM,
            Self::Product => &PRODUCT,
            Self::PriceBook => &PRICE_BOOK,
            Self::PriceBookEntry => &PRICE_BOOK_ENTRY,
            Self::LineItem => &LINE_ITEM,
            Self::Campaign => &CAMPAIGN,
            Self::CampaignMember => &CAMPAIGN_MEMBER,
            Self::FileLink => &FILE_LINK,
            Self::Series => &SERIES,
            Self::Case => &CASE,
            Self::CaseComment => &CASE_COMMENT,
            Self::Contract => &CONTRACT,
            Self::Order => &ORDER,
            Self::OrderItem => &ORDER_ITEM,
            Self::Quote => &QUOTE,
            Self::QuoteLineItem => &QUOTE_LINE_ITEM,
            Self::Asset => &ASSET,
            Self::KnowledgeArticle => &KNOWLEDGE_ARTICLE,
            Self::ArticleCategory => &ARTICLE_CATEGORY,
            Self::AccountContactRelation => &ACCOUNT_CONTACT_RELATION,
        }
    }

    /// The standard fields of this entity in the reference CRM; a map may target only these
    /// (anything else becomes a custom field).
    pub fn standard_fields(self) -> impl Iterator<Item = &'static str> + Clone {
        self.schema().fields.iter().map(|field| field.name)
    }

    /// Whether `field` is one of this entity's standard fields.
    pub fn has_field(self, field: &str) -> bool {
        self.schema().fields.iter().any(|known| known.name == field)
    }

    /// How the reference CRM holds one of this entity's standard fields, so a value read
    /// back compares equal to the value sent. Fields not named here are text.
    pub fn field_kind(self, field: &str) -> ValueKind {
        self.schema()
            .fields
            .iter()
            .find(|known| known.name == field)
            .map_or(ValueKind::Text, |known| known.kind)
    }

    /// The links this entity can hold, and the entity each one points to.
    pub fn links(self) -> &'static [(&'static str, EntityKind)] {
        self.schema().links
    }

    /// The entity a link of this entity points to.
    pub fn link_target(self, link: &str) -> Option<EntityKind> {
        self.links()
            .iter()
            .find(|(name, _)| *name == link)
            .map(|(_, target)| *target)
    }

    /// Fields without which the destination refuses the record.
    pub fn required_fields(self) -> impl Iterator<Item = &'static str> + Clone {
        self.schema()
            .fields
            .iter()
            .filter(|field| field.required)
            .map(|field| field.name)
    }

    /// Whether the entity carries money (amounts, revenues, custom currency fields) and so
    /// keeps the currency of its records in [`CURRENCY_FIELD`].
    pub fn carries_money(self) -> bool {
        self.has_field(CURRENCY_FIELD)
    }

    /// Whether a migration creates records of this entity (owners are only matched).
    pub fn created_by_migration(self) -> bool {
        self.schema().created_by_migration
    }
}

/// How a destination standard field is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    Text,
    Integer,
    /// A decimal number kept exactly, as its decimal text (never through a float).
    Decimal,
    Boolean,
    /// A structured value (an address, a list) kept as JSON.
    Json,
    /// A file's bytes: fetched at extraction, stored through [`crate::ports::Destination::put_file`]
    /// once the file record exists, never sent as a field value.
    Bytes,
}

impl std::fmt::Display for EntityKind {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// A whole map file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldMap {
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Whether custom objects (`Project__c`) the map does not name land as custom records
    /// (see [`crate::plan::custom_object_map`]). On by default: a customer's own objects are
    /// data like any other, and the map cannot know their names in advance.
    #[serde(default = "default_true")]
    pub custom_objects: bool,
    /// Whether standard objects with data that the map does not name (and Ferry can read)
    /// land as generic records (see [`crate::plan::generic_object_map`]), so that nothing
    /// with data is left behind unless the user leaves it out. On by default.
    #[serde(default = "default_true")]
    pub generic_objects: bool,
    pub objects: BTreeMap<String, ObjectMap>,
    /// Objects an override dropped (`"Case": null`): never migrated, even as custom or
    /// generic records.
    #[serde(default, skip_serializing_if = "BTreeSet::is_empty")]
    pub left_out: BTreeSet<String>,
}

fn default_true() -> bool {
    true
}

/// How one Salesforce object lands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectMap {
    pub entity: EntityKind,
    /// Salesforce field name to destination standard field name.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Salesforce reference field name to destination link (or, for a polymorphic field,
    /// links by the object the id names).
    #[serde(default)]
    pub links: BTreeMap<String, LinkTarget>,
    /// Destination standard fields set to the same value on every record of the object,
    /// such as the `lead` tag of a contact that was a lead.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, serde_json::Value>,
    /// A reference field that, when set, means the record already lands as the record it
    /// names (a converted lead's `ConvertedContactId`): the record is not imported twice but
    /// counted as skipped, and its ID-map entry points at that record's destination id, so
    /// links to it resolve to the record it became.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    /// The values a record's own fields must have for `replaced_by` to apply (a person
    /// contact, `{"IsPersonAccount": true}`, is replaced by its account's person); empty:
    /// whenever the field is set. A plan whose org lacks one of these fields leaves
    /// `replaced_by` out, with a note.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub replaced_when: When,
    /// Records of the object that land otherwise, chosen by their own field values (a person
    /// account, `IsPersonAccount = true`, lands as a contact): each variant is planned as an
    /// object of its own, named by its key, extracted from the same Salesforce object with
    /// its condition, the object itself keeping the records that match no variant.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variants: BTreeMap<String, ObjectVariant>,
    /// Only the records whose own fields have these values are migrated (a `Group` of
    /// `Type` `Queue`); the others are neither read nor counted, and the plan says so.
    /// Empty: every record.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub filter: When,
    /// Records of the object that are not migrated, chosen by their own field values (a
    /// superseded file version, `IsLatest = false`): each is counted as skipped with the
    /// rule's reason, so the object's count still adds up to Salesforce's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_when: Option<SkipRule>,
    /// The object whose ID-map entries name the record that replaces this one, keyed by
    /// this record's own id (a task an email stands for, under `EmailMessage`): with it,
    /// `replaced_by` is `Id`, and a record no such entry names lands as itself (a task
    /// logged as an email without an EmailMessage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by_object: Option<String>,
    /// A reference field naming a record this one also stands for (an email's `ActivityId`,
    /// its companion task): when the record lands, the ID map keeps that record's id, under
    /// this object, pointing at it, for the named record's `replaced_by_object`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stands_for: Option<String>,
}

/// Records an object leaves out ([`ObjectMap::skipped_when`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipRule {
    /// The values that select the records left out.
    pub when: When,
    /// Why they are left out, as the report says it.
    pub reason: String,
}

/// A condition on a record's own fields: each named field has the given value.
pub type When = BTreeMap<String, serde_json::Value>;

/// Records of an object that land as another entity, chosen by their field values
/// ([`ObjectMap::variants`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectVariant {
    /// The values that select the variant's records.
    pub when: When,
    pub entity: EntityKind,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub links: BTreeMap<String, LinkTarget>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, serde_json::Value>,
    /// How links of other objects to a record of the variant land: a link of the other
    /// object's entity that would name a record of the object's entity (`company`) names
    /// the variant's record through this link instead (`contact`), when that entity has it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links_to_it: BTreeMap<String, String>,
    /// Suffixes of the custom fields that land on the variant's records rather than the
    /// object's (`__pc`, the person contact's fields on a person account).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custom_fields: Vec<String>,
}

impl ObjectVariant {
    /// The variant as an object map of its own, for validation and planning.
    pub fn object_map(&self) -> ObjectMap {
        ObjectMap {
            entity: self.entity,
            fields: self.fields.clone(),
            links: self.links.clone(),
            values: self.values.clone(),
            replaced_by: None,
            replaced_when: When::new(),
            variants: BTreeMap::new(),
            filter: When::new(),
            skipped_when: None,
            replaced_by_object: None,
            stands_for: None,
        }
    }

    /// Whether the custom field `name` lands on the variant's records.
    pub fn keeps_custom_field(&self, name: &str) -> bool {
        let lower = name.to_ascii_lowercase();
        self.custom_fields
            .iter()
            .any(|suffix| lower.ends_with(&suffix.to_ascii_lowercase()))
    }
}

/// Where a Salesforce reference field goes: one destination link, or, for a polymorphic
/// field (`WhoId`, `WhatId`, a note's `ParentId`), one link per object the id may name,
/// told apart by the id's key prefix. An id naming an object the table leaves out is not a
/// link: the record lands without it, with the reason, or, when Salesforce requires the
/// field (a note's parent), is skipped with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LinkTarget {
    One(String),
    ByObject(BTreeMap<String, String>),
}

impl LinkTarget {
    /// Every destination link this target may fill, without repeats.
    pub fn link_names(&self) -> Vec<&str> {
        match self {
            Self::One(link) => vec![link.as_str()],
            Self::ByObject(by_object) => {
                let mut names: Vec<&str> = by_object.values().map(String::as_str).collect();
                names.sort_unstable();
                names.dedup();
                names
            }
        }
    }

    /// The link for a reference to `object`; any object for a single link.
    pub fn link_for(&self, object: &str) -> Option<&str> {
        match self {
            Self::One(link) => Some(link),
            Self::ByObject(by_object) => find_key(by_object, object)
                .and_then(|key| by_object.get(&key))
                .map(String::as_str),
        }
    }
}

impl From<&str> for LinkTarget {
    fn from(link: &str) -> Self {
        Self::One(link.to_owned())
    }
}

impl PartialEq<&str> for LinkTarget {
    fn eq(&self, other: &&str) -> bool {
        matches!(self, Self::One(link) if link == other)
    }
}

impl ObjectMap {
    /// The destination standard fields this object already fills: a proposal must not
    /// name one of them again.
    pub fn used_targets(&self) -> BTreeSet<&str> {
        self.fields.values().map(String::as_str).collect()
    }

    /// Whether the map names this Salesforce field, as a field or a link (ignoring case, as
    /// Salesforce does).
    pub fn maps_source(&self, field: &str) -> bool {
        find_key(&self.fields, field).is_some() || find_key(&self.links, field).is_some()
    }
}

/// The text formats a map or an override can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapFormat {
    Json,
    Toml,
}

impl MapFormat {
    /// The format a file's extension names (`.json` or `.toml`, in any case).
    pub fn from_path(path: &Path) -> Result<Self, MapError> {
        let extension = path
            .extension()
            .and_then(|extension| extension.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("json") => Ok(Self::Json),
            Some("toml") => Ok(Self::Toml),
            _ => Err(MapError::UnknownFormat {
                path: path.to_owned(),
            }),
        }
    }
}

/// A map that cannot be used, naming the object and field at fault.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("the field map is not valid JSON")]
    Syntax(#[source] serde_json::Error),
    #[error("the field map is not valid TOML")]
    TomlSyntax(#[source] toml::de::Error),
    #[error("the field map could not be written as JSON")]
    JsonWrite(#[source] serde_json::Error),
    #[error("the field map could not be written as TOML")]
    TomlWrite(#[source] toml::ser::Error),
    #[error("field map {}: the file name ends neither in .json nor in .toml", path.display())]
    UnknownFormat { path: PathBuf },
    #[error("field map version {0} is not supported (this Ferry reads version {MAP_VERSION})")]
    Version(u32),
    #[error(
        "field map override: written for map version {written_for}, but the map it changes is version {map_version}; read it against the new map and set its version to {map_version}"
    )]
    OverrideVersion { written_for: u32, map_version: u32 },
    #[error(
        "field map: {object} goes to entity {entity:?}, which the destination does not have (it has {})",
        entity_names()
    )]
    UnknownEntity { object: String, entity: String },
    #[error(
        "field map: {object}.{field} targets {entity}.{target}, which the destination does not have"
    )]
    UnknownTarget {
        object: String,
        field: String,
        entity: EntityKind,
        target: String,
    },
    #[error(
        "field map: {object}.{field} targets link {entity}.{target}, which the destination does not have"
    )]
    UnknownLink {
        object: String,
        field: String,
        entity: EntityKind,
        target: String,
    },
    #[error(
        "field map: {object}.{first} and {object}.{second} both target {entity}.{target}; a destination field takes one source"
    )]
    DuplicateTarget {
        object: String,
        first: String,
        second: String,
        entity: EntityKind,
        target: String,
    },
    #[error("field map: {object}.{field} is mapped twice (Salesforce field names ignore case)")]
    DuplicateSource { object: String, field: String },
    #[error(
        "field map: nothing in {object} fills {entity}.{target}, which the destination requires of every {entity}"
    )]
    MissingRequired {
        object: String,
        entity: EntityKind,
        target: String,
    },
    #[error(
        "field map: {object} sets {entity}.{target} to the constant {value}, which is not a {kind:?} value"
    )]
    ConstantType {
        object: String,
        entity: EntityKind,
        target: String,
        value: serde_json::Value,
        kind: ValueKind,
    },
    #[error("field map: {object}.{field} maps a polymorphic reference to no link at all")]
    EmptyLinkTable { object: String, field: String },
    #[error("field map override: {object} is not in the map, so it must name its entity")]
    NewObjectWithoutEntity { object: String },
    #[error(
        "field map override: {object}.{field} is dropped, but the map does not map it (a custom field the map does not name becomes a destination custom field; a map cannot leave it out yet)"
    )]
    DroppedUnknownField { object: String, field: String },
}

const BUILTIN_MAP: &str = include_str!("../default_map.json");

impl FieldMap {
    /// Whether an override dropped `object` (Salesforce names are case-insensitive).
    pub fn leaves_out(&self, object: &str) -> bool {
        self.left_out
            .iter()
            .any(|name| name.eq_ignore_ascii_case(object))
    }

    /// The map Ferry ships with.
    pub fn builtin() -> Self {
        // The built-in map is checked by a unit test below, so parsing cannot fail at run time;
        // still, fall back to an empty map rather than panic if a broken file is ever shipped.
        Self::parse(BUILTIN_MAP).unwrap_or_else(|_| Self {
            version: MAP_VERSION,
            description: None,
            custom_objects: true,
            generic_objects: true,
            objects: BTreeMap::new(),
            left_out: BTreeSet::new(),
        })
    }

    /// Parses and validates a whole map written in JSON (the same as [`FieldMap::from_json_str`]).
    pub fn parse(text: &str) -> Result<Self, MapError> {
        Self::from_json_str(text)
    }

    /// Parses and validates a whole map written in JSON.
    pub fn from_json_str(text: &str) -> Result<Self, MapError> {
        let raw: RawFieldMap = serde_json::from_str(text).map_err(MapError::Syntax)?;
        raw.into_map()
    }

    /// Parses and validates a whole map written in TOML.
    pub fn from_toml_str(text: &str) -> Result<Self, MapError> {
        let raw: RawFieldMap = toml::from_str(text).map_err(MapError::TomlSyntax)?;
        raw.into_map()
    }

    /// Parses and validates a whole map in the given format.
    pub fn parse_as(text: &str, format: MapFormat) -> Result<Self, MapError> {
        match format {
            MapFormat::Json => Self::from_json_str(text),
            MapFormat::Toml => Self::from_toml_str(text),
        }
    }

    /// Parses the text of the map file at `path`, in the format its extension names. The
    /// caller reads the file: this crate does no IO.
    pub fn parse_file(path: &Path, text: &str) -> Result<Self, MapError> {
        Self::parse_as(text, MapFormat::from_path(path)?)
    }

    /// The map as pretty JSON, the form of `default_map.json`.
    pub fn to_json_string(&self) -> Result<String, MapError> {
        serde_json::to_string_pretty(self).map_err(MapError::JsonWrite)
    }

    /// The map as TOML.
    pub fn to_toml_string(&self) -> Result<String, MapError> {
        toml::to_string(self).map_err(MapError::TomlWrite)
    }

    /// This map with `overrides` applied, object by object and field by field, then validated
    /// as a whole. The overrides must be written for this map's version.
    pub fn overlay(&self, overrides: &MapOverrides) -> Result<FieldMap, MapError> {
        if overrides.version != self.version {
            return Err(MapError::OverrideVersion {
                written_for: overrides.version,
                map_version: self.version,
            });
        }
        let mut map = self.clone();
        if let Some(custom_objects) = overrides.custom_objects {
            map.custom_objects = custom_objects;
        }
        if let Some(generic_objects) = overrides.generic_objects {
            map.generic_objects = generic_objects;
        }
        for (object, change) in &overrides.objects {
            let existing = find_key(&map.objects, object);
            let object_override = match change {
                // Dropping an object the map does not name leaves out what would have landed
                // as custom or generic records.
                Change::Drop => {
                    if let Some(key) = existing {
                        map.objects.remove(&key);
                    }
                    map.left_out.insert(object.clone());
                    continue;
                }
                Change::Set(object_override) => object_override,
            };
            let entity =
                match &object_override.entity {
                    Some(name) => Some(EntityKind::from_name(name).ok_or_else(|| {
                        MapError::UnknownEntity {
                            object: object.clone(),
                            entity: name.clone(),
                        }
                    })?),
                    None => None,
                };
            let key = existing.unwrap_or_else(|| object.clone());
            let object_map = match map.objects.entry(key) {
                Entry::Occupied(occupied) => occupied.into_mut(),
                Entry::Vacant(vacant) => {
                    let Some(entity) = entity else {
                        return Err(MapError::NewObjectWithoutEntity {
                            object: object.clone(),
                        });
                    };
                    vacant.insert(ObjectMap {
                        entity,
                        fields: BTreeMap::new(),
                        links: BTreeMap::new(),
                        values: BTreeMap::new(),
                        replaced_by: None,
                        replaced_when: When::new(),
                        variants: BTreeMap::new(),
                        filter: When::new(),
                        skipped_when: None,
                        replaced_by_object: None,
                        stands_for: None,
                    })
                }
            };
            if let Some(entity) = entity {
                object_map.entity = entity;
            }
            apply_changes(&mut object_map.fields, &object_override.fields, object)?;
            apply_changes(&mut object_map.links, &object_override.links, object)?;
            apply_changes(&mut object_map.values, &object_override.values, object)?;
            match &object_override.replaced_by {
                Some(Change::Set(field)) => object_map.replaced_by = Some(field.clone()),
                Some(Change::Drop) => object_map.replaced_by = None,
                None => {}
            }
        }
        map.validate()?;
        Ok(map)
    }

    fn validate(&self) -> Result<(), MapError> {
        if self.version != MAP_VERSION {
            return Err(MapError::Version(self.version));
        }
        let variants: Vec<(String, ObjectMap)> = self
            .objects
            .iter()
            .flat_map(|(object, object_map)| {
                object_map.variants.iter().map(move |(name, variant)| {
                    (format!("{object} ({name})"), variant.object_map())
                })
            })
            .collect();
        let every = self
            .objects
            .iter()
            .chain(variants.iter().map(|(o, m)| (o, m)));
        for (object, object_map) in every {
            let entity = object_map.entity;
            check_sources(object, &object_map.fields)?;
            check_sources(object, &object_map.links)?;
            for (field, target) in &object_map.fields {
                if !entity.has_field(target) {
                    return Err(MapError::UnknownTarget {
                        object: object.clone(),
                        field: field.clone(),
                        entity,
                        target: target.clone(),
                    });
                }
            }
            for (field, target) in &object_map.links {
                if let LinkTarget::ByObject(by_object) = target
                    && by_object.is_empty()
                {
                    return Err(MapError::EmptyLinkTable {
                        object: object.clone(),
                        field: field.clone(),
                    });
                }
                for link in target.link_names() {
                    if entity.link_target(link).is_none() {
                        return Err(MapError::UnknownLink {
                            object: object.clone(),
                            field: field.clone(),
                            entity,
                            target: link.to_owned(),
                        });
                    }
                }
            }
            for (target, value) in &object_map.values {
                if !entity.has_field(target) {
                    return Err(MapError::UnknownTarget {
                        object: object.clone(),
                        field: "(constant)".to_owned(),
                        entity,
                        target: target.clone(),
                    });
                }
                let kind = entity.field_kind(target);
                if !constant_fits(kind, value) {
                    return Err(MapError::ConstantType {
                        object: object.clone(),
                        entity,
                        target: target.clone(),
                        value: value.clone(),
                        kind,
                    });
                }
            }
            let constants: BTreeMap<String, String> = object_map
                .values
                .keys()
                .map(|target| (format!("(constant {target})"), target.clone()))
                .collect();
            let mut filled = object_map.fields.clone();
            filled.extend(constants);
            check_targets(object, entity, &filled)?;
            // One field may fill a link for several objects (`WhoId` for contacts and
            // leads); two fields filling one link is the fault.
            let mut filled_links: BTreeMap<&str, &str> = BTreeMap::new();
            for (field, target) in &object_map.links {
                for link in target.link_names() {
                    if let Some(first) = filled_links.insert(link, field) {
                        return Err(MapError::DuplicateTarget {
                            object: object.clone(),
                            first: first.to_owned(),
                            second: field.clone(),
                            entity,
                            target: link.to_owned(),
                        });
                    }
                }
            }
            for required in entity.required_fields() {
                if !filled.values().any(|target| target == required) {
                    return Err(MapError::MissingRequired {
                        object: object.clone(),
                        entity,
                        target: (*required).to_owned(),
                    });
                }
            }
        }
        Ok(())
    }
}

/// The key of `map` equal to `name` ignoring ASCII case, as Salesforce compares API names.
fn find_key<V>(map: &BTreeMap<String, V>, name: &str) -> Option<String> {
    if map.contains_key(name) {
        return Some(name.to_owned());
    }
    map.keys()
        .find(|key| key.eq_ignore_ascii_case(name))
        .cloned()
}

/// Whether a constant of the map can be held by a field of `kind`.
fn constant_fits(kind: ValueKind, value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (kind, value) {
        (_, Value::Null) | (ValueKind::Json, _) => true,
        (ValueKind::Text, Value::String(_)) | (ValueKind::Boolean, Value::Bool(_)) => true,
        (ValueKind::Integer, Value::Number(number)) => number.as_i64().is_some(),
        (ValueKind::Decimal, Value::Number(_)) => true,
        _ => false,
    }
}

/// The names of every entity, for the message that names an unknown one.
fn entity_names() -> String {
    let names: Vec<&str> = EntityKind::ALL
        .iter()
        .map(|entity| entity.as_str())
        .collect();
    names.join(", ")
}

fn apply_changes<T: Clone>(
    mapping: &mut BTreeMap<String, T>,
    changes: &BTreeMap<String, Change<T>>,
    object: &str,
) -> Result<(), MapError> {
    for (field, change) in changes {
        let existing = find_key(mapping, field);
        match change {
            Change::Set(target) => {
                if let Some(key) = existing {
                    mapping.remove(&key);
                }
                mapping.insert(field.clone(), target.clone());
            }
            Change::Drop => match existing {
                Some(key) => {
                    mapping.remove(&key);
                }
                None => {
                    return Err(MapError::DroppedUnknownField {
                        object: object.to_owned(),
                        field: field.clone(),
                    });
                }
            },
        }
    }
    Ok(())
}

fn check_sources<T>(object: &str, mapping: &BTreeMap<String, T>) -> Result<(), MapError> {
    let mut seen = BTreeSet::new();
    for field in mapping.keys() {
        if !seen.insert(field.to_ascii_lowercase()) {
            return Err(MapError::DuplicateSource {
                object: object.to_owned(),
                field: field.clone(),
            });
        }
    }
    Ok(())
}

fn check_targets(
    object: &str,
    entity: EntityKind,
    mapping: &BTreeMap<String, String>,
) -> Result<(), MapError> {
    let mut filled: BTreeMap<&str, &str> = BTreeMap::new();
    for (field, target) in mapping {
        if let Some(first) = filled.insert(target, field) {
            return Err(MapError::DuplicateTarget {
                object: object.to_owned(),
                first: first.to_owned(),
                second: field.clone(),
                entity,
                target: target.clone(),
            });
        }
    }
    Ok(())
}

/// A map file as written, entities still names, so that an unknown one is reported with its
/// object rather than as a bare syntax error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFieldMap {
    version: u32,
    #[serde(default)]
    description: Option<String>,
    #[serde(default = "default_true")]
    custom_objects: bool,
    #[serde(default = "default_true")]
    generic_objects: bool,
    #[serde(default)]
    objects: BTreeMap<String, RawObjectMap>,
    #[serde(default)]
    left_out: BTreeSet<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObjectMap {
    entity: String,
    #[serde(default)]
    fields: BTreeMap<String, String>,
    #[serde(default)]
    links: BTreeMap<String, LinkTarget>,
    #[serde(default)]
    values: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    replaced_by: Option<String>,
    #[serde(default)]
    replaced_when: When,
    #[serde(default)]
    variants: BTreeMap<String, ObjectVariant>,
    #[serde(default)]
    filter: When,
    skipped_when: Option<SkipRule>,
    replaced_by_object: Option<String>,
    #[serde(default)]
    stands_for: Option<String>,
}

impl RawFieldMap {
    fn into_map(self) -> Result<FieldMap, MapError> {
        if self.version != MAP_VERSION {
            return Err(MapError::Version(self.version));
        }
        let mut objects = BTreeMap::new();
        for (object, raw) in self.objects {
            let Some(entity) = EntityKind::from_name(&raw.entity) else {
                return Err(MapError::UnknownEntity {
                    object,
                    entity: raw.entity,
                });
            };
            objects.insert(
                object,
                ObjectMap {
                    entity,
                    fields: raw.fields,
                    links: raw.links,
                    values: raw.values,
                    replaced_by: raw.replaced_by,
                    replaced_when: raw.replaced_when,
                    variants: raw.variants,
                    filter: raw.filter,
                    skipped_when: raw.skipped_when,
                    replaced_by_object: raw.replaced_by_object,
                    stands_for: raw.stands_for,
                },
            );
        }
        let map = FieldMap {
            version: self.version,
            description: self.description,
            custom_objects: self.custom_objects,
            generic_objects: self.generic_objects,
            objects,
            left_out: self.left_out,
        };
        map.validate()?;
        Ok(map)
    }
}

/// Changes to a map, object by object and field by field; see the module documentation for
/// the file format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MapOverrides {
    /// The version of the map these overrides were written for.
    pub version: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Turns the landing of custom objects the map does not name on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_objects: Option<bool>,
    /// Turns the landing of standard objects the map does not name on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generic_objects: Option<bool>,
    #[serde(default)]
    pub objects: BTreeMap<String, Change<ObjectOverride>>,
}

/// Changes to one object: its entity, and its fields and links one by one.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectOverride {
    /// The destination entity, by name; required for an object the map does not have yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, Change<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub links: BTreeMap<String, Change<LinkTarget>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub values: BTreeMap<String, Change<serde_json::Value>>,
    /// Set or (with `null` or `false`) clear the object's `replaced_by` field.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_change"
    )]
    pub replaced_by: Option<Change<String>>,
}

/// A field that is present is a change, `null` included: without this, serde would read
/// `"replaced_by": null` as "no change" rather than "drop".
fn present_change<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Change<T>>, D::Error> {
    Change::deserialize(deserializer).map(Some)
}

/// One entry of an override: set it to a value, or drop it. Written as the value itself, or as
/// `null` or `false` to drop (TOML has no `null`); dropping is written back as `false`, which
/// both formats read.
#[derive(Debug, Clone, PartialEq)]
pub enum Change<T> {
    Set(T),
    Drop,
}

impl MapOverrides {
    /// No changes, for the map of `version`.
    pub fn new(version: u32) -> Self {
        Self {
            version,
            description: None,
            custom_objects: None,
            generic_objects: None,
            objects: BTreeMap::new(),
        }
    }

    /// Maps `field` of `object` to `target`, as a user does when confirming a proposal.
    pub fn set_field(&mut self, object: &str, field: &str, target: &str) {
        let entry = self
            .objects
            .entry(object.to_owned())
            .or_insert_with(|| Change::Set(ObjectOverride::default()));
        if let Change::Drop = entry {
            *entry = Change::Set(ObjectOverride::default());
        }
        if let Change::Set(object_override) = entry {
            object_override
                .fields
                .insert(field.to_owned(), Change::Set(target.to_owned()));
        }
    }

    /// Parses overrides written in JSON.
    pub fn from_json_str(text: &str) -> Result<Self, MapError> {
        serde_json::from_str(text).map_err(MapError::Syntax)
    }

    /// Parses overrides written in TOML.
    pub fn from_toml_str(text: &str) -> Result<Self, MapError> {
        toml::from_str(text).map_err(MapError::TomlSyntax)
    }

    /// Parses overrides in the given format.
    pub fn parse_as(text: &str, format: MapFormat) -> Result<Self, MapError> {
        match format {
            MapFormat::Json => Self::from_json_str(text),
            MapFormat::Toml => Self::from_toml_str(text),
        }
    }

    /// Parses the text of the override file at `path`, in the format its extension names.
    /// The caller reads the file: this crate does no IO.
    pub fn parse_file(path: &Path, text: &str) -> Result<Self, MapError> {
        Self::parse_as(text, MapFormat::from_path(path)?)
    }

    /// The overrides as pretty JSON.
    pub fn to_json_string(&self) -> Result<String, MapError> {
        serde_json::to_string_pretty(self).map_err(MapError::JsonWrite)
    }

    /// The overrides as TOML.
    pub fn to_toml_string(&self) -> Result<String, MapError> {
        toml::to_string(self).map_err(MapError::TomlWrite)
    }
}

impl<T: Serialize> Serialize for Change<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Set(value) => value.serialize(serializer),
            Self::Drop => serializer.serialize_bool(false),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Change<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ChangeVisitor(PhantomData))
    }
}

struct ChangeVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ChangeVisitor<T> {
    type Value = Change<T>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a name or a table to set, or null or false to drop")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Change::Drop)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Change::Drop)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        T::deserialize(deserializer).map(Change::Set)
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        if value {
            Err(E::invalid_value(de::Unexpected::Bool(true), &self))
        } else {
            Ok(Change::Drop)
        }
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        T::deserialize(de::value::StrDeserializer::new(value)).map(Change::Set)
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        T::deserialize(de::value::StringDeserializer::new(value)).map(Change::Set)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Change::Set)
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        T::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Change::Set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    /// The builtin map with a JSON override applied, or the error's message with its sources.
    fn overlay_json(text: &str) -> Result<FieldMap, String> {
        let overrides = MapOverrides::from_json_str(text).map_err(|error| chain(&error))?;
        FieldMap::builtin()
            .overlay(&overrides)
            .map_err(|error| chain(&error))
    }

    fn chain(error: &MapError) -> String {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }

    fn check_error(override_json: &str, expected: &str) {
        match overlay_json(override_json) {
            Ok(map) => panic!("expected {expected:?}, got a map: {map:?}"),
            Err(message) => assert_eq!(message, expected),
        }
    }

    const OVERRIDE_JSON: &str = r#"{
        "version": 4,
        "description": "Acme's changes",
        "objects": {
            "Account": {
                "fields": { "Phone": null, "Main_Phone__c": "phone" },
                "links": { "ParentId": false }
            },
            "contact": { "fields": { "Title": null, "Job_Title__c": "job_title", "MobilePhone": "phone", "Phone": false } },
            "Partner__c": {
                "entity": "company",
                "fields": { "Name": "name", "Website__c": "website" },
                "links": { "Parent_Partner__c": "parent_company" }
            }
        }
    }"#;

    const OVERRIDE_TOML: &str = r#"
        version = 4
        description = "Acme's changes"

        [objects.Account]
        fields = { Phone = false, Main_Phone__c = "phone" }
        links = { ParentId = false }

        [objects.contact.fields]
        Title = false
        Job_Title__c = "job_title"
        MobilePhone = "phone"
        Phone = false

        [objects.Partner__c]
        entity = "company"
        fields = { Name = "name", Website__c = "website" }
        links = { Parent_Partner__c = "parent_company" }
    "#;

    #[test]
    fn builtin_map_parses_and_validates() {
        let map = FieldMap::parse(BUILTIN_MAP);
        assert!(map.is_ok(), "{map:?}");
        let map = FieldMap::builtin();
        assert_eq!(map.version, MAP_VERSION);
        assert_eq!(map.objects["Account"].entity, EntityKind::Company);
        assert_eq!(map.objects["Contact"].links["AccountId"], "company");
    }

    #[test]
    fn the_builtin_map_round_trips_through_json_and_toml() {
        let map = FieldMap::builtin();
        let json = map.to_json_string().map_err(|error| chain(&error));
        let from_json =
            json.and_then(|text| FieldMap::from_json_str(&text).map_err(|error| chain(&error)));
        assert_eq!(from_json.as_ref(), Ok(&map));
        let toml = map.to_toml_string().map_err(|error| chain(&error));
        let from_toml =
            toml.and_then(|text| FieldMap::from_toml_str(&text).map_err(|error| chain(&error)));
        assert_eq!(from_toml.as_ref(), Ok(&map));
        assert_eq!(overlay_json(r#"{"version":4}"#), Ok(map));
    }

    #[test]
    fn json_and_toml_overrides_give_the_same_map() {
        let from_json = overlay_json(OVERRIDE_JSON);
        let toml = MapOverrides::from_toml_str(OVERRIDE_TOML).map_err(|error| chain(&error));
        let from_toml = toml.and_then(|overrides| {
            FieldMap::builtin()
                .overlay(&overrides)
                .map_err(|error| chain(&error))
        });
        assert_eq!(from_json, from_toml);
        let Ok(map) = from_json else {
            panic!("{from_json:?}")
        };

        let account = &map.objects["Account"];
        assert_eq!(account.fields["Main_Phone__c"], "phone");
        assert!(!account.fields.contains_key("Phone"));
        assert!(!account.links.contains_key("ParentId"));
        assert_eq!(account.links["OwnerId"], "owner", "untouched links stay");
        assert_eq!(account.fields["Name"], "name", "untouched fields stay");

        // `contact` names the map's `Contact`: Salesforce names ignore case.
        let contact = &map.objects["Contact"];
        assert!(!map.objects.contains_key("contact"));
        assert_eq!(contact.fields["MobilePhone"], "phone");
        assert_eq!(contact.fields["Job_Title__c"], "job_title");
        assert!(!contact.fields.contains_key("Title"));
        assert!(!contact.fields.contains_key("Phone"));
        assert_eq!(contact.links["AccountId"], "company");

        let partner = &map.objects["Partner__c"];
        assert_eq!(partner.entity, EntityKind::Company);
        assert_eq!(partner.links["Parent_Partner__c"], "parent_company");
    }

    #[test]
    fn an_override_replaces_an_entity_adds_and_drops_objects() {
        let map = overlay_json(
            r#"{"version":4,"objects":{
                "Account": null,
                "Contact": {"links": {"AccountId": null}},
                "Lead": {"entity": "company", "fields": {"LastName": null, "Company": "name", "FirstName": null, "Email": null, "Title": null, "Status": null, "LeadSource": null, "Address": null, "Phone": "phone"}, "values": {"tags": null}, "links": {"OwnerId": "owner"}, "replaced_by": null},
                "Partner__c": {"entity": "contact", "fields": {"Name": "last_name"}, "values": {"tags": ["partner"]}}
            }}"#,
        );
        let Ok(map) = map else { panic!("{map:?}") };
        assert!(!map.objects.contains_key("Account"));
        assert!(map.objects.contains_key("Partner__c"));
        let lead = &map.objects["Lead"];
        assert_eq!(lead.entity, EntityKind::Company);
        // Name, phone, the two dates and the currency, which companies carry too.
        assert_eq!(lead.fields.len(), 5, "{lead:?}");
        assert!(lead.values.is_empty());
        assert_eq!(lead.replaced_by, None);
        assert_eq!(
            map.objects["Partner__c"].values["tags"],
            serde_json::json!(["partner"])
        );

        let switched = overlay_json(
            r#"{"version":4,"objects":{"Contact":{"entity":"company","fields":{
                "FirstName":null,"LastName":"name","Email":null,"Title":null,"MailingAddress":null
            },"links":{"AccountId":"parent_company","ReportsToId":null}}}}"#,
        );
        let Ok(switched) = switched else {
            panic!("{switched:?}")
        };
        assert_eq!(switched.objects["Contact"].entity, EntityKind::Company);
    }

    #[test]
    fn every_override_error_names_the_object_field_and_reason() {
        check_error(
            r#"{"version":1,"objects":{}}"#,
            "field map override: written for map version 1, but the map it changes is version 4; read it against the new map and set its version to 4",
        );
        check_error(
            r#"{"version":4,"objects":{"Account":{"entity":"deal"}}}"#,
            "field map: Account goes to entity \"deal\", which the destination does not have (it has company, contact, owner, opportunity, stage, contact_role, task, event, attendee, note, file, conversation, custom_record, team, product, price_book, price_book_entry, line_item, campaign, campaign_member, file_link, series, case, case_comment, contract, order, order_item, quote, quote_line_item, asset, knowledge_article, article_category, account_contact_relation)",
        );
        check_error(
            r#"{"version":4,"objects":{"Account":{"fields":{"Phone":"mobile_phone"}}}}"#,
            "field map: Account.Phone targets company.mobile_phone, which the destination does not have",
        );
        check_error(
            r#"{"version":4,"objects":{"Contact":{"links":{"ReportsToId":"manager"}}}}"#,
            "field map: Contact.ReportsToId targets link contact.manager, which the destination does not have",
        );
        check_error(
            r#"{"version":4,"objects":{"Account":{"fields":{"Main_Phone__c":"phone"}}}}"#,
            "field map: Account.Main_Phone__c and Account.Phone both target company.phone; a destination field takes one source",
        );
        check_error(
            r#"{"version":4,"objects":{"Account":{"links":{"Parent__c":"parent_company"}}}}"#,
            "field map: Account.ParentId and Account.Parent__c both target company.parent_company; a destination field takes one source",
        );
        check_error(
            r#"{"version":4,"objects":{"Account":{"fields":{"Name":null}}}}"#,
            "field map: nothing in Account fills company.name, which the destination requires of every company",
        );
        check_error(
            r#"{"version":4,"objects":{"Solution":{"fields":{"SolutionName":"name"}}}}"#,
            "field map override: Solution is not in the map, so it must name its entity",
        );
        check_error(
            r#"{"version":4,"objects":{"Task":{"links":{"WhatId":{"Account":"company","Opportunity":"deal"}}}}}"#,
            "field map: Task.WhatId targets link task.deal, which the destination does not have",
        );
        check_error(
            r#"{"version":4,"objects":{"Task":{"links":{"WhatId":{}}}}}"#,
            "field map: Task.WhatId maps a polymorphic reference to no link at all",
        );
        check_error(
            r#"{"version":4,"objects":{"Task":{"links":{"Related__c":{"Account":"company"}}}}}"#,
            "field map: Task.Related__c and Task.WhatId both target task.company; a destination field takes one source",
        );
        check_error(
            r#"{"version":4,"objects":{"Lead":{"values":{"tags":"lead","company_name":["x"]}}}}"#,
            "field map: Lead sets contact.company_name to the constant [\"x\"], which is not a Text value",
        );
        check_error(
            r#"{"version":4,"objects":{"Account":{"fields":{"Fax":null}}}}"#,
            "field map override: Account.Fax is dropped, but the map does not map it (a custom field the map does not name becomes a destination custom field; a map cannot leave it out yet)",
        );
        check_error(
            r#"{"version":4,"objects":{"Account":{"entity":"contact"}}}"#,
            "field map: Account.AnnualRevenue targets contact.annual_revenue, which the destination does not have",
        );
        check_error(
            r#"{"version":4,"objects":{"Account":{"fields":{"Phone":true}}}}"#,
            "the field map is not valid JSON: invalid value: boolean `true`, expected a name or a table to set, or null or false to drop at line 1 column 57",
        );
        check_error(
            r#"{"version":4,"objects":{"Account":{"feilds":{}}}}"#,
            "the field map is not valid JSON: unknown field `feilds`, expected one of `entity`, `fields`, `links`, `values`, `replaced_by` at line 1 column 43",
        );
        check_error(
            r#"{"objects":{}}"#,
            "the field map is not valid JSON: missing field `version` at line 1 column 14",
        );
    }

    #[test]
    fn the_examples_in_the_module_documentation_agree() {
        let docs = include_str!("mapping.rs");
        let example = |fence: &str| -> String {
            let start = docs.find(fence).map_or(0, |start| start + fence.len());
            let end = docs[start..]
                .find("//! ```")
                .map_or(start, |end| start + end);
            docs[start..end]
                .lines()
                .map(|line| line.trim_start().trim_start_matches("//!"))
                .collect::<Vec<_>>()
                .join("\n")
        };
        let from_json = overlay_json(&example("//! ```json\n"));
        let toml = MapOverrides::from_toml_str(&example("//! ```toml\n"));
        let from_toml = toml
            .and_then(|overrides| FieldMap::builtin().overlay(&overrides))
            .map_err(|error| chain(&error));
        assert!(from_json.is_ok(), "{from_json:?}");
        assert_eq!(from_json, from_toml);
    }

    #[test]
    fn a_toml_syntax_error_keeps_the_parser_message() {
        let error =
            MapOverrides::from_toml_str("version = 4\n[objects.Account.fields]\nPhone = 3\n")
                .map(|_| ())
                .map_err(|error| chain(&error));
        let Err(message) = error else {
            panic!("accepted")
        };
        assert!(
            message.starts_with("the field map is not valid TOML: "),
            "{message}"
        );
        assert!(
            message.contains("expected a name or a table to set, or null or false to drop"),
            "{message}"
        );
    }

    #[test]
    fn a_map_naming_an_unknown_target_is_refused_with_object_and_field() {
        let text =
            r#"{"version":4,"objects":{"Account":{"entity":"company","fields":{"Name":"title"}}}}"#;
        let error = FieldMap::parse(text)
            .map(|_| ())
            .map_err(|error| error.to_string());
        assert_eq!(
            error,
            Err("field map: Account.Name targets company.title, which the destination does not have".to_owned())
        );
    }

    #[test]
    fn whole_maps_are_checked_like_overlays() {
        let check = |text: &str| {
            FieldMap::from_json_str(text)
                .map(|_| ())
                .map_err(|error| error.to_string())
        };
        assert_eq!(
            check(r#"{"version":4,"objects":{"Deal":{"entity":"deal"}}}"#),
            Err("field map: Deal goes to entity \"deal\", which the destination does not have (it has company, contact, owner, opportunity, stage, contact_role, task, event, attendee, note, file, conversation, custom_record, team, product, price_book, price_book_entry, line_item, campaign, campaign_member, file_link, series, case, case_comment, contract, order, order_item, quote, quote_line_item, asset, knowledge_article, article_category, account_contact_relation)".to_owned())
        );
        assert_eq!(
            check(
                r#"{"version":4,"objects":{"Account":{"entity":"company","fields":{"Name":"name","NAME":"description"}}}}"#
            ),
            Err(
                "field map: Account.Name is mapped twice (Salesforce field names ignore case)"
                    .to_owned()
            )
        );
        assert_eq!(
            check(r#"{"version":7,"objects":{}}"#),
            Err("field map version 7 is not supported (this Ferry reads version 4)".to_owned())
        );
        let toml =
            "version = 4\n[objects.Account]\nentity = \"company\"\nfields = { Name = \"name\" }\n";
        let map = FieldMap::from_toml_str(toml).map_err(|error| error.to_string());
        assert_eq!(map.map(|map| map.objects["Account"].fields.len()), Ok(1));
    }

    #[test]
    fn the_format_follows_the_file_extension() {
        let toml = "version = 4\n[objects.Account.fields]\nFax = \"phone\"\nPhone = false\n";
        let overrides = MapOverrides::parse_file(Path::new("acme.TOML"), toml);
        assert!(overrides.is_ok(), "{overrides:?}");
        let json = r#"{"version":4}"#;
        assert!(MapOverrides::parse_file(Path::new("maps/acme.json"), json).is_ok());
        assert!(FieldMap::parse_file(Path::new("default_map.json"), BUILTIN_MAP).is_ok());
        let error = MapOverrides::parse_file(Path::new("acme.yaml"), json)
            .map(|_| ())
            .map_err(|error| error.to_string());
        assert_eq!(
            error,
            Err("field map acme.yaml: the file name ends neither in .json nor in .toml".to_owned())
        );
    }

    #[test]
    fn confirmed_proposals_become_an_override_file_in_either_format() {
        let mut overrides = MapOverrides::new(MAP_VERSION);
        overrides.set_field("Contact", "Mobile_Phone__c", "phone");
        overrides.set_field("Contact", "Phone", "phone");
        overrides.objects.insert("Lead".to_owned(), Change::Drop);
        overrides.set_field("Account", "Fax", "phone");
        let Change::Set(account) = overrides
            .objects
            .entry("Account".to_owned())
            .or_insert(Change::Drop)
        else {
            panic!("set_field made a change")
        };
        account.fields.insert("Phone".to_owned(), Change::Drop);
        for (text, format) in [
            (overrides.to_json_string(), MapFormat::Json),
            (overrides.to_toml_string(), MapFormat::Toml),
        ] {
            let text = text.map_err(|error| chain(&error));
            let parsed = text.and_then(|text| {
                MapOverrides::parse_as(&text, format).map_err(|error| chain(&error))
            });
            assert_eq!(parsed.as_ref(), Ok(&overrides), "{format:?}");
        }
    }

    #[test]
    fn dropping_an_object_the_map_does_not_name_leaves_it_out() -> Result<(), MapError> {
        let overrides =
            MapOverrides::from_json_str(r#"{"version":4,"objects":{"Case":null,"Lead":null}}"#)?;
        let map = FieldMap::builtin().overlay(&overrides)?;
        assert!(!map.objects.contains_key("Lead"));
        assert!(map.leaves_out("case") && map.leaves_out("Lead"));
        assert!(!map.leaves_out("Contact"));
        assert!(FieldMap::builtin().left_out.is_empty());
        Ok(())
    }
}
