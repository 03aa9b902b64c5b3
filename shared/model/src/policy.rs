//! The validation policy a run's plan carries: the rules a transformed record is checked
//! against, and what each rule's finding does to its record. The checks themselves are in
//! `ferry_core::validate`; this is only the data, so the plan can hold it.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A validation rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A value every destination record must have is missing.
    MissingRequired,
    InvalidEmail,
    InvalidPhone,
    InvalidUrl,
    /// Longer than the destination field allows.
    TooLong,
    /// Not one of the destination picklist's values.
    UnknownPicklistValue,
    /// A link to a record that is neither migrated nor already in the destination (its
    /// parent was deleted, or not selected).
    OrphanLink,
}

impl Rule {
    pub const ALL: [Rule; 7] = [
        Rule::MissingRequired,
        Rule::InvalidEmail,
        Rule::InvalidPhone,
        Rule::InvalidUrl,
        Rule::TooLong,
        Rule::UnknownPicklistValue,
        Rule::OrphanLink,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Rule::MissingRequired => "missing_required",
            Rule::InvalidEmail => "invalid_email",
            Rule::InvalidPhone => "invalid_phone",
            Rule::InvalidUrl => "invalid_url",
            Rule::TooLong => "too_long",
            Rule::UnknownPicklistValue => "unknown_picklist_value",
            Rule::OrphanLink => "orphan_link",
        }
    }
}

/// What a finding does to its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The record is not loaded.
    SkipRecord,
    /// The record is loaded without the value (or link).
    DropValue,
    /// The record is loaded as it is; the finding is only reported.
    LoadAnyway,
}

/// The action of each rule. A missing required value always skips the record (the
/// destination cannot hold it) and an orphan link is always dropped from a record that
/// still loads; the other rules follow the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValidationPolicy {
    pub actions: BTreeMap<Rule, Action>,
}

impl Default for ValidationPolicy {
    fn default() -> Self {
        Self {
            actions: BTreeMap::from([
                (Rule::MissingRequired, Action::SkipRecord),
                (Rule::InvalidEmail, Action::DropValue),
                (Rule::InvalidPhone, Action::LoadAnyway),
                (Rule::InvalidUrl, Action::DropValue),
                (Rule::TooLong, Action::DropValue),
                (Rule::UnknownPicklistValue, Action::LoadAnyway),
                (Rule::OrphanLink, Action::DropValue),
            ]),
        }
    }
}

impl ValidationPolicy {
    pub fn action(&self, rule: Rule) -> Action {
        match rule {
            Rule::MissingRequired => return Action::SkipRecord,
            // A link whose target never lands is left empty and reported (the record itself
            // is loaded): the load step patches links after their targets land, so it
            // cannot know a target is missing before the whole run has loaded.
            Rule::OrphanLink => return Action::DropValue,
            _ => {}
        }
        self.actions
            .get(&rule)
            .copied()
            .unwrap_or(Action::LoadAnyway)
    }

    /// The default policy with `overrides`' actions (a policy file, or the API's
    /// `validation` selection). Setting a rule with a fixed action to another is refused, as
    /// it would be silently ignored; the error names the rule and its fixed action.
    pub fn with_overrides(overrides: &ValidationPolicy) -> Result<Self, String> {
        let mut policy = Self::default();
        for (&rule, &action) in &overrides.actions {
            let fixed = policy.action(rule);
            if matches!(rule, Rule::MissingRequired | Rule::OrphanLink) && action != fixed {
                return Err(format!(
                    "sets {} to {action:?}, but that rule always uses {fixed:?}",
                    rule.as_str()
                ));
            }
            policy.actions.insert(rule, action);
        }
        Ok(policy)
    }
}
