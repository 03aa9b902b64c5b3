//! The field map: which Salesforce object becomes which destination entity, field by field.
//!
//! The map is data, not code. The built-in map ships as `default_map.json` beside this crate;
//! the pipeline reads only the parsed [`FieldMap`], so a user-supplied map can replace it
//! without touching any step.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The kinds of record the reference CRM holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Company,
    Contact,
}

impl EntityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Company => "company",
            Self::Contact => "contact",
        }
    }

    /// The standard fields of this entity in the reference CRM; a map may target only these
    /// (anything else becomes a custom field).
    pub fn standard_fields(self) -> &'static [&'static str] {
        match self {
            Self::Company => &[
                "name",
                "website",
                "industry",
                "phone",
                "employee_count",
                "annual_revenue",
                "description",
                "created_at",
                "updated_at",
            ],
            Self::Contact => &[
                "first_name",
                "last_name",
                "email",
                "phone",
                "job_title",
                "created_at",
                "updated_at",
            ],
        }
    }

    /// The links this entity can hold, and the entity each one points to.
    pub fn links(self) -> &'static [(&'static str, EntityKind)] {
        match self {
            Self::Company => &[("parent_company", EntityKind::Company)],
            Self::Contact => &[("company", EntityKind::Company)],
        }
    }

    /// Fields without which the destination refuses the record.
    pub fn required_fields(self) -> &'static [&'static str] {
        match self {
            Self::Company => &["name"],
            Self::Contact => &["last_name"],
        }
    }
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
    #[serde(default)]
    pub description: Option<String>,
    pub objects: BTreeMap<String, ObjectMap>,
}

/// How one Salesforce object lands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObjectMap {
    pub entity: EntityKind,
    /// Salesforce field name to destination standard field name.
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// Salesforce reference field name to destination link name.
    #[serde(default)]
    pub links: BTreeMap<String, String>,
}

/// A map that cannot be used, naming the object and field at fault.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("the field map is not valid JSON")]
    Syntax(#[source] serde_json::Error),
    #[error("field map version {0} is not supported (this Ferry reads version 1)")]
    Version(u32),
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
}

const BUILTIN_MAP: &str = include_str!("../default_map.json");

impl FieldMap {
    /// The map Ferry ships with.
    pub fn builtin() -> Self {
        // The built-in map is checked by a unit test below, so parsing cannot fail at run time;
        // still, fall back to an empty map rather than panic if a broken file is ever shipped.
        Self::parse(BUILTIN_MAP).unwrap_or_else(|_| Self {
            version: 1,
            description: None,
            objects: BTreeMap::new(),
        })
    }

    pub fn parse(text: &str) -> Result<Self, MapError> {
        let map: Self = serde_json::from_str(text).map_err(MapError::Syntax)?;
        map.validate()?;
        Ok(map)
    }

    fn validate(&self) -> Result<(), MapError> {
        if self.version != 1 {
            return Err(MapError::Version(self.version));
        }
        for (object, object_map) in &self.objects {
            let entity = object_map.entity;
            for (field, target) in &object_map.fields {
                if !entity.standard_fields().contains(&target.as_str()) {
                    return Err(MapError::UnknownTarget {
                        object: object.clone(),
                        field: field.clone(),
                        entity,
                        target: target.clone(),
                    });
                }
            }
            for (field, target) in &object_map.links {
                if !entity.links().iter().any(|(link, _)| link == target) {
                    return Err(MapError::UnknownLink {
                        object: object.clone(),
                        field: field.clone(),
                        entity,
                        target: target.clone(),
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_map_parses_and_validates() {
        let map = FieldMap::parse(BUILTIN_MAP);
        assert!(map.is_ok(), "{map:?}");
        let map = FieldMap::builtin();
        assert_eq!(map.objects["Account"].entity, EntityKind::Company);
        assert_eq!(map.objects["Contact"].links["AccountId"], "company");
    }

    #[test]
    fn a_map_naming_an_unknown_target_is_refused_with_object_and_field() {
        let text =
            r#"{"version":1,"objects":{"Account":{"entity":"company","fields":{"Name":"title"}}}}"#;
        let error = FieldMap::parse(text)
            .map(|_| ())
            .map_err(|error| error.to_string());
        assert_eq!(
            error,
            Err("field map: Account.Name targets company.title, which the destination does not have".to_owned())
        );
    }
}
