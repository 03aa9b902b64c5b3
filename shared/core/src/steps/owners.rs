//! Salesforce users become owners by email, never by creation: the destination's users are
//! people with logins, which a migration has no business inventing. A matched user's ID-map
//! entry points at the destination user, so every record's `OwnerId` resolves to it.
//! Unmatched users are listed for reconciliation; the records they own go to the run's
//! default owner when it names one, and otherwise land without an owner, reported.

use super::StepError;
use super::load::LoadPorts;
use crate::transform::{TransformedRecord, content_hash};
use ferry_model::plan::{ObjectPlan, Plan};
use ferry_model::ports::{DestinationUser, IdMapEntry};
use ferry_model::report::{IssueKind, RecordIssue};
use std::collections::HashMap;

/// Users matched in a chunk, and the ID-map entries of every user with an owner.
pub(super) struct MatchedOwners {
    /// Users a destination user matched: counted as updated, since the destination record
    /// exists and now stands for the Salesforce user.
    pub matched: u64,
    pub entries: Vec<IdMapEntry>,
}

/// Matches a chunk of users to the destination's users by email (ignoring case). An
/// unmatched user counts as skipped, with what happens to the records it owns.
pub(super) async fn match_owners(
    ports: &LoadPorts<'_>,
    plan: &Plan,
    object: &ObjectPlan,
    run: &ferry_model::ids::RunId,
    users: Vec<TransformedRecord>,
    issues: &mut Vec<RecordIssue>,
) -> Result<MatchedOwners, StepError> {
    let destination_users = ports
        .destination
        .users(&plan.tenant)
        .await
        .map_err(StepError::Destination)?;
    let by_email: HashMap<String, &DestinationUser> = destination_users
        .iter()
        .map(|user| (user.email.to_lowercase(), user))
        .collect();
    let default_owner = plan
        .default_owner
        .as_deref()
        .map(|email| (email, by_email.get(&email.to_lowercase()).copied()));
    let mut landed = MatchedOwners {
        matched: 0,
        entries: Vec::new(),
    };
    for user in users {
        let email = user
            .record
            .fields
            .get("email")
            .and_then(|value| value.as_str())
            .unwrap_or_default()
            .to_owned();
        let matched = by_email.get(&email.to_lowercase()).copied();
        let unmatched = if email.is_empty() {
            "the user has no email, so no destination user can match it".to_owned()
        } else {
            format!("no destination user has the email {email:?}")
        };
        let (owner, reason) = match (matched, default_owner) {
            (Some(owner), _) => {
                landed.matched += 1;
                (Some(owner), None)
            }
            (None, Some((default_email, Some(default)))) => (
                Some(default),
                Some(format!(
                    "{unmatched}; the records this user owns go to the default owner {default_email}"
                )),
            ),
            (None, Some((default_email, None))) => (
                None,
                Some(format!(
                    "{unmatched}, and the default owner {default_email} is not a destination user either; the records this user owns land without an owner"
                )),
            ),
            (None, None) => (
                None,
                Some(format!(
                    "{unmatched}; the records this user owns land without an owner (name a default owner to give them one)"
                )),
            ),
        };
        if let Some(reason) = reason {
            issues.push(RecordIssue {
                object: object.object.clone(),
                salesforce_id: Some(user.record.source_id.to_string()),
                field: Some("Email".to_owned()),
                kind: IssueKind::Skipped,
                reason,
            });
        }
        if let Some(owner) = owner {
            landed.entries.push(IdMapEntry {
                object: object.object.clone(),
                salesforce_id: user.record.source_id.clone(),
                destination_id: owner.id.clone(),
                run_id: run.clone(),
                content_hash: content_hash(&user),
            });
        }
    }
    Ok(landed)
}
