//! Salesforce users become owners by email, never by creation: the destination's users are
//! people with logins, which a migration has no business inventing. A matched user's ID-map
//! entry points at the destination user, so every record's `OwnerId` resolves to it.
//! Unmatched users are listed for reconciliation; the records they own go to the run's
//! default owner when it names one, and otherwise land without an owner, reported.

use super::load::RecordDecision;
use crate::transform::{TransformedRecord, content_hash};
use ferry_model::ids::RunId;
use ferry_model::plan::ObjectPlan;
use ferry_model::ports::{DestinationUser, IdMapEntry};
use ferry_model::report::{IssueKind, RecordIssue};
use std::collections::HashMap;

/// The Salesforce user's `IsActive`, as the map lands it in the owner's `active` field.
pub(super) fn user_active(user: &TransformedRecord) -> Option<bool> {
    user.record
        .fields
        .get(ACTIVE_FIELD)
        .and_then(|value| value.as_bool())
}

/// The owner entity's field saying whether the person is still with the company.
pub(super) const ACTIVE_FIELD: &str = "active";

/// The destination's users by email (ignoring case), and the run's default owner among them.
pub(super) struct OwnerMatcher<'a> {
    by_email: HashMap<String, &'a DestinationUser>,
    /// The default owner's email, and the destination user it names, if any.
    default_owner: Option<(&'a str, Option<&'a DestinationUser>)>,
}

impl<'a> OwnerMatcher<'a> {
    pub(super) fn new(
        destination_users: &'a [DestinationUser],
        default_owner: Option<&'a str>,
    ) -> Self {
        let by_email: HashMap<String, &DestinationUser> = destination_users
            .iter()
            .map(|user| (user.email.to_lowercase(), user))
            .collect();
        let default_owner =
            default_owner.map(|email| (email, by_email.get(&email.to_lowercase()).copied()));
        Self {
            by_email,
            default_owner,
        }
    }

    /// Matches one user by email. A matched user counts as updated; an unmatched one as
    /// skipped, with what happens to the records it owns, and with an ID-map entry to the
    /// default owner when there is one.
    pub(super) fn decide(
        &self,
        object: &ObjectPlan,
        run: &RunId,
        user: &TransformedRecord,
    ) -> RecordDecision {
        if object.queue_to_default_owner {
            return self.decide_queue(object, run, user);
        }
        let email = user
            .record
            .fields
            .get("email")
            .and_then(|value| value.as_str())
            .unwrap_or_default();
        let entry = |owner: &DestinationUser| IdMapEntry {
            object: object.object.clone(),
            salesforce_id: user.record.source_id.clone(),
            destination_id: owner.id.clone(),
            run_id: run.clone(),
            content_hash: content_hash(user),
        };
        if let Some(owner) = self.by_email.get(&email.to_lowercase()) {
            return RecordDecision::MatchedUser {
                id_map_entry: entry(owner),
                active: user_active(user),
            };
        }
        let unmatched = if email.is_empty() {
            "the user has no email, so no destination user can match it".to_owned()
        } else {
            format!("no destination user has the email {email:?}")
        };
        // Salesforce keeps an inactive user's records with them: the report says the person
        // left, so whoever reconciles owners knows not to look for them.
        let unmatched = if user_active(user) == Some(false) {
            format!("inactive in Salesforce (the person left the company); {unmatched}")
        } else {
            unmatched
        };
        let (owner, reason) = match self.default_owner {
            Some((default_email, Some(default))) => (
                Some(default),
                format!(
                    "{unmatched}; the records this user owns go to the default owner {default_email}"
                ),
            ),
            Some((default_email, None)) => (
                None,
                format!(
                    "{unmatched}, and the default owner {default_email} is not a destination user either; the records this user owns land without an owner"
                ),
            ),
            None => (
                None,
                format!(
                    "{unmatched}; the records this user owns land without an owner (name a default owner to give them one)"
                ),
            ),
        };
        RecordDecision::Skipped {
            reason: RecordIssue {
                object: object.object.clone(),
                salesforce_id: Some(user.record.source_id.to_string()),
                field: Some("Email".to_owned()),
                kind: IssueKind::Skipped,
                reason,
            },
            id_map_entry: owner.map(entry),
        }
    }

    /// A queue whose records go to the default owner (`--queues default-owner`): never
    /// matched by its email (a shared mailbox, not a person), counted as skipped with where
    /// its records go, its ID-map entry pointing at the default owner when there is one.
    fn decide_queue(
        &self,
        object: &ObjectPlan,
        run: &RunId,
        queue: &TransformedRecord,
    ) -> RecordDecision {
        let name = queue
            .record
            .fields
            .get("name")
            .and_then(|value| value.as_str())
            .unwrap_or_default();
        let what = format!("queue {name:?} lands as no team (queues: default-owner)");
        let (owner, reason) = match self.default_owner {
            Some((email, Some(default))) => (
                Some(default),
                format!("{what}; the records it owns go to the default owner {email}"),
            ),
            Some((email, None)) => (
                None,
                format!(
                    "{what}, and the default owner {email} is not a destination user; the records it owns land without an owner"
                ),
            ),
            None => (
                None,
                format!(
                    "{what}, and no default owner is named; the records it owns land without an owner"
                ),
            ),
        };
        RecordDecision::Skipped {
            reason: RecordIssue {
                object: object.object.clone(),
                salesforce_id: Some(queue.record.source_id.to_string()),
                field: None,
                kind: IssueKind::Skipped,
                reason,
            },
            id_map_entry: owner.map(|owner| IdMapEntry {
                object: object.object.clone(),
                salesforce_id: queue.record.source_id.clone(),
                destination_id: owner.id.clone(),
                run_id: run.clone(),
                content_hash: content_hash(queue),
            }),
        }
    }
}
