use crate::db::{Db, EmbeddedError};
use async_trait::async_trait;
use ferry_core::PortError;
use ferry_core::ids::{DestinationId, TenantId};
use ferry_core::mapping::EntityKind;
use ferry_core::plan::CustomFieldDefinition;
use ferry_core::ports::{Destination, DestinationRecord, LinkPatch, UpsertOutcome};
use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Transaction, params, params_from_iter};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;

/// The reference CRM's tables. Every record keeps the Salesforce object and id it came from,
/// unique per tenant, which is what makes an upsert of the same record an update.
/// Columns added after a table first shipped are also in [`ADDED_COLUMNS`], so a
/// destination file written by an older Ferry gains them when opened.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS companies (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    source_object TEXT NOT NULL,
    source_id TEXT NOT NULL,
    name TEXT NOT NULL,
    website TEXT,
    industry TEXT,
    phone TEXT,
    employee_count INTEGER,
    annual_revenue NUMERIC,
    description TEXT,
    created_at TEXT,
    updated_at TEXT,
    parent_company_id INTEGER REFERENCES companies (id),
    billing_address TEXT,
    shipping_address TEXT,
    UNIQUE (tenant, source_object, source_id)
);
CREATE TABLE IF NOT EXISTS contacts (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    source_object TEXT NOT NULL,
    source_id TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    job_title TEXT,
    created_at TEXT,
    updated_at TEXT,
    company_id INTEGER REFERENCES companies (id),
    mailing_address TEXT,
    UNIQUE (tenant, source_object, source_id)
);
CREATE TABLE IF NOT EXISTS custom_field_definitions (
    tenant TEXT NOT NULL,
    entity TEXT NOT NULL,
    name TEXT NOT NULL,
    label TEXT NOT NULL,
    field_type TEXT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (tenant, entity, name)
);
CREATE TABLE IF NOT EXISTS custom_field_values (
    entity TEXT NOT NULL,
    record_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (entity, record_id, name)
);
";

fn table(entity: EntityKind) -> &'static str {
    match entity {
        EntityKind::Company => "companies",
        EntityKind::Contact => "contacts",
    }
}

/// The embedded destination: the reference CRM in an SQLite file.
#[derive(Clone)]
pub struct SqliteDestination {
    db: Db,
}

impl std::fmt::Debug for SqliteDestination {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SqliteDestination")
    }
}

impl SqliteDestination {
    pub fn open(path: &Path) -> Result<Self, EmbeddedError> {
        let db = Db::open(path, SCHEMA)?;
        db.add_missing_columns(ADDED_COLUMNS)?;
        Ok(Self { db })
    }

    /// Records of one entity a tenant has.
    pub async fn count(&self, tenant: &TenantId, entity: EntityKind) -> Result<u64, PortError> {
        let tenant = tenant.to_string();
        self.db
            .call("counting destination records", move |connection| {
                let sql = format!("SELECT COUNT(*) FROM {} WHERE tenant = ?1", table(entity));
                let count: i64 = connection.query_row(&sql, [tenant], |row| row.get(0))?;
                Ok(u64::try_from(count).unwrap_or(0))
            })
            .await
    }
}

/// (table, column, type) added to tables after they first shipped.
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("companies", "billing_address", "TEXT"),
    ("companies", "shipping_address", "TEXT"),
    ("contacts", "mailing_address", "TEXT"),
];

fn sql_value(value: &Value) -> SqlValue {
    match value {
        Value::Null => SqlValue::Null,
        Value::Bool(flag) => SqlValue::Integer(i64::from(*flag)),
        Value::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(integer), _) => SqlValue::Integer(integer),
            (None, Some(float)) => SqlValue::Real(float),
            (None, None) => SqlValue::Text(number.to_string()),
        },
        Value::String(text) => SqlValue::Text(text.clone()),
        other => SqlValue::Text(other.to_string()),
    }
}

/// Checks a record against the entity's schema, so a bad map or a missing custom field
/// definition rejects that record with a reason instead of failing the batch.
fn check_record(
    entity: EntityKind,
    record: &DestinationRecord,
    defined: &BTreeSet<String>,
) -> Result<(), String> {
    for field in record.fields.keys() {
        if !entity.standard_fields().contains(&field.as_str()) {
            return Err(format!("{entity} has no field {field}"));
        }
    }
    for link in record.links.keys() {
        if !entity.links().iter().any(|(name, _)| name == link) {
            return Err(format!("{entity} has no link {link}"));
        }
    }
    for field in record.custom_fields.keys() {
        if !defined.contains(field) {
            return Err(format!("custom field {entity}.{field} is not defined"));
        }
    }
    for required in entity.required_fields() {
        match record.fields.get(*required) {
            None | Some(Value::Null) => return Err(format!("{entity}.{required} is required")),
            Some(Value::String(text)) if text.trim().is_empty() => {
                return Err(format!("{entity}.{required} is required"));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The statements of one entity's upsert, built once per batch rather than once per record.
struct UpsertStatements {
    select: String,
    update: String,
    insert: String,
}

impl UpsertStatements {
    fn for_entity(entity: EntityKind) -> Self {
        let table = table(entity);
        // Every standard column and every link is written, so a value cleared in Salesforce
        // is cleared here too; a link not yet resolvable is written empty and patched at
        // finalize.
        let columns: Vec<String> = entity
            .standard_fields()
            .iter()
            .map(|field| (*field).to_owned())
            .chain(entity.links().iter().map(|(link, _)| format!("{link}_id")))
            .collect();
        let assignments: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(index, column)| format!("{column} = ?{}", index + 2))
            .collect();
        let placeholders: Vec<String> = (4..columns.len() + 4)
            .map(|index| format!("?{index}"))
            .collect();
        Self {
            select: format!(
                "SELECT id FROM {table} WHERE tenant = ?1 AND source_object = ?2 AND source_id = ?3"
            ),
            update: format!(
                "UPDATE {table} SET {} WHERE id = ?1",
                assignments.join(", ")
            ),
            insert: format!(
                "INSERT INTO {table} (tenant, source_object, source_id, {}) VALUES (?1, ?2, ?3, {})",
                columns.join(", "),
                placeholders.join(", ")
            ),
        }
    }
}

fn upsert_one(
    transaction: &Transaction<'_>,
    statements: &UpsertStatements,
    tenant: &str,
    entity: EntityKind,
    record: &DestinationRecord,
) -> Result<UpsertOutcome, EmbeddedError> {
    let existing: Option<i64> = transaction
        .prepare_cached(&statements.select)?
        .query_row(
            params![tenant, record.source_object, record.source_id.as_str()],
            |row| row.get(0),
        )
        .optional()?;
    // Values in the column order of `UpsertStatements`: standard fields, then links.
    let mut values: Vec<SqlValue> = Vec::new();
    for field in entity.standard_fields() {
        values.push(record.fields.get(*field).map_or(SqlValue::Null, sql_value));
    }
    for (link, _) in entity.links() {
        values.push(match record.links.get(*link) {
            Some(id) => id
                .as_str()
                .parse::<i64>()
                .map(SqlValue::Integer)
                .map_err(|_| {
                    EmbeddedError::Invalid(format!(
                        "link {link} points to {id}, not a destination id"
                    ))
                })?,
            None => SqlValue::Null,
        });
    }
    let id = match existing {
        Some(id) => {
            let mut all = vec![SqlValue::Integer(id)];
            all.extend(values);
            transaction
                .prepare_cached(&statements.update)?
                .execute(params_from_iter(all))?;
            id
        }
        None => {
            let mut all = vec![
                SqlValue::Text(tenant.to_owned()),
                SqlValue::Text(record.source_object.clone()),
                SqlValue::Text(record.source_id.to_string()),
            ];
            all.extend(values);
            transaction
                .prepare_cached(&statements.insert)?
                .execute(params_from_iter(all))?;
            transaction.last_insert_rowid()
        }
    };
    for (name, value) in &record.custom_fields {
        if value.is_null() {
            transaction
                .prepare_cached("DELETE FROM custom_field_values WHERE entity = ?1 AND record_id = ?2 AND name = ?3")?
                .execute(params![entity.as_str(), id, name])?;
        } else {
            transaction
                .prepare_cached(
                    "INSERT INTO custom_field_values (entity, record_id, name, value) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (entity, record_id, name) DO UPDATE SET value = excluded.value",
                )?
                .execute(params![entity.as_str(), id, name, value.to_string()])?;
        }
    }
    let destination_id = DestinationId::new(id.to_string());
    Ok(if existing.is_some() {
        UpsertOutcome::Updated(destination_id)
    } else {
        UpsertOutcome::Created(destination_id)
    })
}

#[async_trait]
impl Destination for SqliteDestination {
    async fn ensure_custom_fields(
        &self,
        tenant: &TenantId,
        definitions: &[CustomFieldDefinition],
    ) -> Result<(), PortError> {
        let tenant = tenant.to_string();
        let mut rows = Vec::new();
        for definition in definitions {
            let body = serde_json::to_string(definition).map_err(|error| {
                EmbeddedError::Json(error).into_port_error("defining custom fields")
            })?;
            rows.push((definition.clone(), body));
        }
        self.db
            .call("defining custom fields", move |connection| {
                let transaction = connection.transaction()?;
                for (definition, body) in &rows {
                    transaction.execute(
                        "INSERT INTO custom_field_definitions (tenant, entity, name, label, field_type, definition)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                         ON CONFLICT (tenant, entity, name) DO UPDATE SET
                           label = excluded.label, field_type = excluded.field_type, definition = excluded.definition",
                        params![
                            tenant,
                            definition.entity.as_str(),
                            definition.name,
                            definition.label,
                            definition.field_type.name(),
                            body
                        ],
                    )?;
                }
                transaction.commit()?;
                Ok(())
            })
            .await
    }

    async fn upsert(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        records: &[DestinationRecord],
    ) -> Result<Vec<UpsertOutcome>, PortError> {
        let tenant = tenant.to_string();
        let records = records.to_vec();
        self.db
            .call("upserting records", move |connection| {
                let transaction = connection.transaction()?;
                let defined: BTreeSet<String> = {
                    let mut statement = transaction
                        .prepare_cached("SELECT name FROM custom_field_definitions WHERE tenant = ?1 AND entity = ?2")?;
                    let names = statement.query_map(params![tenant, entity.as_str()], |row| row.get(0))?;
                    names.collect::<Result<_, _>>()?
                };
                let statements = UpsertStatements::for_entity(entity);
                let mut outcomes = Vec::with_capacity(records.len());
                for record in &records {
                    if let Err(reason) = check_record(entity, record, &defined) {
                        outcomes.push(UpsertOutcome::Rejected { reason });
                        continue;
                    }
                    outcomes.push(upsert_one(&transaction, &statements, &tenant, entity, record)?);
                }
                transaction.commit()?;
                Ok(outcomes)
            })
            .await
    }

    async fn patch_links(
        &self,
        tenant: &TenantId,
        entity: EntityKind,
        patches: &[LinkPatch],
    ) -> Result<Vec<Result<(), String>>, PortError> {
        let tenant = tenant.to_string();
        let patches = patches.to_vec();
        self.db
            .call("patching links", move |connection| {
                let transaction = connection.transaction()?;
                let mut results = Vec::with_capacity(patches.len());
                for patch in &patches {
                    let Some((_, target_entity)) =
                        entity.links().iter().find(|(name, _)| *name == patch.link)
                    else {
                        results.push(Err(format!("{entity} has no link {}", patch.link)));
                        continue;
                    };
                    let (Ok(record), Ok(target)) = (
                        patch.record.as_str().parse::<i64>(),
                        patch.target.as_str().parse::<i64>(),
                    ) else {
                        results.push(Err(format!(
                            "{} or {} is not a destination id",
                            patch.record, patch.target
                        )));
                        continue;
                    };
                    let target_exists: Option<i64> = transaction
                        .prepare_cached(&format!(
                            "SELECT id FROM {} WHERE id = ?1 AND tenant = ?2",
                            table(*target_entity)
                        ))?
                        .query_row(params![target, tenant], |row| row.get(0))
                        .optional()?;
                    if target_exists.is_none() {
                        results.push(Err(format!("{target_entity} {target} does not exist")));
                        continue;
                    }
                    let changed = transaction
                        .prepare_cached(&format!(
                            "UPDATE {} SET {}_id = ?1 WHERE id = ?2 AND tenant = ?3",
                            table(entity),
                            patch.link
                        ))?
                        .execute(params![target, record, tenant])?;
                    results.push(if changed == 1 {
                        Ok(())
                    } else {
                        Err(format!("{entity} {record} does not exist"))
                    });
                }
                transaction.commit()?;
                Ok(results)
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_destination_file_from_an_older_ferry_gains_the_new_columns_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("destination.db");
        {
            let old = rusqlite::Connection::open(&path).unwrap();
            old.execute_batch(
                "CREATE TABLE companies (id INTEGER PRIMARY KEY, tenant TEXT NOT NULL,
                   source_object TEXT NOT NULL, source_id TEXT NOT NULL, name TEXT NOT NULL,
                   website TEXT, industry TEXT, phone TEXT, employee_count INTEGER,
                   annual_revenue NUMERIC, description TEXT, created_at TEXT, updated_at TEXT,
                   parent_company_id INTEGER REFERENCES companies (id),
                   UNIQUE (tenant, source_object, source_id));
                 INSERT INTO companies (tenant, source_object, source_id, name)
                   VALUES ('t', 'Account', '001000000000001AAA', 'Acme');",
            )
            .unwrap();
        }
        SqliteDestination::open(&path).unwrap();
        // Opening twice is harmless.
        SqliteDestination::open(&path).unwrap();
        let connection = rusqlite::Connection::open(&path).unwrap();
        let (name, address): (String, Option<String>) = connection
            .query_row("SELECT name, billing_address FROM companies", [], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .unwrap();
        assert_eq!((name.as_str(), address), ("Acme", None));
        connection
            .query_row("SELECT mailing_address FROM contacts LIMIT 1", [], |_| {
                Ok(())
            })
            .optional()
            .unwrap();
    }
}
