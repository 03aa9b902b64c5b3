//! Validation of transformed records before they are loaded (and in the dry run): each
//! finding names the object, the Salesforce id, the field and the reason, and the policy of
//! its rule decides what happens to the record: skip it, drop the value, or load it anyway.
//! Whatever the policy, the finding is reported: nothing is dropped silently.
//!
//! Pure: no IO. Orphan links need to know which records exist, so they are checked by the
//! caller with [`orphan_finding`].

use crate::transform::TransformedRecord;
use ferry_model::model::FieldType;
use ferry_model::plan::{DestinationFieldType, ObjectPlan};
use ferry_model::policy::{Action, Rule, ValidationPolicy};
use ferry_model::report::{IssueKind, RecordIssue};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One validation finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub object: String,
    pub salesforce_id: String,
    pub field: String,
    pub rule: Rule,
    pub action: Action,
    pub reason: String,
}

impl Finding {
    /// The finding as a record issue of the run report.
    pub fn to_issue(&self) -> RecordIssue {
        RecordIssue {
            object: self.object.clone(),
            salesforce_id: Some(self.salesforce_id.clone()),
            field: Some(self.field.clone()),
            kind: match self.action {
                Action::SkipRecord => IssueKind::Skipped,
                Action::DropValue => IssueKind::ValueDropped,
                Action::LoadAnyway => IssueKind::Warning,
            },
            reason: format!("{}: {}", self.rule.as_str(), self.reason),
        }
    }
}

/// Whether a record goes on after validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Load,
    Skip,
}

/// What the destination allows for one of an object's fields, from the plan.
struct Constraint<'a> {
    source: &'a str,
    source_type: &'a FieldType,
    destination: Option<&'a DestinationFieldType>,
}

/// Checks one transformed record's values (not its links) and applies the policy: dropped
/// values are set to null. Returns the findings and whether the record is loaded.
pub(crate) fn validate_record(
    object: &ObjectPlan,
    record: &mut TransformedRecord,
    policy: &ValidationPolicy,
) -> (Vec<Finding>, Verdict) {
    let id = record.record.source_id.to_string();
    let mut findings = Vec::new();
    let mut verdict = Verdict::Load;
    let mut check = |target: &str,
                     constraint: Constraint<'_>,
                     value: &mut Value,
                     findings: &mut Vec<Finding>| {
        let Some((rule, reason)) = check_value(&constraint, value) else {
            return;
        };
        let action = policy.action(rule);
        match action {
            Action::SkipRecord => verdict = Verdict::Skip,
            Action::DropValue => *value = Value::Null,
            Action::LoadAnyway => {}
        }
        findings.push(Finding {
            object: object.object.clone(),
            salesforce_id: id.clone(),
            field: constraint.source.to_owned(),
            rule,
            action,
            reason: format!("{reason} (destination field {target})"),
        });
    };
    for mapping in &object.fields {
        if let Some(value) = record.record.fields.get_mut(&mapping.target) {
            let constraint = Constraint {
                source: &mapping.source,
                source_type: &mapping.source_type,
                destination: None,
            };
            check(&mapping.target, constraint, value, &mut findings);
        }
    }
    for definition in &object.custom_fields {
        if let Some(value) = record.record.custom_fields.get_mut(&definition.name) {
            let constraint = Constraint {
                source: &definition.source,
                source_type: &definition.source_type,
                destination: Some(&definition.field_type),
            };
            check(&definition.name, constraint, value, &mut findings);
        }
    }
    (findings, verdict)
}

fn check_value(constraint: &Constraint<'_>, value: &Value) -> Option<(Rule, String)> {
    if let (Value::Array(selected), Some(DestinationFieldType::MultiPicklist { values })) =
        (value, constraint.destination)
    {
        return selected
            .iter()
            .filter_map(Value::as_str)
            .find(|part| !values.is_empty() && !values.iter().any(|allowed| allowed == part))
            .map(|part| {
                (
                    Rule::UnknownPicklistValue,
                    format!("{part:?} is not one of the picklist's values"),
                )
            });
    }
    let Value::String(text) = value else {
        return None;
    };
    if text.is_empty() {
        return None;
    }
    let is_email = matches!(constraint.source_type, FieldType::Email)
        || matches!(constraint.destination, Some(DestinationFieldType::Email));
    let is_phone = matches!(constraint.source_type, FieldType::Phone)
        || matches!(constraint.destination, Some(DestinationFieldType::Phone));
    let is_url = matches!(constraint.source_type, FieldType::Url)
        || matches!(constraint.destination, Some(DestinationFieldType::Url));
    if is_email && !valid_email(text) {
        return Some((
            Rule::InvalidEmail,
            format!("{text:?} is not an email address"),
        ));
    }
    if is_phone && !valid_phone(text) {
        return Some((
            Rule::InvalidPhone,
            format!("{text:?} is not a phone number"),
        ));
    }
    if is_url && !valid_url(text) {
        return Some((Rule::InvalidUrl, format!("{text:?} is not a web address")));
    }
    match constraint.destination {
        Some(
            DestinationFieldType::Text { max_length }
            | DestinationFieldType::LongText { max_length },
        ) if *max_length > 0 && text.chars().count() > *max_length as usize => Some((
            Rule::TooLong,
            format!(
                "{} characters, more than the {max_length} allowed",
                text.chars().count()
            ),
        )),
        Some(DestinationFieldType::Picklist { values }) if !values.is_empty() => {
            (!values.iter().any(|allowed| allowed == text)).then(|| {
                (
                    Rule::UnknownPicklistValue,
                    format!("{text:?} is not one of the picklist's values"),
                )
            })
        }
        Some(DestinationFieldType::MultiPicklist { values }) if !values.is_empty() => text
            .split(';')
            .find(|part| !values.iter().any(|allowed| allowed == part))
            .map(|part| {
                (
                    Rule::UnknownPicklistValue,
                    format!("{part:?} is not one of the picklist's values"),
                )
            }),
        _ => None,
    }
}

/// A pragmatic address check: one `@`, a non-empty local part without spaces, and a domain
/// with a dot between non-empty labels.
pub fn valid_email(text: &str) -> bool {
    let text = text.trim();
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !text.chars().any(char::is_whitespace)
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// 7 to 15 digits (E.164 allows 15), with the usual separators and an optional leading `+`
/// and extension.
pub(crate) fn valid_phone(text: &str) -> bool {
    let main = text
        .split(['x', 'X'])
        .next()
        .unwrap_or_default()
        .trim_end_matches([' ', '.'])
        .trim_end_matches("ext")
        .trim();
    let digits = main.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits)
        && main
            .chars()
            .enumerate()
            .all(|(i, c)| c.is_ascii_digit() || " -.()/".contains(c) || (c == '+' && i == 0))
}

/// An http(s) URL with a host, or a bare domain (`acme.com/path`), as Salesforce's URL
/// fields accept.
pub(crate) fn valid_url(text: &str) -> bool {
    let text = text.trim();
    if text.chars().any(char::is_whitespace) {
        return false;
    }
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .unwrap_or(text);
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(host, port)| {
        if port.chars().all(|c| c.is_ascii_digit()) {
            host
        } else {
            ""
        }
    });
    host.contains('.')
        && host.split('.').all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        })
}

/// The finding for a link whose target is neither migrated nor in the destination.
pub(crate) fn orphan_finding(
    object: &str,
    salesforce_id: &str,
    field: &str,
    target_object: &str,
    target: &str,
    policy: &ValidationPolicy,
) -> Finding {
    Finding {
        object: object.to_owned(),
        salesforce_id: salesforce_id.to_owned(),
        field: field.to_owned(),
        rule: Rule::OrphanLink,
        action: policy.action(Rule::OrphanLink),
        reason: format!("{target_object} {target} is not migrated (deleted, or not selected)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_phones_and_urls() {
        for good in [
            "a@b.co",
            "first.last+tag@mail.example.net",
            "ÉLODIE@exemple.fr",
        ] {
            assert!(valid_email(good), "{good}");
        }
        for bad in [
            "a.b.example.com",
            "a.b@@example",
            "@x.com",
            "a@b",
            "a b@c.com",
            "a@.com",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        for good in [
            "+1 (415) 555-0100",
            "020 7946 0958",
            "415.555.0100 x12",
            "+44 20 7946 0958",
        ] {
            assert!(valid_phone(good), "{good}");
        }
        for bad in ["555", "call me", "12345678901234567", "++1 415 555 0100"] {
            assert!(!valid_phone(bad), "{bad}");
        }
        for good in [
            "https://acme.com",
            "http://acme.co.uk/about?x=1",
            "www.acme.com",
            "acme.io:8080/x",
        ] {
            assert!(valid_url(good), "{good}");
        }
        for bad in ["not a url", "https://", "acme", "http://acme .com"] {
            assert!(!valid_url(bad), "{bad}");
        }
    }

    #[test]
    fn missing_required_always_skips_and_other_rules_follow_the_policy() {
        let mut policy = ValidationPolicy::default();
        policy
            .actions
            .insert(Rule::MissingRequired, Action::LoadAnyway);
        assert_eq!(policy.action(Rule::MissingRequired), Action::SkipRecord);
        assert_eq!(policy.action(Rule::InvalidEmail), Action::DropValue);
        let parsed: ValidationPolicy =
            serde_json::from_str(r#"{"actions": {"invalid_email": "skip_record"}}"#)
                .unwrap_or_default();
        assert_eq!(parsed.action(Rule::InvalidEmail), Action::SkipRecord);
        assert_eq!(parsed.action(Rule::TooLong), Action::LoadAnyway);
    }

    #[test]
    fn values_are_checked_against_the_destination_field() {
        let (five, four) = (
            DestinationFieldType::Text { max_length: 5 },
            DestinationFieldType::Text { max_length: 4 },
        );
        let text = |destination| Constraint {
            source: "Notes__c",
            source_type: &FieldType::String,
            destination: Some(destination),
        };
        assert!(check_value(&text(&five), &Value::from("héllo")).is_none());
        let long = check_value(&text(&four), &Value::from("héllo"));
        assert_eq!(long.map(|(rule, _)| rule), Some(Rule::TooLong));
        let values = vec!["Gold".to_owned(), "Silver".to_owned()];
        let pick = Constraint {
            source: "Tier__c",
            source_type: &FieldType::Picklist,
            destination: Some(&DestinationFieldType::MultiPicklist { values }),
        };
        assert!(check_value(&pick, &Value::from("Gold;Silver")).is_none());
        assert!(check_value(&pick, &serde_json::json!(["Gold", "Silver"])).is_none());
        let listed = check_value(&pick, &serde_json::json!(["Gold", "Copper"]));
        assert!(listed.is_some_and(
            |(rule, reason)| rule == Rule::UnknownPicklistValue && reason.contains("Copper")
        ));
        let unknown = check_value(&pick, &Value::from("Gold;Platinum"));
        assert!(unknown.is_some_and(
            |(rule, reason)| rule == Rule::UnknownPicklistValue && reason.contains("Platinum")
        ));
        let email = Constraint {
            source: "Email",
            source_type: &FieldType::Email,
            destination: None,
        };
        assert!(check_value(&email, &Value::Null).is_none());
        assert!(check_value(&email, &Value::from("")).is_none());
        assert_eq!(
            check_value(&email, &Value::from("x.y.example.com")).map(|(rule, _)| rule),
            Some(Rule::InvalidEmail)
        );
    }
}
