//! Object and field metadata, and the describe / describeGlobal JSON built from it.
//!
//! The field lists here are the single source of truth: the generator in `org.rs`
//! produces values in exactly this order, SOQL resolves names against it, and describe
//! renders it with every key real Salesforce sends.

use serde_json::{Map, Value as Json, json};
use std::sync::LazyLock;

/// Salesforce field types the simulator uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Id,
    Boolean,
    String,
    Textarea,
    Picklist,
    Reference,
    Url,
    Phone,
    Email,
    Int,
    Currency,
    Double,
    Date,
    Datetime,
    Address,
    MultiPicklist,
    Percent,
    Base64,
    Combobox,
}

impl FieldType {
    /// The `type` value of describe.
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Id => "id",
            FieldType::Boolean => "boolean",
            FieldType::String => "string",
            FieldType::Textarea => "textarea",
            FieldType::Picklist => "picklist",
            FieldType::Reference => "reference",
            FieldType::Url => "url",
            FieldType::Phone => "phone",
            FieldType::Email => "email",
            FieldType::Int => "int",
            FieldType::Currency => "currency",
            FieldType::Double => "double",
            FieldType::Date => "date",
            FieldType::Datetime => "datetime",
            FieldType::Address => "address",
            FieldType::MultiPicklist => "multipicklist",
            FieldType::Percent => "percent",
            FieldType::Base64 => "base64",
            FieldType::Combobox => "combobox",
        }
    }

    /// The `soapType` value of describe.
    pub fn soap_type(self) -> &'static str {
        match self {
            FieldType::Id | FieldType::Reference => "tns:ID",
            FieldType::Boolean => "xsd:boolean",
            FieldType::Int => "xsd:int",
            FieldType::Currency | FieldType::Double | FieldType::Percent => "xsd:double",
            FieldType::Base64 => "xsd:base64Binary",
            FieldType::Date => "xsd:date",
            FieldType::Datetime => "xsd:dateTime",
            FieldType::Address => "urn:address",
            _ => "xsd:string",
        }
    }

    /// True for types whose values are text and whose SOQL literals are quoted.
    pub fn is_text(self) -> bool {
        matches!(
            self,
            FieldType::Id
                | FieldType::String
                | FieldType::Textarea
                | FieldType::Picklist
                | FieldType::Reference
                | FieldType::Url
                | FieldType::Phone
                | FieldType::Email
                | FieldType::MultiPicklist
                | FieldType::Combobox
        )
    }

    /// True for types compared as numbers.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldType::Int | FieldType::Currency | FieldType::Double | FieldType::Percent
        )
    }
}

/// An org feature that adds fields or objects to the schema. Switched off, they do not
/// exist: describe leaves them out and SOQL answers `INVALID_FIELD` / `INVALID_TYPE`, as
/// an org without the feature does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feature {
    /// Person accounts: `Account.IsPersonAccount`, the person fields (`FirstName`,
    /// `PersonEmail`, ...) and `*__pc` custom fields, `Contact.IsPersonAccount`.
    PersonAccounts,
    /// Multiple currencies: `CurrencyIsoCode` on records, the `CurrencyType` object.
    MultiCurrency,
}

/// The features an org has switched on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    pub person_accounts: bool,
    pub multi_currency: bool,
}

impl Features {
    /// Every feature on.
    pub const ALL: Features = Features {
        person_accounts: true,
        multi_currency: true,
    };

    /// Whether `feature` is on.
    pub fn has(self, feature: Feature) -> bool {
        match feature {
            Feature::PersonAccounts => self.person_accounts,
            Feature::MultiCurrency => self.multi_currency,
        }
    }

    /// Whether something gated by `feature` (none: always there) exists in this org.
    pub fn allows(self, feature: Option<Feature>) -> bool {
        feature.is_none_or(|f| self.has(f))
    }
}

/// Metadata of one field.
#[derive(Debug, Clone)]
pub struct FieldDef {
    pub name: &'static str,
    pub label: &'static str,
    pub ftype: FieldType,
    pub length: u32,
    pub precision: u32,
    pub scale: u32,
    pub digits: u32,
    pub nillable: bool,
    /// Createable and updateable; system fields are neither.
    pub writable: bool,
    /// Objects a reference field may point to; several for polymorphic fields.
    pub reference_to: &'static [&'static str],
    pub relationship_name: Option<&'static str>,
    pub compound_field_name: Option<&'static str>,
    pub extra_type_info: Option<&'static str>,
    pub picklist: &'static [&'static str],
    pub name_field: bool,
    pub id_lookup: bool,
    pub unique: bool,
    pub defaulted_on_create: bool,
    /// A formula field: read-only, computed from other fields.
    pub calculated: bool,
    /// A rich text area, whose value is HTML.
    pub html: bool,
    /// The org feature without which the field does not exist.
    pub feature: Option<Feature>,
    /// A restricted picklist: only its values are accepted.
    pub restricted: bool,
}

impl FieldDef {
    fn new(name: &'static str, label: &'static str, ftype: FieldType) -> Self {
        let length = match ftype {
            FieldType::Id | FieldType::Reference => 18,
            FieldType::Picklist | FieldType::Phone => 40,
            FieldType::Url | FieldType::String | FieldType::Textarea | FieldType::Combobox => 255,
            FieldType::Email => 80,
            FieldType::MultiPicklist => 4099,
            _ => 0,
        };
        let (precision, scale, digits) = match ftype {
            FieldType::Currency => (18, 2, 0),
            FieldType::Double => (18, 0, 0),
            FieldType::Percent => (5, 2, 0),
            FieldType::Int => (0, 0, 9),
            _ => (0, 0, 0),
        };
        let boolean = ftype == FieldType::Boolean;
        FieldDef {
            name,
            label,
            ftype,
            length,
            precision,
            scale,
            digits,
            // Salesforce booleans are never null; everything else may be unless marked.
            nillable: !boolean && ftype != FieldType::Id,
            writable: ftype != FieldType::Id && ftype != FieldType::Address,
            reference_to: &[],
            relationship_name: None,
            compound_field_name: None,
            extra_type_info: if ftype == FieldType::Textarea {
                Some("plaintextarea")
            } else {
                None
            },
            picklist: &[],
            name_field: false,
            id_lookup: ftype == FieldType::Id,
            unique: false,
            defaulted_on_create: boolean || ftype == FieldType::Id,
            calculated: false,
            html: false,
            feature: None,
            restricted: false,
        }
    }

    /// A field that exists only in orgs with `feature` on.
    pub fn feature(mut self, feature: Feature) -> Self {
        self.feature = Some(feature);
        self
    }

    fn len(mut self, length: u32) -> Self {
        self.length = length;
        self
    }
    fn numeric(mut self, precision: u32, scale: u32) -> Self {
        self.precision = precision;
        self.scale = scale;
        self
    }
    fn digits(mut self, digits: u32) -> Self {
        self.digits = digits;
        self
    }
    fn required(mut self) -> Self {
        self.nillable = false;
        self
    }
    /// A field maintained by the platform: not writable, never null, set on create.
    fn system(mut self) -> Self {
        self.nillable = false;
        self.writable = false;
        self.defaulted_on_create = true;
        self
    }
    fn read_only(mut self) -> Self {
        self.writable = false;
        self
    }
    fn reference(mut self, to: &'static [&'static str], relationship: &'static str) -> Self {
        self.reference_to = to;
        self.relationship_name = Some(relationship);
        self
    }
    fn compound(mut self, parent: &'static str) -> Self {
        self.compound_field_name = Some(parent);
        self
    }
    fn extra(mut self, info: &'static str) -> Self {
        self.extra_type_info = Some(info);
        self
    }
    fn picklist(mut self, values: &'static [&'static str]) -> Self {
        self.picklist = values;
        self
    }
    fn name_field(mut self) -> Self {
        self.name_field = true;
        self
    }
    fn lookup(mut self) -> Self {
        self.id_lookup = true;
        self
    }
    fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
    fn formula(mut self) -> Self {
        self.calculated = true;
        self.writable = false;
        self
    }
    fn rich(mut self) -> Self {
        self.html = true;
        self.extra_type_info = Some("richtextarea");
        self
    }
    fn defaulted(mut self) -> Self {
        self.defaulted_on_create = true;
        self
    }

    /// Whether the field is a custom field (`__c`, or a person contact's `__pc` on a person
    /// account).
    pub fn custom(&self) -> bool {
        self.name.ends_with("__c") || self.name.ends_with("__pc")
    }

    /// Long text areas cannot be filtered, sorted or grouped in SOQL.
    fn long_text(&self) -> bool {
        self.ftype == FieldType::Textarea && self.length > 255
    }

    /// Whether SOQL may use the field in WHERE.
    pub fn filterable(&self) -> bool {
        !self.long_text() && !matches!(self.ftype, FieldType::Address | FieldType::Base64)
    }

    /// Whether SOQL may use the field in ORDER BY.
    pub fn sortable(&self) -> bool {
        !self.long_text()
            && !matches!(
                self.ftype,
                FieldType::Address | FieldType::Base64 | FieldType::MultiPicklist
            )
    }

    fn groupable(&self) -> bool {
        !self.long_text()
            && !matches!(
                self.ftype,
                FieldType::Address
                    | FieldType::Currency
                    | FieldType::Double
                    | FieldType::Percent
                    | FieldType::Datetime
                    | FieldType::Base64
                    | FieldType::MultiPicklist
            )
    }

    fn aggregatable(&self) -> bool {
        !self.long_text()
            && !matches!(
                self.ftype,
                FieldType::Address | FieldType::Boolean | FieldType::Base64
            )
    }

    /// The field entry of describe, with every key Salesforce sends.
    pub fn describe(&self) -> Json {
        let byte_length = if self.ftype.is_text()
            && !matches!(self.ftype, FieldType::Id | FieldType::Reference)
        {
            self.length * 3
        } else {
            self.length
        };
        let picklist: Vec<Json> = self
            .picklist
            .iter()
            .map(|v| json!({"active": true, "defaultValue": false, "label": v, "validFor": null, "value": v}))
            .collect();
        let reference_to = self.reference_to;
        let formula = self.calculated.then_some("Amount * Probability / 100");
        let default_value = if self.ftype == FieldType::Boolean {
            json!(false)
        } else {
            Json::Null
        };
        let permissionable = self.nillable && self.writable;
        json!({
            "aggregatable": self.aggregatable(),
            "aiPredictionField": false,
            "autoNumber": false,
            "byteLength": byte_length,
            "calculated": self.calculated,
            "calculatedFormula": formula,
            "cascadeDelete": false,
            "caseSensitive": false,
            "compoundFieldName": self.compound_field_name,
            "controllerName": null,
            "createable": self.writable,
            "custom": self.custom(),
            "defaultValue": default_value,
            "defaultValueFormula": null,
            "defaultedOnCreate": self.defaulted_on_create,
            "dependentPicklist": false,
            "deprecatedAndHidden": false,
            "digits": self.digits,
            "displayLocationInDecimal": false,
            "encrypted": false,
            "externalId": false,
            "extraTypeInfo": self.extra_type_info,
            "filterable": self.filterable(),
            "filteredLookupInfo": null,
            "formulaTreatNullNumberAsZero": false,
            "groupable": self.groupable(),
            "highScaleNumber": false,
            "htmlFormatted": self.html,
            "idLookup": self.id_lookup,
            "inlineHelpText": null,
            "label": self.label,
            "length": self.length,
            "mask": null,
            "maskType": null,
            "name": self.name,
            "nameField": self.name_field,
            "namePointing": false,
            "nillable": self.nillable,
            "permissionable": permissionable,
            "picklistValues": picklist,
            "polymorphicForeignKey": self.reference_to.len() > 1,
            "precision": self.precision,
            "queryByDistance": false,
            "referenceTargetField": null,
            "referenceTo": reference_to,
            "relationshipName": self.relationship_name,
            "relationshipOrder": null,
            "restrictedDelete": false,
            "restrictedPicklist": self.restricted,
            "scale": self.scale,
            "searchPrefilterable": false,
            "soapType": self.ftype.soap_type(),
            "sortable": self.sortable(),
            "type": self.ftype.name(),
            "unique": self.unique,
            "updateable": self.writable,
            "writeRequiresMasterRead": false,
        })
    }
}

/// Which generator produces an object's records.
///
/// Most objects scale with the org's size; a few (stages, record types, reports,
/// dashboards and the tooling objects) are small fixed sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Generated {
    User,
    Account,
    Contact,
    Lead,
    Opportunity,
    OpportunityContactRole,
    OpportunityStage,
    RecordType,
    Task,
    Event,
    EventRelation,
    Note,
    ContentNote,
    Attachment,
    ContentVersion,
    ContentDocument,
    ContentDocumentLink,
    EmailMessage,
    Campaign,
    CampaignMember,
    Case,
    Project,
    Report,
    Dashboard,
    ApexClass,
    ApexTrigger,
    FlowDefinitionView,
    ValidationRule,
    WorkflowRule,
    /// Visualforce pages: markup an admin rebuilds, never data.
    ApexPage,
    /// The org itself: one record, in every org.
    Organization,
    /// The currencies of a multi-currency org.
    CurrencyType,
    /// Groups: queues (which own records, such as leads and cases) and public groups.
    Group,
    /// Which objects each queue may own: one row per queue and object.
    QueueSobject,
    /// Products, a small fixed catalog.
    Product2,
    /// Price books: the standard one (`IsStandard`) and custom ones.
    Pricebook2,
    /// A product's price in a price book (and, in a multi-currency org, a currency).
    PricebookEntry,
    /// An opportunity's products, from entries of the opportunity's price book.
    OpportunityLineItem,
    /// The senders and recipients of an email (Enhanced Email): contacts, leads, users.
    EmailMessageRelation,
    /// Comments on cases: no owner, written by a user (`CreatedById`), published to the
    /// customer or internal.
    CaseComment,
    /// An account's contract: its term, status and the price book its orders use.
    Contract,
    /// An order of an account, under an activated contract or none, from one price book.
    Order,
    /// An order's products, from entries of the order's price book.
    OrderItem,
    /// A quote on an opportunity, from the opportunity's price book (Quotes enabled).
    Quote,
    /// A quote's products, from entries of the quote's price book.
    QuoteLineItem,
    /// An account's installed products, in a hierarchy (`ParentId`, `RootAssetId`).
    Asset,
    /// Contacts to Multiple Accounts: each contact's relation to its own account
    /// (`IsDirect`) and some to other accounts.
    AccountContactRelation,
    /// Lightning Knowledge article versions (`Knowledge__kav`): drafts, the one online
    /// version of a published article, archived ones.
    KnowledgeArticleVersion,
    /// The data categories of each article version (`Knowledge__DataCategorySelection`).
    DataCategorySelection,
    /// A Knowledge article independent of its versions (`KnowledgeArticle`).
    KnowledgeArticle,
}

impl Generated {
    /// Every generator, in a fixed order.
    pub const ALL: [Generated; 50] = [
        Generated::User,
        Generated::Account,
        Generated::Contact,
        Generated::Lead,
        Generated::Opportunity,
        Generated::OpportunityContactRole,
        Generated::OpportunityStage,
        Generated::RecordType,
        Generated::Task,
        Generated::Event,
        Generated::EventRelation,
        Generated::Note,
        Generated::ContentNote,
        Generated::Attachment,
        Generated::ContentVersion,
        Generated::ContentDocument,
        Generated::ContentDocumentLink,
        Generated::EmailMessage,
        Generated::Campaign,
        Generated::CampaignMember,
        Generated::Case,
        Generated::Project,
        Generated::Report,
        Generated::Dashboard,
        Generated::ApexClass,
        Generated::ApexTrigger,
        Generated::FlowDefinitionView,
        Generated::ValidationRule,
        Generated::WorkflowRule,
        Generated::ApexPage,
        Generated::Organization,
        Generated::CurrencyType,
        Generated::Group,
        Generated::QueueSobject,
        Generated::Product2,
        Generated::Pricebook2,
        Generated::PricebookEntry,
        Generated::OpportunityLineItem,
        Generated::EmailMessageRelation,
        Generated::CaseComment,
        Generated::Contract,
        Generated::Order,
        Generated::OrderItem,
        Generated::Quote,
        Generated::QuoteLineItem,
        Generated::Asset,
        Generated::AccountContactRelation,
        Generated::KnowledgeArticleVersion,
        Generated::DataCategorySelection,
        Generated::KnowledgeArticle,
    ];

    /// The API name of the object this generator fills.
    pub fn object_name(self) -> &'static str {
        match self {
            Generated::User => "User",
            Generated::Account => "Account",
            Generated::Contact => "Contact",
            Generated::Lead => "Lead",
            Generated::Opportunity => "Opportunity",
            Generated::OpportunityContactRole => "OpportunityContactRole",
            Generated::OpportunityStage => "OpportunityStage",
            Generated::RecordType => "RecordType",
            Generated::Task => "Task",
            Generated::Event => "Event",
            Generated::EventRelation => "EventRelation",
            Generated::Note => "Note",
            Generated::ContentNote => "ContentNote",
            Generated::Attachment => "Attachment",
            Generated::ContentVersion => "ContentVersion",
            Generated::ContentDocument => "ContentDocument",
            Generated::ContentDocumentLink => "ContentDocumentLink",
            Generated::EmailMessage => "EmailMessage",
            Generated::Campaign => "Campaign",
            Generated::CampaignMember => "CampaignMember",
            Generated::Case => "Case",
            Generated::Project => "Project__c",
            Generated::Report => "Report",
            Generated::Dashboard => "Dashboard",
            Generated::ApexClass => "ApexClass",
            Generated::ApexTrigger => "ApexTrigger",
            Generated::FlowDefinitionView => "FlowDefinitionView",
            Generated::ValidationRule => "ValidationRule",
            Generated::WorkflowRule => "WorkflowRule",
            Generated::ApexPage => "ApexPage",
            Generated::Organization => "Organization",
            Generated::CurrencyType => "CurrencyType",
            Generated::Group => "Group",
            Generated::QueueSobject => "QueueSobject",
            Generated::Product2 => "Product2",
            Generated::Pricebook2 => "Pricebook2",
            Generated::PricebookEntry => "PricebookEntry",
            Generated::OpportunityLineItem => "OpportunityLineItem",
            Generated::EmailMessageRelation => "EmailMessageRelation",
            Generated::CaseComment => "CaseComment",
            Generated::Contract => "Contract",
            Generated::Order => "Order",
            Generated::OrderItem => "OrderItem",
            Generated::Quote => "Quote",
            Generated::QuoteLineItem => "QuoteLineItem",
            Generated::Asset => "Asset",
            Generated::AccountContactRelation => "AccountContactRelation",
            Generated::KnowledgeArticleVersion => "Knowledge__kav",
            Generated::DataCategorySelection => "Knowledge__DataCategorySelection",
            Generated::KnowledgeArticle => "KnowledgeArticle",
        }
    }

    /// True for the objects of the Tooling API, queried at `/tooling/query`.
    pub fn is_tooling(self) -> bool {
        matches!(
            self,
            Generated::ApexClass
                | Generated::ApexTrigger
                | Generated::FlowDefinitionView
                | Generated::ValidationRule
                | Generated::WorkflowRule
                | Generated::ApexPage
        )
    }

    /// Position in [`Generated::ALL`].
    pub fn slot(self) -> usize {
        // `ALL` lists the variants in declaration order, so the discriminant is the slot.
        self as usize
    }
}

/// A child relationship of describe.
#[derive(Debug, Clone)]
pub struct ChildRelationship {
    pub child: &'static str,
    pub field: &'static str,
    pub name: &'static str,
    pub cascade_delete: bool,
}

/// The flags describeGlobal and describe report for an object.
#[derive(Debug, Clone, Copy)]
pub struct ObjectFlags {
    pub createable: bool,
    pub updateable: bool,
    pub deletable: bool,
    pub undeletable: bool,
    pub mergeable: bool,
    pub queryable: bool,
    pub replicateable: bool,
    pub retrieveable: bool,
    pub searchable: bool,
    pub triggerable: bool,
    pub layoutable: bool,
    pub feed_enabled: bool,
    pub mru_enabled: bool,
}

/// Flags from the bit layout of [`CATALOG`]: bit 0 createable, then updateable,
/// deletable, undeletable, mergeable, queryable, replicateable, retrieveable,
/// searchable, triggerable, layoutable, feedEnabled, and bit 12 mruEnabled.
fn flags_from_bits(bits: u16) -> ObjectFlags {
    let bit = |i: u32| bits & (1 << i) != 0;
    ObjectFlags {
        createable: bit(0),
        updateable: bit(1),
        deletable: bit(2),
        undeletable: bit(3),
        mergeable: bit(4),
        queryable: bit(5),
        replicateable: bit(6),
        retrieveable: bit(7),
        searchable: bit(8),
        triggerable: bit(9),
        layoutable: bit(10),
        feed_enabled: bit(11),
        mru_enabled: bit(12),
    }
}

/// Metadata of one object.
#[derive(Debug, Clone)]
pub struct ObjectDef {
    pub name: &'static str,
    pub label: &'static str,
    pub label_plural: &'static str,
    pub key_prefix: Option<&'static str>,
    pub flags: ObjectFlags,
    /// The keys of describeGlobal's `urls`, in the order Salesforce lists them.
    pub url_keys: &'static [&'static str],
    pub fields: Vec<FieldDef>,
    pub children: Vec<ChildRelationship>,
    /// Which generator fills the object, or `None` for objects that exist only in
    /// metadata (history, share, feed tables) and hold no records.
    pub generated: Option<Generated>,
    /// For each address field, the indexes of its components in JSON key order
    /// (city, country, geocodeAccuracy, latitude, longitude, postalCode, state, street).
    pub address_parts: Vec<(usize, [Option<usize>; 8])>,
    /// The org feature without which the object does not exist.
    pub feature: Option<Feature>,
}

/// Keys of a compound address value, in the order Salesforce sends them.
pub const ADDRESS_KEYS: [&str; 8] = [
    "city",
    "country",
    "geocodeAccuracy",
    "latitude",
    "longitude",
    "postalCode",
    "state",
    "street",
];

/// Field-name suffixes of the address components, matching [`ADDRESS_KEYS`].
const ADDRESS_SUFFIXES: [&str; 8] = [
    "City",
    "Country",
    "GeocodeAccuracy",
    "Latitude",
    "Longitude",
    "PostalCode",
    "State",
    "Street",
];

impl ObjectDef {
    /// Index of a field by case-insensitive name.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields
            .iter()
            .position(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// Index of a field by case-insensitive name, among the fields an org with
    /// `features` has.
    pub fn field_index_in(&self, name: &str, features: Features) -> Option<usize> {
        self.field_index(name)
            .filter(|&i| features.allows(self.fields[i].feature))
    }

    /// Whether field `index` exists in an org with `features`.
    pub fn has_field(&self, index: usize, features: Features) -> bool {
        self.fields
            .get(index)
            .is_some_and(|f| features.allows(f.feature))
    }

    /// (object, field) of field `index` when an org with `features` lacks it.
    pub fn missing_field(
        &self,
        index: usize,
        features: Features,
    ) -> Option<(&'static str, &'static str)> {
        (!self.has_field(index, features)).then(|| (self.name, self.fields[index].name))
    }

    /// Components of the address field at `index`, if it is one.
    pub fn address_components(&self, index: usize) -> Option<&[Option<usize>; 8]> {
        self.address_parts
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, parts)| parts)
    }

    /// The reference field whose relationship name is `relationship` (e.g. `Owner`).
    pub fn relationship(&self, relationship: &str) -> Option<usize> {
        self.fields.iter().position(|f| {
            f.relationship_name
                .is_some_and(|r| r.eq_ignore_ascii_case(relationship))
        })
    }

    fn with_address_parts(mut self) -> Self {
        let mut parts = Vec::new();
        for (i, field) in self.fields.iter().enumerate() {
            if field.ftype != FieldType::Address {
                continue;
            }
            let stem = field.name.trim_end_matches("Address");
            let mut slots = [None; 8];
            for (slot, suffix) in slots.iter_mut().zip(ADDRESS_SUFFIXES) {
                *slot = self.field_index(&format!("{stem}{suffix}"));
            }
            parts.push((i, slots));
        }
        self.address_parts = parts;
        self
    }

    fn urls_json(&self, version: &str, instance_url: Option<&str>) -> Json {
        let base = format!("/services/data/v{version}/sobjects/{}", self.name);
        let mut urls = Map::new();
        let mut put = |k: &str, v: String| {
            urls.insert(k.to_string(), Json::String(v));
        };
        for key in self.url_keys {
            let url = match *key {
                "compactLayouts" => format!("{base}/describe/compactLayouts"),
                "rowTemplate" => format!("{base}/{{ID}}"),
                "approvalLayouts" => format!("{base}/describe/approvalLayouts"),
                "defaultValues" => format!("{base}/defaultValues?recordTypeId&fields"),
                "listviews" => format!("{base}/listviews"),
                "describe" => format!("{base}/describe"),
                "quickActions" => format!("{base}/quickActions"),
                "layouts" => format!("{base}/describe/layouts"),
                "namedLayouts" => format!("{base}/describe/namedLayouts/{{LayoutName}}"),
                "passwordUtilities" => format!("{base}/{{ID}}/password"),
                "eventSchema" => format!("{base}/eventSchema"),
                "eventSeriesUpdates" => format!("{base}/{{ID}}/fromThisEventOnwards"),
                "caseArticleSuggestions" => format!("{base}/suggestedArticles"),
                "caseRowArticleSuggestions" => format!("{base}/{{ID}}/suggestedArticles"),
                _ => base.clone(),
            };
            put(key, url);
        }
        // A describe of an object with page layouts also links the classic UI.
        if let (Some(host), true) = (instance_url, self.url_keys.contains(&"layouts")) {
            put("uiDetailTemplate", format!("{host}/{{ID}}"));
            put("uiEditTemplate", format!("{host}/{{ID}}/e"));
            if let Some(prefix) = self.key_prefix {
                put("uiNewRecord", format!("{host}/{prefix}/e"));
            }
        }
        Json::Object(urls)
    }

    /// The entry of this object in describeGlobal.
    pub fn global_entry(&self, version: &str) -> Json {
        let f = self.flags;
        json!({
            "activateable": false,
            "createable": f.createable,
            "custom": self.name.ends_with("__c"),
            "customSetting": false,
            "deepCloneable": false,
            "deletable": f.deletable,
            "deprecatedAndHidden": false,
            "feedEnabled": f.feed_enabled,
            "hasSubtypes": false,
            "isInterface": false,
            "isSubtype": false,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label_plural,
            "layoutable": f.layoutable,
            "mergeable": f.mergeable,
            "mruEnabled": f.mru_enabled,
            "name": self.name,
            "queryable": f.queryable,
            "replicateable": f.replicateable,
            "retrieveable": f.retrieveable,
            "searchable": f.searchable,
            "triggerable": f.triggerable,
            "undeletable": f.undeletable,
            "updateable": f.updateable,
            "urls": self.urls_json(version, None),
        })
    }

    /// The full describe of this object.
    pub fn describe(&self, version: &str, instance_url: &str) -> Json {
        self.describe_for(version, instance_url, Features::ALL)
    }

    /// The describe of this object in an org with `features`: fields and child
    /// relationships of features that are off are left out.
    pub fn describe_for(&self, version: &str, instance_url: &str, features: Features) -> Json {
        let f = self.flags;
        let fields: Vec<Json> = self
            .fields
            .iter()
            .filter(|field| features.allows(field.feature))
            .map(FieldDef::describe)
            .collect();
        let children: Vec<Json> = self
            .children
            .iter()
            .filter(|c| {
                object(c.child).is_some_and(|child| {
                    features.allows(child.feature)
                        && child
                            .field_index(c.field)
                            .is_none_or(|i| child.has_field(i, features))
                })
            })
            .map(|c| {
                json!({
                    "cascadeDelete": c.cascade_delete,
                    "childSObject": c.child,
                    "deprecatedAndHidden": false,
                    "field": c.field,
                    "junctionIdListNames": [],
                    "junctionReferenceTo": [],
                    "relationshipName": c.name,
                    "restrictedDelete": false,
                })
            })
            .collect();
        let base = format!("/services/data/v{version}/sobjects/{}", self.name);
        // Every object with layouts has the platform's master record type, plus the
        // org's own record types of the object.
        let record_types = if f.layoutable {
            let mut infos = vec![json!({
                "active": true,
                "available": true,
                "defaultRecordTypeMapping": !RECORD_TYPES.iter().any(|t| t.0 == self.name),
                "developerName": "Master",
                "master": true,
                "name": "Master",
                "recordTypeId": "012000000000000AAA",
                "urls": {"layout": format!("{base}/describe/layouts/012000000000000AAA")},
            })];
            let mut first = true;
            for (position, (object, name, developer)) in RECORD_TYPES.iter().enumerate() {
                if *object != self.name {
                    continue;
                }
                let id = crate::ids::salesforce_id("012", 1 + position as u64);
                infos.push(json!({
                    "active": true,
                    "available": true,
                    "defaultRecordTypeMapping": first,
                    "developerName": developer,
                    "master": false,
                    "name": name,
                    "recordTypeId": id,
                    "urls": {"layout": format!("{base}/describe/layouts/{id}")},
                }));
                first = false;
            }
            Json::Array(infos)
        } else {
            json!([])
        };
        let scopes = if f.layoutable {
            let plural = self.label_plural.to_lowercase();
            json!([
                {"label": format!("All {plural}"), "name": "everything"},
                {"label": format!("My {plural}"), "name": "mine"},
                {"label": format!("My team's {plural}"), "name": "team"},
            ])
        } else {
            json!([])
        };
        let mut describe = json!({
            "actionOverrides": [],
            "activateable": false,
            "childRelationships": children,
            "compactLayoutable": f.layoutable,
            "createable": f.createable,
            "custom": self.name.ends_with("__c"),
            "customSetting": false,
            "deepCloneable": false,
            "defaultImplementation": null,
            "deletable": f.deletable,
            "deprecatedAndHidden": false,
            "extendedBy": null,
            "extendsInterfaces": null,
            "feedEnabled": f.feed_enabled,
            "fields": fields,
            "hasSubtypes": false,
            "implementedBy": null,
            "implementsInterfaces": null,
            "isInterface": false,
            "isSubtype": false,
            "keyPrefix": self.key_prefix,
            "label": self.label,
            "labelPlural": self.label_plural,
            "layoutable": f.layoutable,
            "listviewable": null,
            "lookupLayoutable": null,
            "mergeable": f.mergeable,
            "mruEnabled": f.mru_enabled,
            "name": self.name,
            "namedLayoutInfos": [],
            "networkScopeFieldName": null,
            "queryable": f.queryable,
            "recordTypeInfos": record_types,
            "replicateable": f.replicateable,
            "retrieveable": f.retrieveable,
            "searchLayoutable": f.layoutable,
            "searchable": f.searchable,
            "supportedScopes": scopes,
            "triggerable": f.triggerable,
            "undeletable": f.undeletable,
            "updateable": f.updateable,
            "urls": self.urls_json(version, Some(instance_url)),
        });
        // Newer API versions describe associated entities and the describe option too.
        let major = version
            .split('.')
            .next()
            .and_then(|m| m.parse::<u32>().ok())
            .unwrap_or(0);
        if let (true, Some(map)) = (major >= 50, describe.as_object_mut()) {
            // ... and no longer link default values from the describe itself.
            if let Some(Json::Object(urls)) = map.get_mut("urls") {
                urls.remove("defaultValues");
            }
            map.insert("associateEntityType".into(), Json::Null);
            map.insert("associateParentEntity".into(), Json::Null);
            map.insert("sobjectDescribeOption".into(), json!("FULL"));
        }
        describe
    }
}

/// Generated from the recorded describeGlobal: name, label, plural, key prefix, flag bits
/// (see [`flags_from_bits`]) and the `urls` keys each object lists.
#[rustfmt::skip]
const CATALOG: &[CatalogEntry] = &[
    ("AcceptedEventRelation", "Accepted Event Relation", "Accepted Event Relations", None, 0b0000010100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("Account", "Account", "Accounts", Some("001"), 0b1111111111111, &["compactLayouts", "rowTemplate", "approvalLayouts", "defaultValues", "listviews", "describe", "quickActions", "layouts", "sobject"]),
    ("AccountChangeEvent", "Account Change Event", "Account Change Event", None, 0b0001010000000, &["rowTemplate", "eventSchema", "defaultValues", "describe", "sobject"]),
    ("AccountFeed", "Account Feed", "Account Feed", None, 0b0000011100100, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("AccountHistory", "Account History", "Account History", None, 0b0000011100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("AccountShare", "Account Share", "Account Share", Some("00r"), 0b0000010100111, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("ActivityHistory", "Activity History", "Activity History", None, 0b0000000000000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("AggregateResult", "Aggregate Result", "Aggregate Result", None, 0b0000000000000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("Announcement", "Announcement", "Announcements", Some("0Bt"), 0b0000011101111, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("AssetTokenEvent", "Asset Token Event", "Asset Token Events", Some("0Li"), 0b0001000000000, &["rowTemplate", "eventSchema", "defaultValues", "describe", "sobject"]),
    ("AttachedContentDocument", "Attached Content Document", "Attached Content Documents", None, 0b0000000000000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("Attachment", "Attachment", "Attachments", Some("00P"), 0b0001111101111, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("Campaign", "Campaign", "Campaigns", Some("701"), 0b1011111101111, &["compactLayouts", "rowTemplate", "approvalLayouts", "defaultValues", "listviews", "describe", "quickActions", "layouts", "sobject"]),
    ("CampaignChangeEvent", "Campaign Change Event", "Campaign Change Event", None, 0b0001010000000, &["rowTemplate", "eventSchema", "defaultValues", "describe", "sobject"]),
    ("CampaignFeed", "Campaign Feed", "Campaign Feed", None, 0b0000011100100, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("CampaignHistory", "Campaign Field History", "Campaign Field History", None, 0b0000011100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("CampaignMember", "Campaign Member", "Campaign Members", Some("00v"), 0b0011011100111, &["compactLayouts", "rowTemplate", "defaultValues", "describe", "layouts", "sobject"]),
    ("CampaignShare", "Campaign Share", "Campaign Share", Some("08s"), 0b0000010100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("Case", "Case", "Cases", Some("500"), 0b1111111101111, &["compactLayouts", "rowTemplate", "approvalLayouts", "caseArticleSuggestions", "caseRowArticleSuggestions", "defaultValues", "listviews", "describe", "quickActions", "layouts", "sobject"]),
    ("CaseChangeEvent", "Case Change Event", "Case Change Event", None, 0b0001010000000, &["rowTemplate", "eventSchema", "defaultValues", "describe", "sobject"]),
    ("CaseFeed", "Case Feed", "Case Feed", None, 0b0000011100100, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("CaseHistory", "Case History", "Case History", None, 0b0000011100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("CaseShare", "Case Share", "Case Share", Some("01n"), 0b0000010100111, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("CaseStatus", "Case Status Value", "Case Status Value", None, 0b0000010100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("CollaborationGroupRecord", "Group Record", "Group Records", Some("0Aa"), 0b0011011101111, &["compactLayouts", "rowTemplate", "defaultValues", "describe", "layouts", "sobject"]),
    ("CombinedAttachment", "Note, Attachment, Google Doc And File", "Notes, Attachments, Google Docs And Files", None, 0b0000000000000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("Contact", "Contact", "Contacts", Some("003"), 0b1111111111111, &["compactLayouts", "rowTemplate", "approvalLayouts", "defaultValues", "listviews", "describe", "quickActions", "layouts", "sobject"]),
    ("ContactChangeEvent", "Contact Change Event", "Contact Change Event", None, 0b0001010000000, &["rowTemplate", "eventSchema", "defaultValues", "describe", "sobject"]),
    ("ContactFeed", "Contact Feed", "Contact Feed", None, 0b0000011100100, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("ContactHistory", "Contact History", "Contact History", None, 0b0000011100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("ContactShare", "Contact Share", "Contact Share", Some("03s"), 0b0000010100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("ContentBody", "Content Body", "Content Bodies", Some("05T"), 0b0000000000000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("ContentDocument", "Content Document", "Content Documents", Some("069"), 0b1111110101110, &["compactLayouts", "rowTemplate", "defaultValues", "describe", "layouts", "sobject"]),
    ("ContentDocumentLink", "Content Document Link", "Content Document Link", Some("06A"), 0b0001010100111, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("ContentFolderItem", "Content Folder Item", "Content Folder Items", None, 0b0010010100000, &["compactLayouts", "rowTemplate", "defaultValues", "describe", "layouts", "sobject"]),
    ("ContentFolderMember", "Content Folder Member", "Content Folder Members", Some("07I"), 0b0000010100110, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("ContentVersion", "Content Version", "Content Versions", Some("068"), 0b0011110100011, &["compactLayouts", "rowTemplate", "defaultValues", "describe", "layouts", "sobject"]),
    ("ContractStatus", "Contract Status Value", "Contract Status Value", None, 0b0000010100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("Dashboard", "Dashboard", "Dashboards", Some("01Z"), 0b1010110100000, &["compactLayouts", "rowTemplate", "defaultValues", "listviews", "describe", "layouts", "sobject"]),
    ("DataStatistics", "Data Statistics", "Data Statistics", Some("05a"), 0b0000000100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("DeclinedEventRelation", "Declined Event Relation", "Declined Event Relations", None, 0b0000010100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("EmailMessage", "Email Message", "Email Messages", Some("02s"), 0b0011111101111, &["compactLayouts", "rowTemplate", "approvalLayouts", "defaultValues", "describe", "quickActions", "layouts", "sobject"]),
    ("EmailMessageRelation", "Email Message Relation", "Email Message Relations", Some("0CZ"), 0b0000011100111, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("EmailStatus", "Email Status", "Email Status", Some("018"), 0b0000000000000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("EntityParticle", "Entity Particle", "Entity Particles", Some("0Nv"), 0b0000000100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("Event", "Event", "Events", Some("00U"), 0b1011111101111, &["compactLayouts", "rowTemplate", "eventSeriesUpdates", "defaultValues", "describe", "quickActions", "layouts", "sobject"]),
    ("EventChangeEvent", "Event Change Event", "Event Change Event", None, 0b0001010000000, &["rowTemplate", "eventSchema", "defaultValues", "describe", "sobject"]),
    ("EventFeed", "Event Feed", "Event Feed", None, 0b0000011100100, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("EventRelation", "Event Relation", "Event Relations", Some("0RE"), 0b0000011100111, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("FeedLike", "Feed Like", "Feed Likes", Some("0I0"), 0b0000000000101, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("FeedSignal", "Feed Signal", "Feed Signals", Some("0QJ"), 0b0000000000101, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("FeedTrackedChange", "Feed Tracked Change", "Feed Tracked Changes", Some("0D6"), 0b0000000000000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("FieldDefinition", "Field Definition", "Field Definitions", Some("4fe"), 0b0000100100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("FlexQueueItem", "Flex Queue Item", "Flex Queue Items", Some("06i"), 0b0000000100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("FolderedContentDocument", "Foldered Content Document", "Foldered Content Documents", None, 0b0000000000000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("IdeaComment", "Idea Comment", "Idea Comments", Some("00a"), 0b0001111101111, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("Lead", "Lead", "Leads", Some("00Q"), 0b1111111111111, &["compactLayouts", "rowTemplate", "approvalLayouts", "defaultValues", "listviews", "describe", "quickActions", "layouts", "sobject"]),
    ("LeadChangeEvent", "Lead Change Event", "Lead Change Event", None, 0b0001010000000, &["rowTemplate", "eventSchema", "defaultValues", "describe", "sobject"]),
    ("LeadFeed", "Lead Feed", "Lead Feed", None, 0b0000011100100, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("LeadHistory", "Lead History", "Lead History", None, 0b0000011100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("LeadShare", "Lead Share", "Lead Share", Some("01o"), 0b0000010100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("ListViewChartInstance", "List View Chart Instance", "List View Chart Instances", Some("0De"), 0b0000000100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("LookedUpFromActivity", "Lookups from Activity", "Lookups from Activities", None, 0b0000000000000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("Name", "Name", "Names", None, 0b0000000000000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("Note", "Note", "Notes", Some("002"), 0b0011111101111, &["compactLayouts", "rowTemplate", "defaultValues", "describe", "layouts", "sobject"]),
    ("NoteAndAttachment", "Note and Attachment", "Notes and Attachments", None, 0b0000000000000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("OpenActivity", "Open Activity", "Open Activities", None, 0b0000000000000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("Opportunity", "Opportunity", "Opportunities", Some("006"), 0b1111111101111, &["compactLayouts", "rowTemplate", "approvalLayouts", "defaultValues", "listviews", "describe", "quickActions", "layouts", "sobject"]),
    ("OpportunityChangeEvent", "Opportunity Change Event", "Opportunity Change Event", None, 0b0001010000000, &["rowTemplate", "eventSchema", "defaultValues", "describe", "sobject"]),
    ("OpportunityContactRole", "Opportunity Contact Role", "Opportunity Contact Role", Some("00K"), 0b0011011100111, &["compactLayouts", "rowTemplate", "defaultValues", "describe", "quickActions", "layouts", "sobject"]),
    ("OpportunityFeed", "Opportunity Feed", "Opportunity Feed", None, 0b0000011100100, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("OpportunityHistory", "Opportunity History", "Opportunity History", Some("008"), 0b0000011100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("OpportunityShare", "Opportunity Share", "Opportunity Share", Some("00t"), 0b0000010100111, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("OpportunityStage", "Opportunity Stage", "Opportunity Stage", Some("01J"), 0b0000010100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("OutgoingEmail", "Outgoing Email", "Outgoing Emails", Some("0Q1"), 0b0000000100001, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("OutgoingEmailRelation", "Outgoing Email Relation", "Outgoing Email Relations", Some("0Q3"), 0b0000000100001, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("OwnedContentDocument", "User Owned File", "User Owned File", None, 0b0000000000000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("OwnerChangeOptionInfo", "Change Owner Option Info", "Change Owner Options Info", Some("0Cy"), 0b0000000100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("PartnerRole", "Partner Role Value", "Partner Role Value", None, 0b0000010100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("PicklistValueInfo", "Picklist Value Info", "Picklist Value Info", Some("4pv"), 0b0000000100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("PlatformAction", "Platform Action", "Platform Actions", Some("0JV"), 0b0000000100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("ProcessInstanceHistory", "Process Instance History", "Process Instance History", None, 0b0000000000000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("QuoteTemplateRichTextData", "Quote Template Rich Text Data", "Quote Template Rich Text Data", Some("0QR"), 0b0000001000000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("RecentlyViewed", "Recently Viewed", "Recently Viewed", None, 0b0000000100010, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("RecordType", "Record Type", "Record Types", Some("012"), 0b1000011100011, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("RelationshipDomain", "Relationship Domain", "Relationship Domains", Some("0Jv"), 0b0000000100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("RelationshipInfo", "Relationship", "Relationships", Some("0Ju"), 0b0000000100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("Report", "Report", "Reports", Some("00O"), 0b1000110100000, &["rowTemplate", "defaultValues", "listviews", "describe", "sobject"]),
    ("SearchLayout", "Search Layout", "Search Layouts", Some("4co"), 0b0000000100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("SiteDetail", "Site Detail", "Site Details", Some("0GV"), 0b0000000100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("SolutionStatus", "Solution Status Value", "Solution Status Value", None, 0b0000010100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("Task", "Task", "Tasks", Some("00T"), 0b1011111101111, &["compactLayouts", "rowTemplate", "defaultValues", "describe", "quickActions", "layouts", "sobject"]),
    ("TaskChangeEvent", "Task Change Event", "Task Change Event", None, 0b0001010000000, &["rowTemplate", "eventSchema", "defaultValues", "describe", "sobject"]),
    ("TaskFeed", "Task Feed", "Task Feed", None, 0b0000011100100, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("TaskPriority", "Task Priority Value", "Task Priority Value", None, 0b0000010100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("TaskStatus", "Task Status Value", "Task Status Value", None, 0b0000010100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("UndecidedEventRelation", "Undecided Event Relation", "Undecided Event Relations", None, 0b0000010100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("User", "User", "Users", Some("005"), 0b1111111100011, &["compactLayouts", "rowTemplate", "namedLayouts", "passwordUtilities", "defaultValues", "describe", "quickActions", "layouts", "sobject"]),
    ("UserChangeEvent", "User Change Event", "User Change Event", None, 0b0001010000000, &["rowTemplate", "eventSchema", "defaultValues", "describe", "sobject"]),
    ("UserEntityAccess", "User Entity Access", "User Entity Access", Some("07u"), 0b0000000100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("UserFeed", "User Feed", "User Feed", None, 0b0000011100100, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("UserFieldAccess", "User Field Access", "User Field Access", Some("4fp"), 0b0000000100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("UserRecordAccess", "User Record Access", "User Record Access", None, 0b0000000100000, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("UserShare", "User Share", "User Share", Some("0N2"), 0b0000010100111, &["rowTemplate", "defaultValues", "describe", "sobject"]),
    ("Vote", "Vote", "Votes", Some("083"), 0b0000011100111, &["rowTemplate", "defaultValues", "describe", "sobject"]),
];
/// Picklist values of `Account.Type`.
pub const ACCOUNT_TYPES: &[&str] = &[
    "Prospect",
    "Customer - Direct",
    "Customer - Channel",
    "Partner",
    "Other",
];

/// Picklist values of `Account.Industry`, as a new org ships them.
pub const INDUSTRIES: &[&str] = &[
    "Agriculture",
    "Apparel",
    "Banking",
    "Biotechnology",
    "Chemicals",
    "Communications",
    "Construction",
    "Consulting",
    "Education",
    "Electronics",
    "Energy",
    "Engineering",
    "Entertainment",
    "Environmental",
    "Finance",
    "Food & Beverage",
    "Government",
    "Healthcare",
    "Hospitality",
    "Insurance",
    "Machinery",
    "Manufacturing",
    "Media",
    "Not For Profit",
    "Recreation",
    "Retail",
    "Shipping",
    "Technology",
    "Telecommunications",
    "Transportation",
    "Utilities",
    "Other",
];

/// Picklist values of `Account.Tier__c`.
pub const TIERS: &[&str] = &["Gold", "Silver", "Bronze"];

/// Picklist values of `Contact.Loyalty_Tier__c`, `Account.Loyalty_Tier__pc` on person
/// accounts.
pub const LOYALTY_TIERS: &[&str] = &["Platinum", "Gold", "Member"];

/// Picklist values of `Account.Salutation` (person accounts).
pub const SALUTATIONS: &[&str] = &["Mr.", "Ms.", "Mrs.", "Dr.", "Prof."];

/// Picklist values of `Contact.Preferred_Channel__c`.
pub const CHANNELS: &[&str] = &["Email", "Phone", "SMS"];

/// Opportunity stages: label, default probability, sort order, closed, won, forecast
/// category. Also the rows of `OpportunityStage`.
pub const STAGES: &[(&str, u32, bool, bool, &str)] = &[
    ("Prospecting", 10, false, false, "Pipeline"),
    ("Qualification", 10, false, false, "Pipeline"),
    ("Needs Analysis", 20, false, false, "Pipeline"),
    ("Value Proposition", 50, false, false, "Pipeline"),
    ("Id. Decision Makers", 60, false, false, "Pipeline"),
    ("Perception Analysis", 70, false, false, "Pipeline"),
    ("Proposal/Price Quote", 75, false, false, "Pipeline"),
    ("Negotiation/Review", 90, false, false, "Best Case"),
    ("Closed Won", 100, true, true, "Closed"),
    ("Closed Lost", 0, true, false, "Omitted"),
];

/// Stage names, the picklist of `Opportunity.StageName`.
pub const STAGE_NAMES: &[&str] = &[
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Value Proposition",
    "Id. Decision Makers",
    "Perception Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
    "Closed Won",
    "Closed Lost",
];

/// Forecast categories.
pub const FORECAST: &[&str] = &["Omitted", "Pipeline", "Best Case", "Commit", "Closed"];

/// The org's record types: object, name, developer name. Record type `i` has counter
/// `i + 1` under prefix `012`.
pub const RECORD_TYPES: &[(&str, &str, &str)] = &[
    ("Account", "Customer", "Customer"),
    ("Account", "Partner", "Partner"),
    ("Opportunity", "New Business", "New_Business"),
    ("Opportunity", "Renewal", "Renewal"),
    ("Case", "Support", "Support"),
    ("Case", "Billing", "Billing"),
];

/// Picklist values of `Lead.Status`.
pub const LEAD_STATUS: &[&str] = &[
    "Open - Not Contacted",
    "Working - Contacted",
    "Closed - Converted",
    "Closed - Not Converted",
];
/// Picklist values of `Lead.LeadSource` and `Opportunity.LeadSource`.
pub const LEAD_SOURCES: &[&str] = &[
    "Web",
    "Phone Inquiry",
    "Partner Referral",
    "Purchased List",
    "Other",
];
/// Picklist values of `Opportunity.Type`.
pub const OPPORTUNITY_TYPES: &[&str] = &[
    "New Customer",
    "Existing Customer - Upgrade",
    "Existing Customer - Replacement",
    "Existing Customer - Downgrade",
];
/// Picklist values of `Task.Status`.
pub const TASK_STATUS: &[&str] = &[
    "Not Started",
    "In Progress",
    "Completed",
    "Waiting on someone else",
    "Deferred",
];
/// Picklist values of `Task.Priority`.
pub const PRIORITIES: &[&str] = &["High", "Normal", "Low"];
/// Picklist values of `Task.TaskSubtype`.
pub const TASK_SUBTYPES: &[&str] = &["Task", "Email", "Call"];
/// Picklist values of `Task.CallType`.
pub const CALL_TYPES: &[&str] = &["Internal", "Inbound", "Outbound"];
/// Picklist values of `EventRelation.Status`.
pub const RELATION_STATUS: &[&str] = &["New", "Accepted", "Declined"];
/// Picklist values of `Group.Type` (the ones the simulated org uses first).
pub const GROUP_TYPES: &[&str] = &[
    "Queue",
    "Regular",
    "Role",
    "RoleAndSubordinates",
    "Organization",
    "Manager",
];
/// Picklist values of `QueueSobject.SobjectType` the simulated org uses.
pub const QUEUE_OBJECTS: &[&str] = &["Lead", "Case"];
/// One group: name, developer name, type, email, and the objects it may own (a queue's
/// `QueueSobject` rows).
pub type GroupDef = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static [&'static str],
);

/// The org's groups. Group `i` has index `i`; the queues own records, the public groups own
/// nothing.
pub const GROUPS: &[GroupDef] = &[
    (
        "Inbound Leads",
        "Inbound_Leads",
        "Queue",
        Some("leads@ferry-sim.example"),
        &["Lead"],
    ),
    ("Partner Leads", "Partner_Leads", "Queue", None, &["Lead"]),
    (
        "Support Tier 1",
        "Support_Tier_1",
        "Queue",
        Some("support@ferry-sim.example"),
        &["Case"],
    ),
    (
        "Escalations",
        "Escalations",
        "Queue",
        None,
        &["Lead", "Case"],
    ),
    ("All Sales", "All_Sales", "Regular", None, &[]),
    ("Marketing Team", "Marketing_Team", "Regular", None, &[]),
];

/// Picklist values of `Case.Status`.
pub const CASE_STATUS: &[&str] = &["New", "Working", "Escalated", "Closed"];
/// Picklist values of `Case.Priority`.
pub const CASE_PRIORITY: &[&str] = &["High", "Medium", "Low"];
/// Picklist values of `Case.Origin`.
pub const CASE_ORIGIN: &[&str] = &["Phone", "Email", "Web"];
/// Picklist values of `Case.Type` (the recorded describe's).
pub const CASE_TYPES: &[&str] = &[
    "Mechanical",
    "Electrical",
    "Electronic",
    "Structural",
    "Other",
];
/// Picklist values of `Case.Reason` (the recorded describe's).
pub const CASE_REASONS: &[&str] = &[
    "Installation",
    "Equipment Complexity",
    "Performance",
    "Breakdown",
    "Equipment Design",
    "Feedback",
    "Other",
];
/// Picklist values of `Campaign.Type`.
pub const CAMPAIGN_TYPES: &[&str] = &[
    "Conference",
    "Webinar",
    "Email",
    "Advertisement",
    "Partners",
];
/// Picklist values of `Campaign.Status`.
pub const CAMPAIGN_STATUS: &[&str] = &["Planned", "In Progress", "Completed", "Aborted"];
/// Picklist values of `CampaignMember.Status`.
pub const MEMBER_STATUS: &[&str] = &["Sent", "Responded"];
/// Picklist values of `AccountContactRelation.Roles` (a multi-select picklist).
pub const RELATION_ROLES: &[&str] = &[
    "Business User",
    "Decision Maker",
    "Economic Buyer",
    "Economic Decision Maker",
    "Evaluator",
    "Executive Sponsor",
    "Influencer",
    "Technical Buyer",
    "Other",
];
/// Picklist values of `Knowledge__kav.PublishStatus`: a version's place in publishing.
pub const PUBLISH_STATUS: &[&str] = &["Draft", "Online", "Archived"];
/// The languages of the simulated knowledge base (one: a single-language base).
pub const KNOWLEDGE_LANGUAGES: &[&str] = &["en_US"];
/// Picklist values of `Product2.Family`.
pub const PRODUCT_FAMILIES: &[&str] = &["Software", "Services", "Hardware"];
/// Picklist values of `Contract.Status` (recorded describe `sfdxvscode_min_Contract`).
pub const CONTRACT_STATUS: &[&str] = &["In Approval Process", "Activated", "Draft"];
/// Picklist values of `Contract.StatusCode`: the category of each status.
pub const CONTRACT_STATUS_CODES: &[&str] =
    &["Draft", "InApproval", "Activated", "Terminated", "Expired"];
/// Picklist values of `Contract.OwnerExpirationNotice` (days).
pub const CONTRACT_NOTICES: &[&str] = &["15", "30", "45", "60", "90", "120"];
/// Picklist values of `Order.Status` (recorded describe `sfdxvscode_min_Order`).
pub const ORDER_STATUS: &[&str] = &["Draft", "Activated"];
/// Picklist values of `Order.StatusCode`.
pub const ORDER_STATUS_CODES: &[&str] = &["Draft", "Activated", "Canceled", "Expired"];
/// Picklist values of `Quote.Status`.
pub const QUOTE_STATUS: &[&str] = &[
    "Draft",
    "Needs Review",
    "In Review",
    "Approved",
    "Rejected",
    "Presented",
    "Accepted",
    "Denied",
];
/// Picklist values of `Asset.Status`.
pub const ASSET_STATUS: &[&str] = &[
    "Purchased",
    "Shipped",
    "Installed",
    "Registered",
    "Obsolete",
];
/// Picklist values of `OpportunityContactRole.Role`.
pub const CONTACT_ROLES: &[&str] = &[
    "Business User",
    "Decision Maker",
    "Economic Buyer",
    "Evaluator",
    "Influencer",
    "Technical Buyer",
    "Other",
];
/// Picklist values of the custom `Segment__c` of Account, Contact and Opportunity.
pub const SEGMENTS: &[&str] = &["SMB", "Mid-Market", "Enterprise"];
/// Picklist values of the custom multi-select `Regions__c`.
pub const REGIONS: &[&str] = &["EMEA", "APAC", "AMER", "LATAM"];
/// Picklist values of `Project__c.Status__c`.
pub const PROJECT_STATUS: &[&str] = &["Planned", "Active", "On Hold", "Done"];
/// Picklist values of `EmailMessage.Status` (0 new, 1 read, 2 replied, 3 sent, 4 forwarded, 5 draft).
pub const EMAIL_STATUS: &[&str] = &["0", "1", "2", "3", "4", "5"];
/// Picklist values of `ContentDocumentLink.ShareType` (viewer, collaborator, inferred).
pub const SHARE_TYPES: &[&str] = &["V", "C", "I"];
/// Picklist values of `ContentDocumentLink.Visibility`.
pub const VISIBILITIES: &[&str] = &["AllUsers", "InternalUsers", "SharedUsers"];
/// Picklist values of `Report.Format`.
pub const REPORT_FORMATS: &[&str] = &["Tabular", "Summary", "Matrix", "MultiBlock"];
/// Picklist values of `ApexClass.Status` and `ApexTrigger.Status`.
pub const APEX_STATUS: &[&str] = &["Active", "Inactive", "Deleted"];
/// Picklist values of `FlowDefinitionView.ProcessType`.
pub const FLOW_TYPES: &[&str] = &["AutoLaunchedFlow", "Flow", "Workflow", "CustomEvent"];

/// Fields the integration user cannot see (field-level security): absent from
/// describe, and a query naming one fails with `INVALID_FIELD`. (object, field).
pub const HIDDEN_FIELDS: &[(&str, &str)] = &[("Contact", "Salary__c")];

/// The audit fields every record carries, in describe order.
fn audit_fields() -> Vec<FieldDef> {
    use FieldType as T;
    vec![
        FieldDef::new("CreatedDate", "Created Date", T::Datetime).system(),
        FieldDef::new("LastModifiedDate", "Last Modified Date", T::Datetime).system(),
        FieldDef::new("SystemModstamp", "System Modstamp", T::Datetime).system(),
    ]
}

/// Street, City, State, PostalCode, Country and the compound Address of one address,
/// named `{stem}Street` ... `{stem}Address` (Lead's address has no stem).
fn address_fields(stem: &'static str) -> Vec<FieldDef> {
    use FieldType as T;
    let (names, labels): ([&'static str; 6], [&'static str; 6]) = match stem {
        "Billing" => (
            [
                "BillingStreet",
                "BillingCity",
                "BillingState",
                "BillingPostalCode",
                "BillingCountry",
                "BillingAddress",
            ],
            [
                "Billing Street",
                "Billing City",
                "Billing State/Province",
                "Billing Zip/Postal Code",
                "Billing Country",
                "Billing Address",
            ],
        ),
        "Shipping" => (
            [
                "ShippingStreet",
                "ShippingCity",
                "ShippingState",
                "ShippingPostalCode",
                "ShippingCountry",
                "ShippingAddress",
            ],
            [
                "Shipping Street",
                "Shipping City",
                "Shipping State/Province",
                "Shipping Zip/Postal Code",
                "Shipping Country",
                "Shipping Address",
            ],
        ),
        "PersonMailing" => (
            [
                "PersonMailingStreet",
                "PersonMailingCity",
                "PersonMailingState",
                "PersonMailingPostalCode",
                "PersonMailingCountry",
                "PersonMailingAddress",
            ],
            [
                "Mailing Street",
                "Mailing City",
                "Mailing State/Province",
                "Mailing Zip/Postal Code",
                "Mailing Country",
                "Mailing Address",
            ],
        ),
        "Mailing" => (
            [
                "MailingStreet",
                "MailingCity",
                "MailingState",
                "MailingPostalCode",
                "MailingCountry",
                "MailingAddress",
            ],
            [
                "Mailing Street",
                "Mailing City",
                "Mailing State/Province",
                "Mailing Zip/Postal Code",
                "Mailing Country",
                "Mailing Address",
            ],
        ),
        _ => (
            [
                "Street",
                "City",
                "State",
                "PostalCode",
                "Country",
                "Address",
            ],
            [
                "Street",
                "City",
                "State/Province",
                "Zip/Postal Code",
                "Country",
                "Address",
            ],
        ),
    };
    let compound = names[5];
    vec![
        FieldDef::new(names[0], labels[0], T::Textarea).compound(compound),
        FieldDef::new(names[1], labels[1], T::String)
            .len(40)
            .compound(compound),
        FieldDef::new(names[2], labels[2], T::String)
            .len(80)
            .compound(compound),
        FieldDef::new(names[3], labels[3], T::String)
            .len(20)
            .compound(compound),
        FieldDef::new(names[4], labels[4], T::String)
            .len(80)
            .compound(compound),
        FieldDef::new(names[5], labels[5], T::Address).read_only(),
    ]
}

/// LastName, FirstName and the compound Name, as User, Contact and Lead describe them.
fn person_name_fields() -> [FieldDef; 3] {
    use FieldType as T;
    [
        FieldDef::new("LastName", "Last Name", T::String)
            .len(80)
            .required()
            .compound("Name")
            .extra("personname"),
        FieldDef::new("FirstName", "First Name", T::String)
            .len(40)
            .compound("Name")
            .extra("personname"),
        FieldDef::new("Name", "Full Name", T::String)
            .len(121)
            .system()
            .name_field()
            .extra("personname"),
    ]
}

fn id_field(label: &'static str) -> FieldDef {
    FieldDef::new("Id", label, FieldType::Id).system().lookup()
}

fn deleted_field() -> FieldDef {
    FieldDef::new("IsDeleted", "Deleted", FieldType::Boolean).system()
}

fn owner_field() -> FieldDef {
    FieldDef::new("OwnerId", "Owner ID", FieldType::Reference)
        .required()
        .defaulted()
        .reference(&["User"], "Owner")
}

fn reference(
    name: &'static str,
    label: &'static str,
    to: &'static [&'static str],
    relationship: &'static str,
) -> FieldDef {
    FieldDef::new(name, label, FieldType::Reference).reference(to, relationship)
}

fn picklist(name: &'static str, label: &'static str, values: &'static [&'static str]) -> FieldDef {
    FieldDef::new(name, label, FieldType::Picklist).picklist(values)
}

/// One custom field of every type a migration has to map, shared by Account, Contact
/// and Opportunity, followed by the object's own custom lookup. The generator fills
/// them with [`crate::org`]'s `every_type_values`.
fn every_type_fields(lookup: FieldDef) -> Vec<FieldDef> {
    use FieldType as T;
    vec![
        FieldDef::new("External_Code__c", "External Code", T::String).len(40),
        FieldDef::new("Notes__c", "Notes", T::Textarea),
        FieldDef::new("Long_Notes__c", "Long Notes", T::Textarea).len(32_768),
        FieldDef::new("Rich_Notes__c", "Rich Notes", T::Textarea)
            .len(32_768)
            .rich(),
        FieldDef::new("Score__c", "Score", T::Double).numeric(10, 2),
        FieldDef::new("Budget__c", "Budget", T::Currency).numeric(16, 2),
        FieldDef::new("Discount__c", "Discount", T::Percent).numeric(5, 2),
        FieldDef::new("Review_Date__c", "Review Date", T::Date),
        FieldDef::new("Last_Sync__c", "Last Sync", T::Datetime),
        FieldDef::new("Verified__c", "Verified", T::Boolean),
        picklist("Segment__c", "Segment", SEGMENTS).len(255),
        FieldDef::new("Regions__c", "Regions", T::MultiPicklist).picklist(REGIONS),
        FieldDef::new("Alternate_Email__c", "Alternate Email", T::Email),
        FieldDef::new("Alternate_Phone__c", "Alternate Phone", T::Phone),
        FieldDef::new("Portal_Url__c", "Portal URL", T::Url),
        lookup,
    ]
}

/// One row of [`CATALOG`]: name, label, plural label, key prefix, flag bits, url keys.
type CatalogEntry = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    u16,
    &'static [&'static str],
);

const PLAIN_URLS: &[&str] = &["rowTemplate", "defaultValues", "describe", "sobject"];
const CUSTOM_URLS: &[&str] = &[
    "compactLayouts",
    "rowTemplate",
    "approvalLayouts",
    "defaultValues",
    "listviews",
    "describe",
    "quickActions",
    "layouts",
    "sobject",
];

/// Objects the recorded describeGlobal lacks: ContentNote, the custom object and the
/// tooling objects without a recording.
const EXTRA_CATALOG: &[CatalogEntry] = &[
    (
        "CaseComment",
        "Case Comment",
        "Case Comments",
        Some("00a"),
        0b0011111101111,
        &[
            "rowTemplate",
            "defaultValues",
            "describe",
            "layouts",
            "sobject",
        ],
    ),
    (
        "AccountContactRelation",
        "Account Contact Relationship",
        "Account Contact Relationships",
        Some("07k"),
        0b0011011100111,
        LAYOUT_URLS,
    ),
    (
        "Knowledge__kav",
        "Knowledge",
        "Knowledge",
        Some("ka0"),
        0b1011111101111,
        LAYOUT_URLS,
    ),
    (
        "KnowledgeArticle",
        "Knowledge Article",
        "Knowledge Articles",
        Some("kA0"),
        0b0000010100100,
        PLAIN_URLS,
    ),
    (
        "Knowledge__DataCategorySelection",
        "Knowledge Data Category Selection",
        "Knowledge Data Category Selections",
        Some("02o"),
        0b0000011100101,
        PLAIN_URLS,
    ),
    (
        "ContentNote",
        "Note",
        "Notes",
        Some("069"),
        0b1001110101111,
        &[
            "compactLayouts",
            "rowTemplate",
            "defaultValues",
            "describe",
            "layouts",
            "sobject",
        ],
    ),
    (
        "Project__c",
        "Project",
        "Projects",
        Some("a01"),
        0b1010111111111,
        CUSTOM_URLS,
    ),
    (
        "ValidationRule",
        "Validation Rule",
        "Validation Rules",
        Some("03d"),
        0b0000010100000,
        PLAIN_URLS,
    ),
    (
        "WorkflowRule",
        "Workflow Rule",
        "Workflow Rules",
        Some("01Q"),
        0b0000010100000,
        PLAIN_URLS,
    ),
    (
        "ApexClass",
        "Apex Class",
        "Apex Classes",
        Some("01p"),
        0b1000111100111,
        PLAIN_URLS,
    ),
    (
        "ApexPage",
        "Visualforce Page",
        "Visualforce Pages",
        Some("066"),
        0b1000111100111,
        PLAIN_URLS,
    ),
    (
        "ApexTrigger",
        "Apex Trigger",
        "Apex Triggers",
        Some("01q"),
        0b1000111100111,
        PLAIN_URLS,
    ),
    (
        "FlowDefinitionView",
        "Flow Definition View",
        "Flow Definition Views",
        Some("3dd"),
        0b0000000100000,
        PLAIN_URLS,
    ),
    (
        "Organization",
        "Organization",
        "Organizations",
        Some("00D"),
        0b0000010100010,
        PLAIN_URLS,
    ),
    (
        "CurrencyType",
        "Currency Type",
        "Currency Types",
        Some("01L"),
        0b0000110100011,
        PLAIN_URLS,
    ),
    // Createable, updateable, deletable, queryable, replicateable, retrieveable,
    // searchable.
    (
        "Group",
        "Group",
        "Groups",
        Some("00G"),
        0b0000111100111,
        PLAIN_URLS,
    ),
    // Createable, deletable, queryable, replicateable, retrieveable: a row is never
    // updated, only added or removed.
    (
        "QueueSobject",
        "Queue Sobject",
        "Queue Sobjects",
        Some("03g"),
        0b0000011100101,
        PLAIN_URLS,
    ),
    // Flags and urls as the recorded describeGlobal (cci_2020) lists them.
    (
        "Product2",
        "Product",
        "Products",
        Some("01t"),
        0b1011111101111,
        &[
            "compactLayouts",
            "rowTemplate",
            "approvalLayouts",
            "defaultValues",
            "describe",
            "quickActions",
            "layouts",
            "sobject",
        ],
    ),
    (
        "Pricebook2",
        "Price Book",
        "Price Books",
        Some("01s"),
        0b1011111101111,
        LAYOUT_URLS,
    ),
    (
        "PricebookEntry",
        "Price Book Entry",
        "Price Book Entries",
        Some("01u"),
        0b1010011100111,
        LAYOUT_URLS,
    ),
    (
        "OpportunityLineItem",
        "Opportunity Product",
        "Opportunity Product",
        Some("00k"),
        0b0011011100111,
        LAYOUT_URLS,
    ),
    // Flags and urls as the recorded describeGlobal (cci_2020) lists them; Quote and
    // QuoteLineItem (absent there: Quotes were off) as Order and OrderItem.
    (
        "Contract",
        "Contract",
        "Contracts",
        Some("800"),
        0b1011111101111,
        LISTVIEW_URLS,
    ),
    (
        "Order",
        "Order",
        "Orders",
        Some("801"),
        0b1011111101111,
        ACTION_URLS,
    ),
    (
        "OrderItem",
        "Order Product",
        "Order Products",
        Some("802"),
        0b0011011100111,
        LAYOUT_URLS,
    ),
    (
        "Quote",
        "Quote",
        "Quotes",
        Some("0Q0"),
        0b1011111101111,
        ACTION_URLS,
    ),
    (
        "QuoteLineItem",
        "Quote Line Item",
        "Quote Line Items",
        Some("0QL"),
        0b0011011100111,
        LAYOUT_URLS,
    ),
    (
        "Asset",
        "Asset",
        "Assets",
        Some("02i"),
        0b1011111101111,
        LISTVIEW_URLS,
    ),
];

const ACTION_URLS: &[&str] = &[
    "compactLayouts",
    "rowTemplate",
    "approvalLayouts",
    "defaultValues",
    "describe",
    "quickActions",
    "layouts",
    "sobject",
];

const LISTVIEW_URLS: &[&str] = &[
    "compactLayouts",
    "rowTemplate",
    "approvalLayouts",
    "defaultValues",
    "listviews",
    "describe",
    "quickActions",
    "layouts",
    "sobject",
];

const LAYOUT_URLS: &[&str] = &[
    "compactLayouts",
    "rowTemplate",
    "defaultValues",
    "describe",
    "layouts",
    "sobject",
];

fn catalog_entry(name: &str) -> CatalogEntry {
    CATALOG
        .iter()
        .chain(EXTRA_CATALOG)
        .find(|e| e.0 == name)
        .copied()
        .unwrap_or((
            "Unknown",
            "Unknown",
            "Unknown",
            None,
            0b0000010100000,
            PLAIN_URLS,
        ))
}

/// An object filled by generator `kind`, its flags and urls from the catalog.
fn data_object(
    kind: Generated,
    fields: Vec<FieldDef>,
    children: Vec<ChildRelationship>,
) -> ObjectDef {
    let (_, label, label_plural, key_prefix, bits, url_keys) = catalog_entry(kind.object_name());
    ObjectDef {
        name: kind.object_name(),
        label,
        label_plural,
        key_prefix,
        flags: flags_from_bits(bits),
        url_keys,
        fields,
        children,
        generated: Some(kind),
        address_parts: Vec::new(),
        // Salesforce: "This object is not available in single-currency organizations."
        feature: (kind == Generated::CurrencyType).then_some(Feature::MultiCurrency),
    }
    .with_address_parts()
}

/// An object that exists only in metadata: listed in describeGlobal with the flags real
/// Salesforce gives it, describable, and (when queryable) answering queries with no rows.
fn metadata_only(entry: &CatalogEntry) -> ObjectDef {
    use FieldType as T;
    let (name, label, label_plural, key_prefix, bits, url_keys) = *entry;
    ObjectDef {
        name,
        label,
        label_plural,
        key_prefix,
        flags: flags_from_bits(bits),
        url_keys,
        fields: vec![
            id_field("Record ID"),
            FieldDef::new("CreatedDate", "Created Date", T::Datetime).system(),
        ],
        children: Vec::new(),
        generated: None,
        address_parts: Vec::new(),
        feature: None,
    }
}

fn child(
    child: &'static str,
    field: &'static str,
    name: &'static str,
    cascade_delete: bool,
) -> ChildRelationship {
    ChildRelationship {
        child,
        field,
        name,
        cascade_delete,
    }
}

/// The fields of a generated object, in the order the generator in `org.rs` fills them.
fn fields_of(kind: Generated) -> Vec<FieldDef> {
    use FieldType as T;
    let mut fields = match kind {
        Generated::User => {
            let mut f = vec![
                id_field("User ID"),
                FieldDef::new("Username", "Username", T::String)
                    .len(80)
                    .required()
                    .lookup()
                    .unique(),
            ];
            f.extend(person_name_fields());
            f.extend([
                FieldDef::new("Email", "Email", T::Email)
                    .len(128)
                    .required()
                    .lookup(),
                FieldDef::new("IsActive", "Active", T::Boolean).defaulted(),
            ]);
            f
        }
        Generated::Account => {
            let mut f = vec![
                id_field("Account ID"),
                deleted_field(),
                FieldDef::new("Name", "Account Name", T::String)
                    .required()
                    .name_field()
                    .extra("switchablepersonname"),
                picklist("Type", "Account Type", ACCOUNT_TYPES),
                reference("ParentId", "Parent Account ID", &["Account"], "Parent"),
            ];
            f.extend(address_fields("Billing"));
            f.extend([
                FieldDef::new("Phone", "Account Phone", T::Phone),
                FieldDef::new("Website", "Website", T::Url),
                picklist("Industry", "Industry", INDUSTRIES),
                FieldDef::new("AnnualRevenue", "Annual Revenue", T::Currency).numeric(18, 0),
                FieldDef::new("NumberOfEmployees", "Employees", T::Int).digits(8),
                FieldDef::new("Description", "Account Description", T::Textarea).len(32_000),
                owner_field(),
            ]);
            f
        }
        Generated::Contact => {
            let mut f = vec![
                id_field("Contact ID"),
                deleted_field(),
                reference("AccountId", "Account ID", &["Account"], "Account"),
            ];
            f.extend(person_name_fields());
            f.extend(address_fields("Mailing"));
            f.extend([
                FieldDef::new("Phone", "Business Phone", T::Phone),
                FieldDef::new("Email", "Email", T::Email).lookup(),
                FieldDef::new("Title", "Title", T::String).len(128),
                owner_field(),
            ]);
            f
        }
        Generated::Lead => {
            let mut f = vec![id_field("Lead ID"), deleted_field()];
            f.extend(person_name_fields());
            f.extend([
                FieldDef::new("Company", "Company", T::String).required(),
                FieldDef::new("Title", "Title", T::String).len(128),
            ]);
            f.extend(address_fields(""));
            f.extend([
                FieldDef::new("Phone", "Phone", T::Phone),
                FieldDef::new("Email", "Email", T::Email).lookup(),
                picklist("Status", "Status", LEAD_STATUS)
                    .required()
                    .defaulted(),
                picklist("LeadSource", "Lead Source", LEAD_SOURCES),
                picklist("Industry", "Industry", INDUSTRIES),
                FieldDef::new("IsConverted", "Converted", T::Boolean).read_only(),
                FieldDef::new("ConvertedDate", "Converted Date", T::Date).read_only(),
                reference(
                    "ConvertedAccountId",
                    "Converted Account ID",
                    &["Account"],
                    "ConvertedAccount",
                )
                .read_only(),
                reference(
                    "ConvertedContactId",
                    "Converted Contact ID",
                    &["Contact"],
                    "ConvertedContact",
                )
                .read_only(),
                reference(
                    "ConvertedOpportunityId",
                    "Converted Opportunity ID",
                    &["Opportunity"],
                    "ConvertedOpportunity",
                )
                .read_only(),
                owner_field().reference(&["Group", "User"], "Owner"),
            ]);
            f
        }
        Generated::Opportunity => vec![
            id_field("Opportunity ID"),
            deleted_field(),
            reference("AccountId", "Account ID", &["Account"], "Account"),
            reference(
                "RecordTypeId",
                "Record Type ID",
                &["RecordType"],
                "RecordType",
            ),
            FieldDef::new("Name", "Name", T::String)
                .len(120)
                .required()
                .name_field(),
            FieldDef::new("Description", "Description", T::Textarea).len(32_000),
            picklist("StageName", "Stage", STAGE_NAMES).required(),
            FieldDef::new("Amount", "Amount", T::Currency).numeric(18, 2),
            FieldDef::new("Probability", "Probability (%)", T::Percent).numeric(3, 0),
            FieldDef::new("ExpectedRevenue", "Expected Amount", T::Currency)
                .numeric(18, 2)
                .formula(),
            FieldDef::new("CloseDate", "Close Date", T::Date).required(),
            picklist("Type", "Opportunity Type", OPPORTUNITY_TYPES),
            picklist("LeadSource", "Lead Source", LEAD_SOURCES),
            FieldDef::new("IsClosed", "Closed", T::Boolean).read_only(),
            FieldDef::new("IsWon", "Won", T::Boolean).read_only(),
            picklist("ForecastCategoryName", "Forecast Category", FORECAST),
            owner_field(),
        ],
        Generated::OpportunityContactRole => vec![
            id_field("Contact Role ID"),
            deleted_field(),
            reference(
                "OpportunityId",
                "Opportunity ID",
                &["Opportunity"],
                "Opportunity",
            )
            .required(),
            reference("ContactId", "Contact ID", &["Contact"], "Contact").required(),
            picklist("Role", "Role", CONTACT_ROLES),
            FieldDef::new("IsPrimary", "Primary", T::Boolean),
        ],
        Generated::OpportunityStage => vec![
            id_field("Opportunity Stage ID"),
            FieldDef::new("MasterLabel", "Master Label", T::String).read_only(),
            FieldDef::new("ApiName", "Api Name", T::String).read_only(),
            FieldDef::new("IsActive", "Is Active", T::Boolean).read_only(),
            FieldDef::new("SortOrder", "Sort Order", T::Int).read_only(),
            FieldDef::new("IsClosed", "Closed", T::Boolean).read_only(),
            FieldDef::new("IsWon", "Won", T::Boolean).read_only(),
            picklist("ForecastCategoryName", "Forecast Category", FORECAST).read_only(),
            FieldDef::new("DefaultProbability", "Probability (%)", T::Percent)
                .numeric(3, 0)
                .read_only(),
            FieldDef::new("Description", "Description", T::String).read_only(),
        ],
        Generated::RecordType => vec![
            id_field("Record Type ID"),
            FieldDef::new("Name", "Record Type Name", T::String)
                .len(80)
                .required()
                .name_field(),
            FieldDef::new("DeveloperName", "Record Type Name", T::String)
                .len(80)
                .required(),
            FieldDef::new("NamespacePrefix", "Namespace Prefix", T::String)
                .len(15)
                .read_only(),
            FieldDef::new("Description", "Description", T::String),
            picklist(
                "SobjectType",
                "SObject Type Name",
                &["Account", "Opportunity", "Case"],
            )
            .required(),
            FieldDef::new("IsActive", "Active", T::Boolean),
        ],
        Generated::Task => vec![
            id_field("Activity ID"),
            deleted_field(),
            reference("WhoId", "Name ID", &["Contact", "Lead"], "Who"),
            reference(
                "WhatId",
                "Related To ID",
                &["Account", "Opportunity", "Case"],
                "What",
            ),
            FieldDef::new("Subject", "Subject", T::Combobox),
            FieldDef::new("ActivityDate", "Due Date Only", T::Date),
            picklist("Status", "Status", TASK_STATUS)
                .required()
                .defaulted(),
            picklist("Priority", "Priority", PRIORITIES)
                .required()
                .defaulted(),
            FieldDef::new("IsClosed", "Closed", T::Boolean).read_only(),
            picklist("TaskSubtype", "Task Subtype", TASK_SUBTYPES),
            FieldDef::new("CallDurationInSeconds", "Call Duration", T::Int),
            picklist("CallType", "Call Type", CALL_TYPES),
            FieldDef::new("Description", "Description", T::Textarea).len(32_000),
            owner_field(),
        ],
        Generated::Event => vec![
            id_field("Activity ID"),
            deleted_field(),
            reference("WhoId", "Name ID", &["Contact", "Lead"], "Who"),
            reference(
                "WhatId",
                "Related To ID",
                &["Account", "Opportunity", "Case"],
                "What",
            ),
            FieldDef::new("Subject", "Subject", T::Combobox),
            FieldDef::new("Location", "Location", T::String),
            FieldDef::new("IsAllDayEvent", "All-Day Event", T::Boolean),
            FieldDef::new("ActivityDateTime", "Due Date Time", T::Datetime),
            FieldDef::new("ActivityDate", "Due Date Only", T::Date),
            FieldDef::new("DurationInMinutes", "Duration", T::Int),
            FieldDef::new("StartDateTime", "Start Date Time", T::Datetime),
            FieldDef::new("EndDateTime", "End Date Time", T::Datetime),
            FieldDef::new("Description", "Description", T::Textarea).len(32_000),
            owner_field().reference(&["Calendar", "User"], "Owner"),
        ],
        Generated::EventRelation => vec![
            id_field("Event Relation ID"),
            deleted_field(),
            reference("EventId", "Event ID", &["Event"], "Event").required(),
            reference(
                "RelationId",
                "Relation ID",
                &["Contact", "Lead", "User"],
                "Relation",
            )
            .required(),
            picklist("Status", "Status", RELATION_STATUS),
            FieldDef::new("IsInvitee", "Invitee", T::Boolean),
            FieldDef::new("RespondedDate", "Response Date", T::Datetime),
            FieldDef::new("Response", "Response", T::String),
        ],
        Generated::Note => vec![
            id_field("Note ID"),
            deleted_field(),
            reference(
                "ParentId",
                "Parent ID",
                &["Account", "Contact", "Opportunity"],
                "Parent",
            )
            .required(),
            FieldDef::new("Title", "Title", T::String)
                .len(80)
                .required(),
            FieldDef::new("IsPrivate", "Private", T::Boolean),
            FieldDef::new("Body", "Body", T::Textarea).len(32_000),
            owner_field(),
        ],
        Generated::ContentNote => vec![
            id_field("Note ID"),
            deleted_field(),
            FieldDef::new("Title", "Title", T::String).required(),
            FieldDef::new("TextPreview", "Text Preview", T::String).read_only(),
            FieldDef::new("Content", "Content", T::Base64),
            FieldDef::new("FileExtension", "File Extension", T::String)
                .len(40)
                .read_only(),
            FieldDef::new("ContentSize", "Size", T::Int).read_only(),
            owner_field(),
        ],
        Generated::Attachment => vec![
            id_field("Attachment ID"),
            deleted_field(),
            reference(
                "ParentId",
                "Parent ID",
                &["Account", "Contact", "Opportunity", "Case"],
                "Parent",
            )
            .required(),
            FieldDef::new("Name", "File Name", T::String).required(),
            FieldDef::new("IsPrivate", "Private", T::Boolean),
            FieldDef::new("ContentType", "Content Type", T::String).len(120),
            FieldDef::new("BodyLength", "Body Length", T::Int).read_only(),
            FieldDef::new("Body", "Body", T::Base64).required(),
            FieldDef::new("Description", "Description", T::Textarea).len(500),
            owner_field(),
        ],
        Generated::ContentVersion => vec![
            id_field("ContentVersion ID"),
            deleted_field(),
            reference(
                "ContentDocumentId",
                "ContentDocument ID",
                &["ContentDocument"],
                "ContentDocument",
            )
            .read_only(),
            FieldDef::new("IsLatest", "Is Latest", T::Boolean).read_only(),
            FieldDef::new("Title", "Title", T::String).required(),
            FieldDef::new("Description", "Description", T::Textarea).len(1000),
            FieldDef::new("PathOnClient", "Path On Client", T::String).len(500),
            FieldDef::new("FileType", "File Type", T::String)
                .len(20)
                .read_only(),
            FieldDef::new("FileExtension", "File Extension", T::String)
                .len(40)
                .read_only(),
            FieldDef::new("VersionNumber", "Version Number", T::String)
                .len(20)
                .read_only(),
            FieldDef::new("ContentSize", "Size", T::Int).read_only(),
            FieldDef::new("VersionData", "Version Data", T::Base64),
            reference(
                "FirstPublishLocationId",
                "First Publish Location ID",
                &["Account", "Contact", "Opportunity", "Case"],
                "FirstPublishLocation",
            ),
            owner_field(),
        ],
        Generated::ContentDocument => vec![
            id_field("ContentDocument ID"),
            deleted_field(),
            FieldDef::new("Title", "Title", T::String).required(),
            FieldDef::new("FileType", "File Type", T::String)
                .len(20)
                .read_only(),
            FieldDef::new("FileExtension", "File Extension", T::String)
                .len(40)
                .read_only(),
            FieldDef::new("ContentSize", "Size", T::Int).read_only(),
            reference(
                "LatestPublishedVersionId",
                "Latest Published Version ID",
                &["ContentVersion"],
                "LatestPublishedVersion",
            )
            .read_only(),
            owner_field(),
        ],
        Generated::ContentDocumentLink => vec![
            id_field("ContentDocumentLink ID"),
            deleted_field(),
            reference(
                "LinkedEntityId",
                "Linked Entity ID",
                &["Account", "Contact", "Opportunity", "Case", "User"],
                "LinkedEntity",
            )
            .required(),
            reference(
                "ContentDocumentId",
                "ContentDocument ID",
                &["ContentDocument"],
                "ContentDocument",
            )
            .required(),
            picklist("ShareType", "Share Type", SHARE_TYPES),
            picklist("Visibility", "Visibility", VISIBILITIES),
        ],
        Generated::EmailMessage => vec![
            id_field("Email Message ID"),
            deleted_field(),
            reference("ParentId", "Case ID", &["Case"], "Parent"),
            reference(
                "RelatedToId",
                "Related To ID",
                &["Account", "Opportunity", "Case"],
                "RelatedTo",
            ),
            FieldDef::new("Subject", "Subject", T::String).len(3000),
            FieldDef::new("FromName", "From Name", T::String).len(1000),
            FieldDef::new("FromAddress", "From Address", T::Email),
            FieldDef::new("ToAddress", "To Address", T::String).len(4000),
            FieldDef::new("CcAddress", "CC Address", T::String).len(4000),
            FieldDef::new("TextBody", "Text Body", T::Textarea).len(131_072),
            FieldDef::new("HtmlBody", "HTML Body", T::Textarea)
                .len(131_072)
                .rich(),
            FieldDef::new("MessageDate", "Message Date", T::Datetime),
            FieldDef::new("Incoming", "Is Incoming", T::Boolean),
            picklist("Status", "Status", EMAIL_STATUS).required(),
        ],
        Generated::Campaign => vec![
            id_field("Campaign ID"),
            deleted_field(),
            FieldDef::new("Name", "Name", T::String)
                .len(80)
                .required()
                .name_field(),
            picklist("Type", "Type", CAMPAIGN_TYPES),
            picklist("Status", "Status", CAMPAIGN_STATUS),
            FieldDef::new("StartDate", "Start Date", T::Date),
            FieldDef::new("EndDate", "End Date", T::Date),
            FieldDef::new("BudgetedCost", "Budgeted Cost in Campaign", T::Currency),
            FieldDef::new("ActualCost", "Actual Cost in Campaign", T::Currency),
            FieldDef::new("IsActive", "Active", T::Boolean),
            FieldDef::new("Description", "Description", T::Textarea).len(32_000),
            owner_field(),
        ],
        Generated::CampaignMember => vec![
            id_field("Campaign Member ID"),
            deleted_field(),
            reference("CampaignId", "Campaign ID", &["Campaign"], "Campaign").required(),
            reference("LeadId", "Lead ID", &["Lead"], "Lead"),
            reference("ContactId", "Contact ID", &["Contact"], "Contact"),
            picklist("Status", "Status", MEMBER_STATUS),
            FieldDef::new("HasResponded", "Responded", T::Boolean).read_only(),
            FieldDef::new("FirstRespondedDate", "First Responded Date", T::Date).read_only(),
        ],
        Generated::Product2 => vec![
            id_field("Product ID"),
            deleted_field(),
            FieldDef::new("Name", "Product Name", T::String)
                .required()
                .name_field(),
            FieldDef::new("ProductCode", "Product Code", T::String),
            FieldDef::new("Description", "Product Description", T::Textarea).len(4_000),
            FieldDef::new("IsActive", "Active", T::Boolean).defaulted(),
            picklist("Family", "Product Family", PRODUCT_FAMILIES),
            FieldDef::new("StockKeepingUnit", "Product SKU", T::String).len(180),
        ],
        Generated::Pricebook2 => vec![
            id_field("Price Book ID"),
            deleted_field(),
            FieldDef::new("Name", "Price Book Name", T::String)
                .required()
                .name_field(),
            FieldDef::new("IsActive", "Active", T::Boolean).defaulted(),
            FieldDef::new("Description", "Description", T::String),
            FieldDef::new("IsStandard", "Is Standard Price Book", T::Boolean).read_only(),
        ],
        Generated::PricebookEntry => vec![
            id_field("Price Book Entry ID"),
            deleted_field(),
            FieldDef::new("Name", "Product Name", T::String).read_only(),
            reference(
                "Pricebook2Id",
                "Price Book ID",
                &["Pricebook2"],
                "Pricebook2",
            )
            .required(),
            reference("Product2Id", "Product ID", &["Product2"], "Product2").required(),
            FieldDef::new("UnitPrice", "List Price", T::Currency)
                .numeric(18, 2)
                .required(),
            FieldDef::new("IsActive", "Active", T::Boolean).defaulted(),
            FieldDef::new("UseStandardPrice", "Use Standard Price", T::Boolean).defaulted(),
            FieldDef::new("ProductCode", "Product Code", T::String).read_only(),
        ],
        Generated::OpportunityLineItem => vec![
            id_field("Line Item ID"),
            deleted_field(),
            reference(
                "OpportunityId",
                "Opportunity ID",
                &["Opportunity"],
                "Opportunity",
            )
            .required(),
            FieldDef::new("SortOrder", "Sort Order", T::Int).digits(9),
            reference(
                "PricebookEntryId",
                "Price Book Entry ID",
                &["PricebookEntry"],
                "PricebookEntry",
            ),
            reference("Product2Id", "Product ID", &["Product2"], "Product2"),
            FieldDef::new("ProductCode", "Product Code", T::String).read_only(),
            FieldDef::new("Name", "Opportunity Product Name", T::String)
                .len(376)
                .read_only(),
            FieldDef::new("Quantity", "Quantity", T::Double)
                .numeric(12, 2)
                .required(),
            FieldDef::new("TotalPrice", "Total Price", T::Currency).numeric(16, 2),
            FieldDef::new("UnitPrice", "Sales Price", T::Currency).numeric(16, 2),
            FieldDef::new("ListPrice", "List Price", T::Currency)
                .numeric(16, 2)
                .read_only(),
            FieldDef::new("ServiceDate", "Date", T::Date),
            FieldDef::new("Description", "Line Description", T::String),
            FieldDef::new("Discount", "Discount", T::Percent),
        ],
        Generated::Contract => vec![
            id_field("Contract ID"),
            deleted_field(),
            reference("AccountId", "Account ID", &["Account"], "Account").required(),
            reference(
                "Pricebook2Id",
                "Price Book ID",
                &["Pricebook2"],
                "Pricebook2",
            ),
            picklist(
                "OwnerExpirationNotice",
                "Owner Expiration Notice",
                CONTRACT_NOTICES,
            ),
            FieldDef::new("StartDate", "Contract Start Date", T::Date),
            // Salesforce computes it: StartDate plus ContractTerm months, less a day.
            FieldDef::new("EndDate", "Contract End Date", T::Date).read_only(),
            FieldDef::new("ContractTerm", "Contract Term", T::Int).digits(4),
            owner_field(),
            picklist("Status", "Status", CONTRACT_STATUS).required(),
            picklist("StatusCode", "Status Category", CONTRACT_STATUS_CODES)
                .required()
                .read_only(),
            FieldDef::new("ActivatedDate", "Activated Date", T::Datetime).read_only(),
            FieldDef::new("Description", "Description", T::Textarea).len(32_000),
            FieldDef::new("ContractNumber", "Contract Number", T::String)
                .len(30)
                .system()
                .name_field(),
        ],
        Generated::Order => vec![
            id_field("Order ID"),
            deleted_field(),
            owner_field(),
            reference("ContractId", "Contract ID", &["Contract"], "Contract"),
            reference("AccountId", "Account ID", &["Account"], "Account"),
            reference(
                "Pricebook2Id",
                "Price Book ID",
                &["Pricebook2"],
                "Pricebook2",
            ),
            FieldDef::new("EffectiveDate", "Order Start Date", T::Date).required(),
            FieldDef::new("EndDate", "Order End Date", T::Date),
            picklist("Status", "Status", ORDER_STATUS).required(),
            FieldDef::new("Description", "Description", T::Textarea).len(32_000),
            FieldDef::new("Name", "Order Name", T::String).len(80),
            picklist("StatusCode", "Status Category", ORDER_STATUS_CODES)
                .required()
                .read_only(),
            FieldDef::new("OrderNumber", "Order Number", T::String)
                .len(30)
                .system()
                .name_field(),
            // The sum of the items' total prices.
            FieldDef::new("TotalAmount", "Order Amount", T::Currency)
                .numeric(18, 2)
                .required()
                .read_only(),
        ],
        Generated::OrderItem => vec![
            id_field("Order Product ID"),
            deleted_field(),
            reference("Product2Id", "Product ID", &["Product2"], "Product2"),
            reference("OrderId", "Order ID", &["Order"], "Order").required(),
            reference(
                "PricebookEntryId",
                "Price Book Entry ID",
                &["PricebookEntry"],
                "PricebookEntry",
            )
            .required(),
            FieldDef::new("Quantity", "Quantity", T::Double)
                .numeric(18, 2)
                .required(),
            FieldDef::new("UnitPrice", "Unit Price", T::Currency)
                .numeric(18, 2)
                .required(),
            FieldDef::new("ListPrice", "List Price", T::Currency)
                .numeric(18, 2)
                .read_only(),
            FieldDef::new("TotalPrice", "Total Price", T::Currency)
                .numeric(18, 2)
                .read_only(),
            FieldDef::new("ServiceDate", "Start Date", T::Date),
            FieldDef::new("Description", "Line Description", T::String),
            FieldDef::new("OrderItemNumber", "Order Product Number", T::String)
                .len(30)
                .system()
                .name_field(),
        ],
        Generated::Quote => vec![
            id_field("Quote ID"),
            deleted_field(),
            FieldDef::new("Name", "Quote Name", T::String)
                .required()
                .name_field(),
            reference(
                "OpportunityId",
                "Opportunity ID",
                &["Opportunity"],
                "Opportunity",
            )
            .required(),
            reference(
                "Pricebook2Id",
                "Price Book ID",
                &["Pricebook2"],
                "Pricebook2",
            ),
            reference("ContactId", "Contact ID", &["Contact"], "Contact"),
            // The opportunity's account, set by Salesforce.
            reference("AccountId", "Account ID", &["Account"], "Account").read_only(),
            FieldDef::new("QuoteNumber", "Quote Number", T::String)
                .len(30)
                .system(),
            FieldDef::new("IsSyncing", "Syncing", T::Boolean).read_only(),
            picklist("Status", "Status", QUOTE_STATUS),
            FieldDef::new("ExpirationDate", "Expiration Date", T::Date),
            FieldDef::new("Description", "Description", T::Textarea).len(32_000),
            // Roll-ups of the line items.
            FieldDef::new("Subtotal", "Subtotal", T::Currency).read_only(),
            FieldDef::new("Discount", "Discount", T::Percent).read_only(),
            FieldDef::new("TotalPrice", "Total Price", T::Currency).read_only(),
            FieldDef::new("GrandTotal", "Grand Total", T::Currency).read_only(),
            FieldDef::new("LineItemCount", "Line Items", T::Int).read_only(),
        ],
        Generated::QuoteLineItem => vec![
            id_field("Quote Line Item ID"),
            deleted_field(),
            FieldDef::new("LineNumber", "Line Item Number", T::String).system(),
            reference("QuoteId", "Quote ID", &["Quote"], "Quote").required(),
            reference(
                "PricebookEntryId",
                "Price Book Entry ID",
                &["PricebookEntry"],
                "PricebookEntry",
            )
            .required(),
            reference("Product2Id", "Product ID", &["Product2"], "Product2"),
            FieldDef::new("Quantity", "Quantity", T::Double)
                .numeric(12, 2)
                .required(),
            FieldDef::new("UnitPrice", "Sales Price", T::Currency)
                .numeric(16, 2)
                .required(),
            FieldDef::new("Discount", "Discount", T::Percent),
            FieldDef::new("ListPrice", "List Price", T::Currency)
                .numeric(16, 2)
                .read_only(),
            FieldDef::new("Subtotal", "Subtotal", T::Currency)
                .numeric(16, 2)
                .read_only(),
            FieldDef::new("TotalPrice", "Total Price", T::Currency)
                .numeric(16, 2)
                .read_only(),
            FieldDef::new("ServiceDate", "Date", T::Date),
            FieldDef::new("Description", "Line Item Description", T::String),
            FieldDef::new("SortOrder", "Sort Order", T::Int).digits(9),
        ],
        Generated::Asset => vec![
            id_field("Asset ID"),
            deleted_field(),
            reference("ContactId", "Contact ID", &["Contact"], "Contact"),
            reference("AccountId", "Account ID", &["Account"], "Account"),
            reference("ParentId", "Parent Asset ID", &["Asset"], "Parent"),
            // The top of the asset's hierarchy (itself for a root), set by Salesforce.
            reference("RootAssetId", "Root Asset ID", &["Asset"], "RootAsset").read_only(),
            reference("Product2Id", "Product ID", &["Product2"], "Product2"),
            FieldDef::new("IsCompetitorProduct", "Competitor Asset", T::Boolean).defaulted(),
            FieldDef::new("Name", "Asset Name", T::String)
                .required()
                .name_field(),
            FieldDef::new("SerialNumber", "Serial Number", T::String).len(80),
            FieldDef::new("InstallDate", "Install Date", T::Date),
            FieldDef::new("PurchaseDate", "Purchase Date", T::Date),
            FieldDef::new("UsageEndDate", "Usage End Date", T::Date),
            picklist("Status", "Status", ASSET_STATUS),
            FieldDef::new("Price", "Price", T::Currency),
            FieldDef::new("Quantity", "Quantity", T::Double).numeric(18, 2),
            FieldDef::new("Description", "Description", T::Textarea).len(32_000),
            owner_field(),
        ],
        Generated::Case => vec![
            id_field("Case ID"),
            deleted_field(),
            FieldDef::new("CaseNumber", "Case Number", T::String)
                .len(30)
                .system()
                .name_field(),
            reference("AccountId", "Account ID", &["Account"], "Account"),
            reference("ContactId", "Contact ID", &["Contact"], "Contact"),
            reference(
                "RecordTypeId",
                "Record Type ID",
                &["RecordType"],
                "RecordType",
            ),
            FieldDef::new("Subject", "Subject", T::String),
            FieldDef::new("Description", "Description", T::Textarea).len(32_000),
            picklist("Status", "Status", CASE_STATUS).defaulted(),
            picklist("Priority", "Priority", CASE_PRIORITY).defaulted(),
            picklist("Origin", "Case Origin", CASE_ORIGIN),
            FieldDef::new("IsClosed", "Closed", T::Boolean).read_only(),
            FieldDef::new("ClosedDate", "Closed Date", T::Datetime).read_only(),
            owner_field().reference(&["Group", "User"], "Owner"),
            reference("ParentId", "Parent Case ID", &["Case"], "Parent"),
            FieldDef::new("SuppliedEmail", "Email Address", T::Email).len(80),
            picklist("Type", "Case Type", CASE_TYPES).len(40),
            picklist("Reason", "Case Reason", CASE_REASONS).len(40),
        ],
        Generated::CaseComment => vec![
            id_field("Case Comment ID"),
            deleted_field(),
            reference("ParentId", "Parent ID", &["Case"], "Parent").required(),
            FieldDef::new("IsPublished", "Published", T::Boolean).defaulted(),
            FieldDef::new("CommentBody", "Body", T::Textarea).len(4_000),
            reference("CreatedById", "Created By ID", &["User"], "CreatedBy").read_only(),
        ],
        Generated::Project => vec![
            id_field("Record ID"),
            deleted_field(),
            FieldDef::new("Name", "Project Name", T::String)
                .len(80)
                .name_field(),
            reference("Account__c", "Account", &["Account"], "Account__r"),
            picklist("Status__c", "Status", PROJECT_STATUS).len(255),
            FieldDef::new("Budget__c", "Budget", T::Currency).numeric(16, 2),
            FieldDef::new("Start_Date__c", "Start Date", T::Date),
            owner_field().reference(&["Group", "User"], "Owner"),
        ],
        Generated::Report => vec![
            id_field("Report ID"),
            deleted_field(),
            FieldDef::new("Name", "Report Name", T::String)
                .len(40)
                .system()
                .name_field(),
            FieldDef::new("DeveloperName", "Report Unique Name", T::String)
                .len(80)
                .system(),
            FieldDef::new("FolderName", "Folder Name", T::String).read_only(),
            picklist("Format", "Format", REPORT_FORMATS).system(),
            FieldDef::new("Description", "Description", T::String).read_only(),
            FieldDef::new("LastRunDate", "Last Run", T::Datetime).read_only(),
            reference(
                "OwnerId",
                "Owner ID",
                &["Folder", "Organization", "User"],
                "Owner",
            )
            .system(),
        ],
        Generated::Dashboard => vec![
            id_field("Dashboard ID"),
            deleted_field(),
            FieldDef::new("Title", "Title", T::String)
                .len(80)
                .read_only()
                .name_field(),
            FieldDef::new("DeveloperName", "Dashboard Unique Name", T::String)
                .len(80)
                .read_only(),
            FieldDef::new("FolderName", "Folder Name", T::String).read_only(),
            FieldDef::new("Description", "Description", T::String).read_only(),
            reference("RunningUserId", "Running User ID", &["User"], "RunningUser").read_only(),
        ],
        Generated::ApexClass => vec![
            id_field("Class ID"),
            FieldDef::new("Name", "Name", T::String).name_field(),
            FieldDef::new("NamespacePrefix", "Namespace Prefix", T::String).len(15),
            FieldDef::new("ApiVersion", "Api Version", T::Double).numeric(18, 1),
            picklist("Status", "Status", APEX_STATUS),
            FieldDef::new("IsValid", "Is Valid", T::Boolean),
            FieldDef::new("LengthWithoutComments", "Size Without Comments", T::Int),
        ],
        Generated::ApexTrigger => vec![
            id_field("Trigger ID"),
            FieldDef::new("Name", "Name", T::String).name_field(),
            picklist(
                "TableEnumOrId",
                "Custom Object Definition ID",
                &["Account", "Contact", "Opportunity", "Lead", "Case"],
            ),
            FieldDef::new("ApiVersion", "Api Version", T::Double).numeric(18, 1),
            picklist("Status", "Status", APEX_STATUS),
            FieldDef::new("IsValid", "Is Valid", T::Boolean),
            FieldDef::new("UsageBeforeInsert", "Before Insert", T::Boolean),
            FieldDef::new("UsageAfterUpdate", "After Update", T::Boolean),
        ],
        Generated::FlowDefinitionView => vec![
            id_field("Flow Definition View ID"),
            FieldDef::new("ApiName", "API Name", T::String),
            FieldDef::new("Label", "Label", T::String).name_field(),
            picklist("ProcessType", "Process Type", FLOW_TYPES),
            FieldDef::new("IsActive", "Is Active", T::Boolean),
            FieldDef::new("Description", "Description", T::Textarea),
        ],
        Generated::ValidationRule => vec![
            id_field("Validation Rule ID"),
            FieldDef::new("ValidationName", "Rule Name", T::String).name_field(),
            FieldDef::new("EntityDefinitionId", "Entity Definition ID", T::String),
            FieldDef::new("Active", "Active", T::Boolean),
            FieldDef::new("ErrorMessage", "Error Message", T::String),
            FieldDef::new("Description", "Description", T::String),
        ],
        Generated::WorkflowRule => vec![
            id_field("Workflow Rule ID"),
            FieldDef::new("Name", "Rule Name", T::String).name_field(),
            FieldDef::new("TableEnumOrId", "Object", T::String),
        ],
        Generated::Organization => vec![
            id_field("Organization ID"),
            FieldDef::new("Name", "Name", T::String)
                .len(80)
                .required()
                .name_field(),
            picklist("DefaultCurrencyIsoCode", "Currency", CURRENCY_CODES)
                .len(3)
                .read_only(),
        ],
        Generated::CurrencyType => vec![
            id_field("Currency Type ID"),
            FieldDef {
                restricted: true,
                ..picklist("IsoCode", "Currency ISO Code", CURRENCY_CODES)
                    .len(3)
                    .required()
            },
            FieldDef::new("ConversionRate", "Conversion Rate", T::Double)
                .numeric(18, 6)
                .required(),
            FieldDef::new("DecimalPlaces", "Decimal Places", T::Int).required(),
            FieldDef::new("IsActive", "Active", T::Boolean),
            FieldDef::new("IsCorporate", "Corporate Currency", T::Boolean),
        ],
        Generated::Group => vec![
            id_field("Group ID"),
            FieldDef::new("Name", "Name", T::String)
                .len(40)
                .required()
                .name_field(),
            FieldDef::new("DeveloperName", "Developer Name", T::String)
                .len(80)
                .required(),
            picklist("Type", "Type", GROUP_TYPES).required(),
            FieldDef::new("Email", "Email", T::Email),
            FieldDef::new(
                "DoesSendEmailToMembers",
                "Send Email to Members",
                T::Boolean,
            )
            .defaulted(),
            FieldDef::new("DoesIncludeBosses", "Include Bosses", T::Boolean).defaulted(),
            owner_field().reference(&["Organization", "User"], "Owner"),
        ],
        Generated::QueueSobject => vec![
            id_field("Queue Sobject ID"),
            reference("QueueId", "Group ID", &["Group"], "Queue").required(),
            picklist("SobjectType", "Sobject Type", QUEUE_OBJECTS).required(),
        ],
        Generated::EmailMessageRelation => vec![
            id_field("Email Message Relation ID"),
            deleted_field(),
            reference(
                "EmailMessageId",
                "Email Message ID",
                &["EmailMessage"],
                "EmailMessage",
            )
            .required(),
            reference(
                "RelationId",
                "Relation ID",
                &["Contact", "Lead", "User"],
                "Relation",
            ),
            FieldDef::new("RelationAddress", "Relation Address", T::String).len(255),
            FieldDef::new("RelationObjectType", "Relation Object Type", T::String)
                .len(50)
                .read_only(),
            picklist("RelationType", "Relation Type", EMAIL_RELATION_TYPES)
                .required()
                .len(40),
        ],
        Generated::AccountContactRelation => vec![
            id_field("Account Contact Relationship ID"),
            deleted_field(),
            reference("AccountId", "Account ID", &["Account"], "Account").required(),
            reference("ContactId", "Contact ID", &["Contact"], "Contact").required(),
            FieldDef::new("Roles", "Roles", T::MultiPicklist).picklist(RELATION_ROLES),
            // True for the contact's own account (Contact.AccountId): set by Salesforce.
            FieldDef::new("IsDirect", "Direct", T::Boolean).read_only(),
            FieldDef::new("IsActive", "Active", T::Boolean).defaulted(),
            FieldDef::new("StartDate", "Start Date", T::Date),
            FieldDef::new("EndDate", "End Date", T::Date),
        ],
        Generated::KnowledgeArticleVersion => vec![
            id_field("Knowledge ID"),
            deleted_field(),
            reference(
                "KnowledgeArticleId",
                "Knowledge Article ID",
                &["KnowledgeArticle"],
                "KnowledgeArticle",
            )
            .system(),
            owner_field(),
            FieldDef::new("Title", "Title", T::String)
                .required()
                .name_field(),
            FieldDef::new("UrlName", "URL Name", T::String).required(),
            FieldDef::new("Summary", "Summary", T::Textarea).len(1_000),
            FieldDef::new("Answer__c", "Answer", T::Textarea)
                .len(32_768)
                .rich(),
            picklist("Language", "Language", KNOWLEDGE_LANGUAGES)
                .required()
                .len(40),
            picklist("PublishStatus", "Publication Status", PUBLISH_STATUS)
                .system()
                .len(40),
            FieldDef::new("VersionNumber", "Version Number", T::Int)
                .digits(9)
                .system(),
            FieldDef::new("IsLatestVersion", "Is Latest Version", T::Boolean).system(),
            FieldDef::new("IsVisibleInApp", "Visible In Internal App", T::Boolean).defaulted(),
            FieldDef::new(
                "IsVisibleInPkb",
                "Visible In Public Knowledge Base",
                T::Boolean,
            )
            .defaulted(),
            FieldDef::new("IsVisibleInCsp", "Visible to Customer", T::Boolean).defaulted(),
            FieldDef::new("IsVisibleInPrm", "Visible to Partner", T::Boolean).defaulted(),
            FieldDef::new("ArticleNumber", "Article Number", T::String)
                .len(30)
                .system(),
            FieldDef::new("FirstPublishedDate", "First Published Date", T::Datetime).read_only(),
            FieldDef::new("LastPublishedDate", "Last Published Date", T::Datetime).read_only(),
            FieldDef::new("ArchivedDate", "Archived Date", T::Datetime).read_only(),
        ],
        Generated::KnowledgeArticle => vec![
            id_field("Knowledge Article ID"),
            deleted_field(),
            FieldDef::new("ArticleNumber", "Article Number", T::String)
                .len(30)
                .system(),
            FieldDef::new("FirstPublishedDate", "First Published Date", T::Datetime).read_only(),
            FieldDef::new("LastPublishedDate", "Last Published Date", T::Datetime).read_only(),
            FieldDef::new("ArchivedDate", "Archived Date", T::Datetime).read_only(),
            picklist("MasterLanguage", "Master Language", KNOWLEDGE_LANGUAGES).len(40),
        ],
        Generated::DataCategorySelection => vec![
            id_field("Data Category Selection ID"),
            deleted_field(),
            reference("ParentId", "Parent ID", &["Knowledge__kav"], "Parent").required(),
            FieldDef::new(
                "DataCategoryGroupName",
                "Data Category Group Name",
                T::String,
            )
            .len(80)
            .required(),
            FieldDef::new("DataCategoryName", "Data Category Name", T::String)
                .len(80)
                .required(),
        ],
        Generated::ApexPage => vec![
            id_field("Page ID"),
            FieldDef::new("Name", "Name", T::String).name_field(),
            FieldDef::new("MasterLabel", "Label", T::String),
            FieldDef::new("NamespacePrefix", "Namespace Prefix", T::String).len(15),
            FieldDef::new("ApiVersion", "Api Version", T::Double).numeric(18, 1),
            FieldDef::new("Description", "Description", T::Textarea),
        ],
    };
    if matches!(
        kind,
        Generated::EmailMessageRelation | Generated::DataCategorySelection
    ) {
        // Salesforce describes no LastModifiedDate on an email's relations or an article's
        // data category selections.
        fields.extend(
            audit_fields()
                .into_iter()
                .filter(|f| f.name != "LastModifiedDate"),
        );
    } else if kind != Generated::ContentDocumentLink {
        fields.extend(audit_fields());
    } else {
        fields.push(FieldDef::new("SystemModstamp", "System Modstamp", T::Datetime).system());
    }
    match kind {
        // Set by the platform when it archives an activity (see `Org::is_archived`), then
        // the recurrence fields of a recurring series (see `Org::series_of`).
        Generated::Task | Generated::Event => {
            fields.push(FieldDef::new("IsArchived", "Archived", T::Boolean).system());
            fields.extend(recurrence_fields(kind));
        }
        Generated::EmailMessage => {
            // Enhanced Email: the companion task, created with the email.
            fields.push(reference("ActivityId", "Activity ID", &["Task"], "Activity").read_only());
        }
        Generated::Account => {
            fields.extend([
                picklist("Tier__c", "Tier", TIERS).len(255),
                FieldDef::new("Customer_Since__c", "Customer Since", T::Date),
                FieldDef::new("Health_Score__c", "Health Score", T::Double).numeric(5, 2),
                FieldDef::new("Is_Strategic__c", "Is Strategic", T::Boolean),
            ]);
            fields.extend(address_fields("Shipping"));
            fields.extend(every_type_fields(reference(
                "Key_Contact__c",
                "Key Contact",
                &["Contact"],
                "Key_Contact__r",
            )));
            fields.extend(person_account_fields());
        }
        Generated::Contact => {
            fields.extend([
                picklist("Preferred_Channel__c", "Preferred Channel", CHANNELS).len(255),
                FieldDef::new("Newsletter_Opt_In__c", "Newsletter Opt In", T::Boolean),
                FieldDef::new("Lifetime_Value__c", "Lifetime Value", T::Currency).numeric(16, 2),
                reference("ReportsToId", "Reports To ID", &["Contact"], "ReportsTo"),
            ]);
            fields.extend(every_type_fields(reference(
                "Referred_By__c",
                "Referred By",
                &["Contact"],
                "Referred_By__r",
            )));
            fields.extend([
                FieldDef::new("IsPersonAccount", "Is Person Account", T::Boolean)
                    .system()
                    .feature(Feature::PersonAccounts),
                picklist("Loyalty_Tier__c", "Loyalty Tier", LOYALTY_TIERS)
                    .len(255)
                    .feature(Feature::PersonAccounts),
            ]);
        }
        Generated::Opportunity => {
            fields.extend(every_type_fields(reference(
                "Partner_Account__c",
                "Partner Account",
                &["Account"],
                "Partner_Account__r",
            )));
            // After every other field, so no generated value moves.
            fields.push(reference(
                "Pricebook2Id",
                "Price Book ID",
                &["Pricebook2"],
                "Pricebook2",
            ));
        }
        // After the audit fields, so no generated value moves.
        Generated::Campaign => {
            fields.push(reference(
                "ParentId",
                "Parent Campaign ID",
                &["Campaign"],
                "Parent",
            ));
        }
        _ => {}
    }
    fields
}

/// The recurrence fields Salesforce describes on Task and Event, in the recorded describes'
/// order: the series' main record has `IsRecurrence` and the rule; every record of a series
/// (the main one included) names the main one in `RecurrenceActivityId`. A task's series
/// starts and ends on dates, an event's starts at a time; only tasks regenerate.
fn recurrence_fields(kind: Generated) -> Vec<FieldDef> {
    use FieldType as T;
    let own = if kind == Generated::Task {
        &["Task"][..]
    } else {
        &["Event"][..]
    };
    let mut series = FieldDef::new(
        "RecurrenceActivityId",
        "Recurrence Activity ID",
        T::Reference,
    )
    .reference(own, "RecurrenceActivity")
    .read_only();
    // The recorded describes name no relationship: SOQL cannot reach the main record's fields.
    series.relationship_name = None;
    let mut f = vec![
        series,
        FieldDef::new("IsRecurrence", "Create Recurring Series", T::Boolean)
            .required()
            .defaulted(),
    ];
    f.push(if kind == Generated::Task {
        FieldDef::new("RecurrenceStartDateOnly", "Recurrence Start", T::Date)
    } else {
        FieldDef::new("RecurrenceStartDateTime", "Recurrence Start", T::Datetime)
    });
    f.extend([
        FieldDef::new("RecurrenceEndDateOnly", "Recurrence End", T::Date),
        picklist(
            "RecurrenceTimeZoneSidKey",
            "Recurrence Time Zone",
            TIME_ZONES,
        )
        .len(40),
        picklist("RecurrenceType", "Recurrence Pattern", RECURRENCE_TYPES).len(40),
        FieldDef::new("RecurrenceInterval", "Recurrence Interval", T::Int),
        FieldDef::new(
            "RecurrenceDayOfWeekMask",
            "Recurrence Day of Week Mask",
            T::Int,
        ),
        FieldDef::new("RecurrenceDayOfMonth", "Recurrence Day of Month", T::Int),
        picklist(
            "RecurrenceInstance",
            "Recurrence Instance",
            RECURRENCE_INSTANCES,
        )
        .len(40),
        picklist("RecurrenceMonthOfYear", "Recurrence Month of Year", MONTHS).len(40),
    ]);
    if kind == Generated::Task {
        f.push(
            picklist(
                "RecurrenceRegeneratedType",
                "Repeat This Task",
                RECURRENCE_REGENERATED,
            )
            .len(40),
        );
    }
    f
}

/// Picklist values of `RecurrenceType` (Task and Event).
pub const RECURRENCE_TYPES: &[&str] = &[
    "RecursDaily",
    "RecursEveryWeekday",
    "RecursMonthly",
    "RecursMonthlyNth",
    "RecursWeekly",
    "RecursYearly",
    "RecursYearlyNth",
];
/// Picklist values of `RecurrenceInstance`.
pub const RECURRENCE_INSTANCES: &[&str] = &["First", "Second", "Third", "Fourth", "Last"];
/// Picklist values of `RecurrenceMonthOfYear`.
pub const MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
/// Picklist values of `Task.RecurrenceRegeneratedType`.
pub const RECURRENCE_REGENERATED: &[&str] = &[
    "RecurrenceRegenerateAfterDueDate",
    "RecurrenceRegenerateAfterToday",
    "RecurrenceRegenerated",
];
/// Some values of `RecurrenceTimeZoneSidKey` (Salesforce lists every time zone it knows).
pub const TIME_ZONES: &[&str] = &[
    "America/Los_Angeles",
    "America/New_York",
    "Europe/London",
    "Europe/Paris",
    "Asia/Tokyo",
    "Australia/Sydney",
];
/// Picklist values of `EmailMessageRelation.RelationType`.
pub const EMAIL_RELATION_TYPES: &[&str] = &["ToAddress", "CcAddress", "BccAddress", "FromAddress"];

/// What an org with person accounts adds to Account, after its own fields: the flag, the
/// person's name, the fields of the person contact Salesforce shows on the account with a
/// `Person` prefix (`PersonEmail`, `PersonMailingAddress`, ...), `PersonContactId`, and the
/// contact's custom fields with the `__pc` suffix.
fn person_account_fields() -> Vec<FieldDef> {
    use FieldType as T;
    let person = Feature::PersonAccounts;
    let mut f = vec![
        FieldDef::new("IsPersonAccount", "Is Person Account", T::Boolean).system(),
        FieldDef::new("FirstName", "First Name", T::String)
            .len(40)
            .extra("personname"),
        FieldDef::new("LastName", "Last Name", T::String)
            .len(80)
            .extra("personname"),
        picklist("Salutation", "Salutation", SALUTATIONS),
        reference(
            "PersonContactId",
            "Person Contact ID",
            &["Contact"],
            "PersonContact",
        )
        .read_only(),
        FieldDef::new("PersonEmail", "Email", T::Email),
        FieldDef::new("PersonTitle", "Title", T::String).len(80),
        FieldDef::new("PersonMobilePhone", "Mobile", T::Phone),
        FieldDef::new("PersonHomePhone", "Home Phone", T::Phone),
        FieldDef::new("PersonBirthdate", "Birthdate", T::Date),
    ];
    f.extend(address_fields("PersonMailing"));
    f.push(picklist("Loyalty_Tier__pc", "Loyalty Tier", LOYALTY_TIERS).len(255));
    f.into_iter().map(|field| field.feature(person)).collect()
}

fn children_of(kind: Generated) -> Vec<ChildRelationship> {
    match kind {
        Generated::Account => vec![
            child("Account", "ParentId", "ChildAccounts", false),
            child("Contact", "AccountId", "Contacts", true),
            child("Opportunity", "AccountId", "Opportunities", true),
            child("Case", "AccountId", "Cases", true),
            child("Project__c", "Account__c", "Projects__r", false),
            child(
                "AccountContactRelation",
                "AccountId",
                "AccountContactRelations",
                true,
            ),
        ],
        Generated::Contact => vec![
            child(
                "OpportunityContactRole",
                "ContactId",
                "OpportunityContactRoles",
                true,
            ),
            child("CampaignMember", "ContactId", "CampaignMembers", true),
            child("Case", "ContactId", "Cases", false),
            child(
                "AccountContactRelation",
                "ContactId",
                "AccountContactRelations",
                true,
            ),
        ],
        Generated::KnowledgeArticleVersion => vec![child(
            "Knowledge__DataCategorySelection",
            "ParentId",
            "DataCategorySelections",
            true,
        )],
        Generated::Opportunity => vec![
            child(
                "OpportunityContactRole",
                "OpportunityId",
                "OpportunityContactRoles",
                true,
            ),
            child(
                "OpportunityLineItem",
                "OpportunityId",
                "OpportunityLineItems",
                true,
            ),
        ],
        Generated::Product2 => vec![
            child("PricebookEntry", "Product2Id", "PricebookEntries", true),
            child(
                "OpportunityLineItem",
                "Product2Id",
                "OpportunityLineItems",
                false,
            ),
        ],
        Generated::Pricebook2 => vec![
            child("PricebookEntry", "Pricebook2Id", "PricebookEntries", true),
            child("Opportunity", "Pricebook2Id", "Opportunities", false),
        ],
        Generated::PricebookEntry => vec![child(
            "OpportunityLineItem",
            "PricebookEntryId",
            "OpportunityLineItems",
            false,
        )],
        Generated::Event => vec![child("EventRelation", "EventId", "EventRelations", true)],
        Generated::EmailMessage => vec![child(
            "EmailMessageRelation",
            "EmailMessageId",
            "EmailMessageRelations",
            true,
        )],
        Generated::Campaign => vec![child(
            "CampaignMember",
            "CampaignId",
            "CampaignMembers",
            true,
        )],
        Generated::ContentDocument => vec![
            child(
                "ContentVersion",
                "ContentDocumentId",
                "ContentVersions",
                true,
            ),
            child(
                "ContentDocumentLink",
                "ContentDocumentId",
                "ContentDocumentLinks",
                true,
            ),
        ],
        Generated::Group => vec![child("QueueSobject", "QueueId", "QueueSobjects", true)],
        Generated::Case => vec![
            child("Case", "ParentId", "Cases", false),
            child("CaseComment", "ParentId", "CaseComments", true),
            child("EmailMessage", "ParentId", "EmailMessages", true),
        ],
        Generated::Contract => vec![child("Order", "ContractId", "Orders", false)],
        Generated::Order => vec![child("OrderItem", "OrderId", "OrderItems", true)],
        Generated::Quote => vec![child("QuoteLineItem", "QuoteId", "QuoteLineItems", true)],
        Generated::Asset => vec![child("Asset", "ParentId", "ChildAssets", false)],
        _ => Vec::new(),
    }
}

/// The currencies of a multi-currency org: ISO code, units per US dollar, decimal places.
/// The org's corporate currency is one of the first three ([`corporate_currencies`]); its
/// `CurrencyType` has conversion rate 1 and the others' rates are relative to it.
pub const CURRENCIES: &[(&str, f64, u32)] = &[
    ("USD", 1.0, 2),
    ("EUR", 0.92, 2),
    ("GBP", 0.79, 2),
    ("JPY", 149.5, 0),
    ("CAD", 1.36, 2),
];

/// The ISO codes of [`CURRENCIES`], the picklist of `CurrencyIsoCode`.
pub const CURRENCY_CODES: &[&str] = &["USD", "EUR", "GBP", "JPY", "CAD"];

/// The currencies an org's corporate currency is chosen from (by its seed).
pub fn corporate_currencies() -> &'static [&'static str] {
    &CURRENCY_CODES[..3]
}

/// Units of `code` per US dollar and its decimal places (1.0 and 2 for an unknown code).
pub fn currency(code: &str) -> (f64, u32) {
    CURRENCIES
        .iter()
        .find(|(iso, _, _)| *iso == code)
        .map_or((1.0, 2), |(_, rate, places)| (*rate, *places))
}

/// Whether Salesforce gives the object's records a `CurrencyIsoCode` in a multi-currency
/// org: the objects with money or activity of the simulated ones (users, accounts,
/// contacts, leads, opportunities, activities, campaigns, cases, custom objects, price book
/// entries, opportunity line items, contracts, orders and their items, quotes and their line
/// items, assets); notes, files, emails and junction objects have none.
pub fn has_currency(kind: Generated) -> bool {
    matches!(
        kind,
        Generated::User
            | Generated::Account
            | Generated::Contact
            | Generated::Lead
            | Generated::Opportunity
            | Generated::Task
            | Generated::Event
            | Generated::Campaign
            | Generated::Case
            | Generated::Project
            | Generated::PricebookEntry
            | Generated::OpportunityLineItem
            | Generated::Contract
            | Generated::Order
            | Generated::OrderItem
            | Generated::Quote
            | Generated::QuoteLineItem
            | Generated::Asset
    )
}

/// `CurrencyIsoCode` as Salesforce describes it: a restricted picklist of the org's
/// currencies, three characters, set on create (to the user's currency), labelled after
/// the object.
fn currency_field(kind: Generated) -> FieldDef {
    let label = match kind {
        Generated::Account => "Account Currency",
        Generated::Contact => "Contact Currency",
        Generated::Lead => "Lead Currency",
        Generated::Opportunity => "Opportunity Currency",
        Generated::Campaign => "Campaign Currency",
        Generated::Case => "Case Currency",
        Generated::PricebookEntry => "Price Book Entry Currency",
        Generated::OpportunityLineItem => "Opportunity Product Currency",
        Generated::Contract => "Contract Currency",
        Generated::Order => "Order Currency",
        Generated::OrderItem => "Order Product Currency",
        Generated::Quote => "Quote Currency",
        Generated::QuoteLineItem => "Quote Line Item Currency",
        Generated::Asset => "Asset Currency",
        Generated::Task | Generated::Event => "Activity Currency",
        _ => "Currency",
    };
    let mut field = picklist("CurrencyIsoCode", label, CURRENCY_CODES)
        .len(3)
        .defaulted()
        .feature(Feature::MultiCurrency);
    field.restricted = true;
    field
}

/// One general rule for every object: a multi-currency org's `CurrencyIsoCode` comes last,
/// after every other field, so the field order and generated values of the rest stay put.
fn with_currency(kind: Generated, mut fields: Vec<FieldDef>) -> Vec<FieldDef> {
    if has_currency(kind) {
        fields.push(currency_field(kind));
    }
    fields
}

fn build_objects() -> Vec<ObjectDef> {
    let mut objects: Vec<ObjectDef> = CATALOG
        .iter()
        .filter(|entry| !Generated::ALL.iter().any(|k| k.object_name() == entry.0))
        .map(metadata_only)
        .collect();
    objects.extend(
        Generated::ALL
            .iter()
            .filter(|k| !k.is_tooling())
            .map(|&k| data_object(k, with_currency(k, fields_of(k)), children_of(k))),
    );
    objects.sort_by_key(|o| o.name);
    objects
}

fn build_tooling() -> Vec<ObjectDef> {
    Generated::ALL
        .iter()
        .filter(|k| k.is_tooling())
        .map(|&k| data_object(k, fields_of(k), Vec::new()))
        .collect()
}

static OBJECTS: LazyLock<Vec<ObjectDef>> = LazyLock::new(build_objects);
static TOOLING: LazyLock<Vec<ObjectDef>> = LazyLock::new(build_tooling);

/// Every object of the org, in describeGlobal order (alphabetical, as Salesforce lists).
pub fn objects() -> &'static [ObjectDef] {
    &OBJECTS
}

/// An object by case-insensitive name.
pub fn object(name: &str) -> Option<&'static ObjectDef> {
    OBJECTS.iter().find(|o| o.name.eq_ignore_ascii_case(name))
}

/// An object by case-insensitive name, in an org with `features`.
pub fn object_in(name: &str, features: Features) -> Option<&'static ObjectDef> {
    object(name).filter(|def| features.allows(def.feature))
}

/// A Tooling API object (ApexClass, ApexPage, ApexTrigger, FlowDefinitionView,
/// ValidationRule, WorkflowRule) by case-insensitive name.
pub fn tooling_object(name: &str) -> Option<&'static ObjectDef> {
    TOOLING.iter().find(|o| o.name.eq_ignore_ascii_case(name))
}

/// The object a generator fills.
pub fn generated_object(kind: Generated) -> &'static ObjectDef {
    // Looked up for every id generated, so resolved once per generator.
    BY_KIND.get(kind.slot()).copied().unwrap_or(&OBJECTS[0])
}

static BY_KIND: LazyLock<Vec<&'static ObjectDef>> = LazyLock::new(|| {
    Generated::ALL
        .iter()
        .map(|kind| {
            let name = kind.object_name();
            // Every generator's object is in one of the two static lists.
            OBJECTS
                .iter()
                .chain(TOOLING.iter())
                .find(|o| o.name == name)
                .unwrap_or(&OBJECTS[0])
        })
        .collect()
});

/// The object whose ids start with `prefix`, among generated objects.
pub fn generated_by_prefix(prefix: &str) -> Option<Generated> {
    Generated::ALL
        .iter()
        .copied()
        .find(|&k| generated_object(k).key_prefix == Some(prefix))
}

/// The describeGlobal document of an org with every feature on.
pub fn describe_global(version: &str) -> Json {
    describe_global_for(version, Features::ALL)
}

/// The describeGlobal document of an org with `features`.
pub fn describe_global_for(version: &str, features: Features) -> Json {
    let sobjects: Vec<Json> = OBJECTS
        .iter()
        .filter(|o| features.allows(o.feature))
        .map(|o| o.global_entry(version))
        .collect();
    json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_sorted_and_address_parts_resolve() {
        let names: Vec<&str> = objects().iter().map(|o| o.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
        let account = generated_object(Generated::Account);
        assert_eq!(account.name, "Account");
        let billing = account.field_index("billingaddress");
        let parts = billing.and_then(|i| account.address_components(i));
        assert!(parts.is_some_and(|p| p[0] == account.field_index("BillingCity")));
        let lead = generated_object(Generated::Lead);
        let address = lead.field_index("Address");
        let parts = address.and_then(|i| lead.address_components(i));
        assert!(parts.is_some_and(|p| p[0] == lead.field_index("City")));
    }

    #[test]
    fn a_field_of_a_feature_that_is_off_does_not_exist() {
        // The first real gated field: a multi-currency org's CurrencyIsoCode, last.
        let account = generated_object(Generated::Account);
        let at = account.fields.len() - 1;
        let off = Features::default();
        let on = Features {
            multi_currency: true,
            ..Features::default()
        };
        assert_eq!(account.field_index_in("currencyisocode", off), None);
        assert_eq!(account.field_index_in("currencyisocode", on), Some(at));
        assert!(!account.has_field(at, off) && account.has_field(at, on));
        let described = |features| {
            account.describe_for("59.0", "https://example.my.salesforce.com", features)["fields"]
                .as_array()
                .map(|fields| fields.iter().any(|f| f["name"] == "CurrencyIsoCode"))
        };
        assert_eq!(described(off), Some(false));
        assert_eq!(described(on), Some(true));
        assert!(Features::ALL.has(Feature::PersonAccounts) && !off.has(Feature::PersonAccounts));
    }

    #[test]
    fn every_generator_has_its_object_and_hidden_fields_are_absent() {
        for (slot, kind) in Generated::ALL.into_iter().enumerate() {
            assert_eq!(kind.slot(), slot);
            assert_eq!(generated_object(kind).name, kind.object_name());
            assert_eq!(generated_object(kind).generated, Some(kind));
        }
        for (object_name, field) in HIDDEN_FIELDS {
            let def = object(object_name);
            assert!(def.is_some_and(|o| o.field_index(field).is_none()));
        }
        assert_eq!(generated_by_prefix("00Q"), Some(Generated::Lead));
    }
}
