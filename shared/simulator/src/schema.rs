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
        }
    }

    /// The `soapType` value of describe.
    pub fn soap_type(self) -> &'static str {
        match self {
            FieldType::Id | FieldType::Reference => "tns:ID",
            FieldType::Boolean => "xsd:boolean",
            FieldType::Int => "xsd:int",
            FieldType::Currency | FieldType::Double => "xsd:double",
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
        )
    }

    /// True for types compared as numbers.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            FieldType::Int | FieldType::Currency | FieldType::Double
        )
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
    pub reference_to: Option<&'static str>,
    pub relationship_name: Option<&'static str>,
    pub compound_field_name: Option<&'static str>,
    pub extra_type_info: Option<&'static str>,
    pub picklist: &'static [&'static str],
    pub name_field: bool,
    pub id_lookup: bool,
    pub unique: bool,
    pub defaulted_on_create: bool,
}

impl FieldDef {
    fn new(name: &'static str, label: &'static str, ftype: FieldType) -> Self {
        let length = match ftype {
            FieldType::Id | FieldType::Reference => 18,
            FieldType::Picklist | FieldType::Phone => 40,
            FieldType::Url | FieldType::String | FieldType::Textarea => 255,
            FieldType::Email => 80,
            _ => 0,
        };
        let (precision, scale, digits) = match ftype {
            FieldType::Currency => (18, 2, 0),
            FieldType::Double => (18, 0, 0),
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
            reference_to: None,
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
        }
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
    fn reference(mut self, to: &'static str, relationship: &'static str) -> Self {
        self.reference_to = Some(to);
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
    fn defaulted(mut self) -> Self {
        self.defaulted_on_create = true;
        self
    }

    /// Whether the field is a custom field (`__c`).
    pub fn custom(&self) -> bool {
        self.name.ends_with("__c")
    }

    /// Long text areas cannot be filtered, sorted or grouped in SOQL.
    fn long_text(&self) -> bool {
        self.ftype == FieldType::Textarea && self.length > 255
    }

    /// Whether SOQL may use the field in WHERE.
    pub fn filterable(&self) -> bool {
        !self.long_text() && self.ftype != FieldType::Address
    }

    /// Whether SOQL may use the field in ORDER BY.
    pub fn sortable(&self) -> bool {
        !self.long_text() && self.ftype != FieldType::Address
    }

    fn groupable(&self) -> bool {
        !self.long_text()
            && !matches!(
                self.ftype,
                FieldType::Address | FieldType::Currency | FieldType::Double | FieldType::Datetime
            )
    }

    fn aggregatable(&self) -> bool {
        !self.long_text() && !matches!(self.ftype, FieldType::Address | FieldType::Boolean)
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
        let reference_to: Vec<&str> = self.reference_to.into_iter().collect();
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
            "calculated": false,
            "calculatedFormula": null,
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
            "htmlFormatted": false,
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
            "polymorphicForeignKey": false,
            "precision": self.precision,
            "queryByDistance": false,
            "referenceTargetField": null,
            "referenceTo": reference_to,
            "relationshipName": self.relationship_name,
            "relationshipOrder": null,
            "restrictedDelete": false,
            "restrictedPicklist": false,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Generated {
    User,
    Account,
    Contact,
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

/// The set of `urls` keys an object lists in describeGlobal, which differs by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlKind {
    /// Account, Contact: layouts, list views, approval layouts.
    Record,
    /// User: named layouts and password utilities.
    User,
    /// Change events: an event schema.
    ChangeEvent,
    /// Everything else: row template, default values, describe, sobject.
    Plain,
}

/// Metadata of one object.
#[derive(Debug, Clone)]
pub struct ObjectDef {
    pub name: &'static str,
    pub label: &'static str,
    pub label_plural: &'static str,
    pub key_prefix: Option<&'static str>,
    pub flags: ObjectFlags,
    pub urls: UrlKind,
    pub fields: Vec<FieldDef>,
    pub children: Vec<ChildRelationship>,
    /// Which generator fills the object, or `None` for objects that exist only in
    /// metadata (history, share, feed tables) and hold no records.
    pub generated: Option<Generated>,
    /// For each address field, the indexes of its components in JSON key order
    /// (city, country, geocodeAccuracy, latitude, longitude, postalCode, state, street).
    pub address_parts: Vec<(usize, [Option<usize>; 8])>,
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

    /// Components of the address field at `index`, if it is one.
    pub fn address_components(&self, index: usize) -> Option<&[Option<usize>; 8]> {
        self.address_parts
            .iter()
            .find(|(i, _)| *i == index)
            .map(|(_, parts)| parts)
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

    fn urls_json(&self, version: &str, kind: UrlKind, instance_url: Option<&str>) -> Json {
        let base = format!("/services/data/v{version}/sobjects/{}", self.name);
        let mut urls = Map::new();
        let mut put = |k: &str, v: String| {
            urls.insert(k.to_string(), Json::String(v));
        };
        match kind {
            UrlKind::Record => {
                put("compactLayouts", format!("{base}/describe/compactLayouts"));
                put("rowTemplate", format!("{base}/{{ID}}"));
                put(
                    "approvalLayouts",
                    format!("{base}/describe/approvalLayouts"),
                );
                if let Some(host) = instance_url {
                    put("uiDetailTemplate", format!("{host}/{{ID}}"));
                    put("uiEditTemplate", format!("{host}/{{ID}}/e"));
                }
                put(
                    "defaultValues",
                    format!("{base}/defaultValues?recordTypeId&fields"),
                );
                put("listviews", format!("{base}/listviews"));
                put("describe", format!("{base}/describe"));
                if let (Some(host), Some(prefix)) = (instance_url, self.key_prefix) {
                    put("uiNewRecord", format!("{host}/{prefix}/e"));
                }
                put("quickActions", format!("{base}/quickActions"));
                put("layouts", format!("{base}/describe/layouts"));
            }
            UrlKind::User => {
                put("compactLayouts", format!("{base}/describe/compactLayouts"));
                put("rowTemplate", format!("{base}/{{ID}}"));
                put(
                    "namedLayouts",
                    format!("{base}/describe/namedLayouts/{{LayoutName}}"),
                );
                put("passwordUtilities", format!("{base}/{{ID}}/password"));
                put(
                    "defaultValues",
                    format!("{base}/defaultValues?recordTypeId&fields"),
                );
                put("describe", format!("{base}/describe"));
                put("quickActions", format!("{base}/quickActions"));
                put("layouts", format!("{base}/describe/layouts"));
            }
            UrlKind::ChangeEvent => {
                put("rowTemplate", format!("{base}/{{ID}}"));
                put("eventSchema", format!("{base}/eventSchema"));
                put(
                    "defaultValues",
                    format!("{base}/defaultValues?recordTypeId&fields"),
                );
                put("describe", format!("{base}/describe"));
            }
            UrlKind::Plain => {
                put("rowTemplate", format!("{base}/{{ID}}"));
                put(
                    "defaultValues",
                    format!("{base}/defaultValues?recordTypeId&fields"),
                );
                put("describe", format!("{base}/describe"));
            }
        }
        put("sobject", base.clone());
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
            "urls": self.urls_json(version, self.urls, None),
        })
    }

    /// The full describe of this object.
    pub fn describe(&self, version: &str, instance_url: &str) -> Json {
        let f = self.flags;
        let fields: Vec<Json> = self.fields.iter().map(FieldDef::describe).collect();
        let children: Vec<Json> = self
            .children
            .iter()
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
        // Every object with layouts has the platform's master record type.
        let record_types = if f.layoutable {
            json!([{
                "active": true,
                "available": true,
                "defaultRecordTypeMapping": true,
                "developerName": "Master",
                "master": true,
                "name": "Master",
                "recordTypeId": "012000000000000AAA",
                "urls": {"layout": format!("{base}/describe/layouts/012000000000000AAA")},
            }])
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
        json!({
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
            "urls": self.urls_json(version, self.urls, Some(instance_url)),
        })
    }
}

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

/// Picklist values of `Contact.Preferred_Channel__c`.
pub const CHANNELS: &[&str] = &["Email", "Phone", "SMS"];

/// The audit fields every record carries, in describe order.
fn audit_fields() -> Vec<FieldDef> {
    use FieldType as T;
    vec![
        FieldDef::new("CreatedDate", "Created Date", T::Datetime).system(),
        FieldDef::new("LastModifiedDate", "Last Modified Date", T::Datetime).system(),
        FieldDef::new("SystemModstamp", "System Modstamp", T::Datetime).system(),
    ]
}

fn address_fields(stem: &'static str, labels: [&'static str; 6]) -> Vec<FieldDef> {
    use FieldType as T;
    let compound: &'static str = match stem {
        "Billing" => "BillingAddress",
        _ => "MailingAddress",
    };
    let names: [&'static str; 6] = match stem {
        "Billing" => [
            "BillingStreet",
            "BillingCity",
            "BillingState",
            "BillingPostalCode",
            "BillingCountry",
            "BillingAddress",
        ],
        _ => [
            "MailingStreet",
            "MailingCity",
            "MailingState",
            "MailingPostalCode",
            "MailingCountry",
            "MailingAddress",
        ],
    };
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

const RECORD_FLAGS: ObjectFlags = ObjectFlags {
    createable: true,
    updateable: true,
    deletable: true,
    undeletable: true,
    mergeable: true,
    queryable: true,
    replicateable: true,
    retrieveable: true,
    searchable: true,
    triggerable: true,
    layoutable: true,
    feed_enabled: true,
    mru_enabled: true,
};

/// LastName, FirstName and the compound Name, as User and Contact describe them.
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

fn user() -> ObjectDef {
    use FieldType as T;
    let mut fields = vec![
        FieldDef::new("Id", "User ID", T::Id).system().lookup(),
        FieldDef::new("Username", "Username", T::String)
            .len(80)
            .required()
            .lookup()
            .unique(),
    ];
    fields.extend(person_name_fields());
    fields.extend([
        FieldDef::new("Email", "Email", T::Email)
            .len(128)
            .required()
            .lookup(),
        FieldDef::new("IsActive", "Active", T::Boolean).defaulted(),
    ]);
    fields.extend(audit_fields());
    ObjectDef {
        name: "User",
        label: "User",
        label_plural: "Users",
        key_prefix: Some("005"),
        flags: ObjectFlags {
            deletable: false,
            undeletable: false,
            mergeable: false,
            ..RECORD_FLAGS
        },
        urls: UrlKind::User,
        fields,
        children: Vec::new(),
        generated: Some(Generated::User),
        address_parts: Vec::new(),
    }
    .with_address_parts()
}

fn account() -> ObjectDef {
    use FieldType as T;
    let mut fields = vec![
        FieldDef::new("Id", "Account ID", T::Id).system().lookup(),
        FieldDef::new("IsDeleted", "Deleted", T::Boolean).system(),
        FieldDef::new("Name", "Account Name", T::String)
            .required()
            .name_field()
            .extra("switchablepersonname"),
        FieldDef::new("Type", "Account Type", T::Picklist).picklist(ACCOUNT_TYPES),
        FieldDef::new("ParentId", "Parent Account ID", T::Reference).reference("Account", "Parent"),
    ];
    fields.extend(address_fields(
        "Billing",
        [
            "Billing Street",
            "Billing City",
            "Billing State/Province",
            "Billing Zip/Postal Code",
            "Billing Country",
            "Billing Address",
        ],
    ));
    fields.extend([
        FieldDef::new("Phone", "Account Phone", T::Phone),
        FieldDef::new("Website", "Website", T::Url),
        FieldDef::new("Industry", "Industry", T::Picklist).picklist(INDUSTRIES),
        FieldDef::new("AnnualRevenue", "Annual Revenue", T::Currency).numeric(18, 0),
        FieldDef::new("NumberOfEmployees", "Employees", T::Int).digits(8),
        FieldDef::new("Description", "Account Description", T::Textarea).len(32_000),
        FieldDef::new("OwnerId", "Owner ID", T::Reference)
            .required()
            .defaulted()
            .reference("User", "Owner"),
    ]);
    fields.extend(audit_fields());
    fields.extend([
        FieldDef::new("Tier__c", "Tier", T::Picklist)
            .len(255)
            .picklist(TIERS),
        FieldDef::new("Customer_Since__c", "Customer Since", T::Date),
        FieldDef::new("Health_Score__c", "Health Score", T::Double).numeric(5, 2),
        FieldDef::new("Is_Strategic__c", "Is Strategic", T::Boolean),
    ]);
    ObjectDef {
        name: "Account",
        label: "Account",
        label_plural: "Accounts",
        key_prefix: Some("001"),
        flags: RECORD_FLAGS,
        urls: UrlKind::Record,
        fields,
        children: vec![
            ChildRelationship {
                child: "Account",
                field: "ParentId",
                name: "ChildAccounts",
                cascade_delete: false,
            },
            ChildRelationship {
                child: "Contact",
                field: "AccountId",
                name: "Contacts",
                cascade_delete: true,
            },
        ],
        generated: Some(Generated::Account),
        address_parts: Vec::new(),
    }
    .with_address_parts()
}

fn contact() -> ObjectDef {
    use FieldType as T;
    let mut fields = vec![
        FieldDef::new("Id", "Contact ID", T::Id).system().lookup(),
        FieldDef::new("IsDeleted", "Deleted", T::Boolean).system(),
        FieldDef::new("AccountId", "Account ID", T::Reference).reference("Account", "Account"),
    ];
    fields.extend(person_name_fields());
    fields.extend(address_fields(
        "Mailing",
        [
            "Mailing Street",
            "Mailing City",
            "Mailing State/Province",
            "Mailing Zip/Postal Code",
            "Mailing Country",
            "Mailing Address",
        ],
    ));
    fields.extend([
        FieldDef::new("Phone", "Business Phone", T::Phone),
        FieldDef::new("Email", "Email", T::Email).lookup(),
        FieldDef::new("Title", "Title", T::String).len(128),
        FieldDef::new("OwnerId", "Owner ID", T::Reference)
            .required()
            .defaulted()
            .reference("User", "Owner"),
    ]);
    fields.extend(audit_fields());
    fields.extend([
        FieldDef::new("Preferred_Channel__c", "Preferred Channel", T::Picklist)
            .len(255)
            .picklist(CHANNELS),
        FieldDef::new("Newsletter_Opt_In__c", "Newsletter Opt In", T::Boolean),
        FieldDef::new("Lifetime_Value__c", "Lifetime Value", T::Currency).numeric(16, 2),
    ]);
    ObjectDef {
        name: "Contact",
        label: "Contact",
        label_plural: "Contacts",
        key_prefix: Some("003"),
        flags: RECORD_FLAGS,
        urls: UrlKind::Record,
        fields,
        children: Vec::new(),
        generated: Some(Generated::Contact),
        address_parts: Vec::new(),
    }
    .with_address_parts()
}

/// An object that exists only in metadata: listed in describeGlobal with the flags real
/// Salesforce gives it, describable, and (when queryable) answering queries with no rows.
fn metadata_only(
    name: &'static str,
    label: &'static str,
    label_plural: &'static str,
    key_prefix: Option<&'static str>,
    flags: ObjectFlags,
    urls: UrlKind,
) -> ObjectDef {
    use FieldType as T;
    let id_label: &'static str = "Record ID";
    ObjectDef {
        name,
        label,
        label_plural,
        key_prefix,
        flags,
        urls,
        fields: vec![
            FieldDef::new("Id", id_label, T::Id).system().lookup(),
            FieldDef::new("CreatedDate", "Created Date", T::Datetime).system(),
        ],
        children: Vec::new(),
        generated: None,
        address_parts: Vec::new(),
    }
}

const NONE_FLAGS: ObjectFlags = ObjectFlags {
    createable: false,
    updateable: false,
    deletable: false,
    undeletable: false,
    mergeable: false,
    queryable: false,
    replicateable: false,
    retrieveable: false,
    searchable: false,
    triggerable: false,
    layoutable: false,
    feed_enabled: false,
    mru_enabled: false,
};

fn build_objects() -> Vec<ObjectDef> {
    let history = ObjectFlags {
        queryable: true,
        replicateable: true,
        retrieveable: true,
        ..NONE_FLAGS
    };
    let feed = ObjectFlags {
        deletable: true,
        ..history
    };
    let change_event = ObjectFlags {
        retrieveable: true,
        triggerable: true,
        ..NONE_FLAGS
    };
    let account_share = ObjectFlags {
        createable: true,
        updateable: true,
        deletable: true,
        queryable: true,
        retrieveable: true,
        ..NONE_FLAGS
    };
    let contact_share = ObjectFlags {
        queryable: true,
        retrieveable: true,
        ..NONE_FLAGS
    };
    let content_link = ObjectFlags {
        triggerable: true,
        ..account_share
    };
    let recently_viewed = ObjectFlags {
        queryable: true,
        updateable: true,
        ..NONE_FLAGS
    };
    use UrlKind::{ChangeEvent, Plain};
    vec![
        metadata_only(
            "AcceptedEventRelation",
            "Accepted Event Relation",
            "Accepted Event Relations",
            None,
            contact_share,
            Plain,
        ),
        account(),
        metadata_only(
            "AccountChangeEvent",
            "Account Change Event",
            "Account Change Event",
            None,
            change_event,
            ChangeEvent,
        ),
        metadata_only(
            "AccountFeed",
            "Account Feed",
            "Account Feed",
            None,
            feed,
            Plain,
        ),
        metadata_only(
            "AccountHistory",
            "Account History",
            "Account History",
            None,
            history,
            Plain,
        ),
        metadata_only(
            "AccountShare",
            "Account Share",
            "Account Share",
            Some("00r"),
            account_share,
            Plain,
        ),
        metadata_only(
            "ActivityHistory",
            "Activity History",
            "Activity History",
            None,
            NONE_FLAGS,
            Plain,
        ),
        metadata_only(
            "AggregateResult",
            "Aggregate Result",
            "Aggregate Result",
            None,
            NONE_FLAGS,
            Plain,
        ),
        contact(),
        metadata_only(
            "ContactChangeEvent",
            "Contact Change Event",
            "Contact Change Event",
            None,
            change_event,
            ChangeEvent,
        ),
        metadata_only(
            "ContactFeed",
            "Contact Feed",
            "Contact Feed",
            None,
            feed,
            Plain,
        ),
        metadata_only(
            "ContactHistory",
            "Contact History",
            "Contact History",
            None,
            history,
            Plain,
        ),
        metadata_only(
            "ContactShare",
            "Contact Share",
            "Contact Share",
            Some("03s"),
            contact_share,
            Plain,
        ),
        metadata_only(
            "ContentDocumentLink",
            "Content Document Link",
            "Content Document Link",
            Some("06A"),
            content_link,
            Plain,
        ),
        metadata_only(
            "RecentlyViewed",
            "Recently Viewed",
            "Recently Viewed",
            None,
            recently_viewed,
            Plain,
        ),
        user(),
    ]
}

static OBJECTS: LazyLock<Vec<ObjectDef>> = LazyLock::new(build_objects);

/// Every object of the org, in describeGlobal order (alphabetical, as Salesforce lists).
pub fn objects() -> &'static [ObjectDef] {
    &OBJECTS
}

/// An object by case-insensitive name.
pub fn object(name: &str) -> Option<&'static ObjectDef> {
    OBJECTS.iter().find(|o| o.name.eq_ignore_ascii_case(name))
}

/// The object a generator fills.
pub fn generated_object(kind: Generated) -> &'static ObjectDef {
    let name = match kind {
        Generated::User => "User",
        Generated::Account => "Account",
        Generated::Contact => "Contact",
    };
    // The three generated objects are always in the static list built above.
    OBJECTS
        .iter()
        .find(|o| o.name == name)
        .unwrap_or(&OBJECTS[0])
}

/// The describeGlobal document.
pub fn describe_global(version: &str) -> Json {
    let sobjects: Vec<Json> = OBJECTS.iter().map(|o| o.global_entry(version)).collect();
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
    }
}
