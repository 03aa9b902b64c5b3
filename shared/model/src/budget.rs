//! The API budget: Salesforce allows an org a number of API calls per rolling 24 hours,
//! shared by every integration the customer runs. A migration must not spend it all.
//!
//! Before a run, [`check_run`] compares an estimate of the calls the plan needs
//! ([`estimate_calls`]) with what is left above the reserve; during a run, the extraction
//! step pauses when the reserve is reached ([`BudgetPolicy::reserve_reached`]).

use crate::plan::Plan;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// API calls used in the last 24 hours and the org's daily limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiBudget {
    pub used: u64,
    pub limit: u64,
}

impl ApiBudget {
    pub fn remaining(&self) -> u64 {
        self.limit.saturating_sub(self.used)
    }
}

/// How much of the daily limit a run leaves to the customer's other integrations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetPolicy {
    /// Percent of the daily limit kept in reserve, 0 to 100.
    pub reserve_percent: u8,
    /// How long to pause when the reserve is reached before looking again (the budget is
    /// read afresh each time, so a raised limit is seen within one pause).
    pub pause: Duration,
}

impl Default for BudgetPolicy {
    fn default() -> Self {
        Self {
            reserve_percent: 20,
            pause: Duration::from_secs(60),
        }
    }
}

impl BudgetPolicy {
    /// Calls kept in reserve out of `limit`.
    pub fn reserve(&self, limit: u64) -> u64 {
        limit.saturating_mul(u64::from(self.reserve_percent.min(100))) / 100
    }

    /// Calls the run may still make.
    pub fn available(&self, budget: ApiBudget) -> u64 {
        budget
            .limit
            .saturating_sub(self.reserve(budget.limit))
            .saturating_sub(budget.used)
    }

    /// Whether the run must pause: the next call would eat into the reserve.
    pub fn reserve_reached(&self, budget: ApiBudget) -> bool {
        budget.limit > 0 && self.available(budget) == 0
    }
}

/// What the estimate of a run's API calls is made of, for the plan and for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CallEstimate {
    pub discovery: u64,
    pub extraction: u64,
}

impl CallEstimate {
    pub fn total(&self) -> u64 {
        self.discovery + self.extraction
    }
}

/// Records per REST query page when the org does not say otherwise.
const REST_PAGE: u64 = 2_000;
/// Calls a Bulk job costs besides its result pages: create, a few polls, and slack.
const BULK_OVERHEAD: u64 = 6;

/// Estimates the calls a run of `plan` makes: one per REST page or Bulk result page, plus
/// each Bulk job's overhead, plus one per record whose binary field (a file's body) is
/// fetched on its own. Discovery has been paid already when the plan exists, so only the
/// describes a fresh discovery would repeat are counted.
pub fn estimate_calls(plan: &Plan, bulk_threshold: u64, chunk_records: usize) -> CallEstimate {
    let bulk_page = (chunk_records.max(1)) as u64;
    let extraction = plan
        .objects
        .iter()
        .map(|object| {
            let pages = if object.size_hint() >= bulk_threshold {
                BULK_OVERHEAD + object.in_salesforce.div_ceil(bulk_page).max(1)
            } else {
                object.in_salesforce.div_ceil(REST_PAGE).max(1)
            };
            let blobs = if object.blob.is_some() {
                object.in_salesforce
            } else {
                0
            };
            pages + blobs
        })
        .sum();
    CallEstimate {
        discovery: 3 + plan.objects.len() as u64,
        extraction,
    }
}

/// Why a run may not start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the run needs about {needed} API calls but only {available} are left today above the {reserve_percent}% reserve \
     ({used} of {limit} used); start it later, lower the reserve, or select fewer objects"
)]
pub struct BudgetError {
    pub needed: u64,
    pub available: u64,
    pub used: u64,
    pub limit: u64,
    pub reserve_percent: u8,
}

/// Refuses a run whose estimate exceeds what is left above the reserve.
pub fn check_run(budget: ApiBudget, needed: u64, policy: &BudgetPolicy) -> Result<(), BudgetError> {
    let available = policy.available(budget);
    if needed > available {
        return Err(BudgetError {
            needed,
            available,
            used: budget.used,
            limit: budget.limit,
            reserve_percent: policy.reserve_percent,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn budget(used: u64, limit: u64) -> ApiBudget {
        ApiBudget { used, limit }
    }

    #[test]
    fn the_reserve_is_kept_for_other_integrations() {
        let policy = BudgetPolicy::default();
        assert_eq!(policy.reserve(15_000), 3_000);
        assert_eq!(policy.available(budget(2_000, 15_000)), 10_000);
        assert!(!policy.reserve_reached(budget(11_999, 15_000)));
        assert!(policy.reserve_reached(budget(12_000, 15_000)));
        assert!(policy.reserve_reached(budget(15_001, 15_000)));
        assert!(check_run(budget(2_000, 15_000), 10_000, &policy).is_ok());
        let refused = check_run(budget(2_000, 15_000), 10_001, &policy);
        assert_eq!(
            refused.map_err(|e| e.to_string()).err().unwrap_or_default(),
            "the run needs about 10001 API calls but only 10000 are left today above the 20% reserve (2000 of 15000 used); start it later, lower the reserve, or select fewer objects"
        );
    }

    #[test]
    fn no_reserve_and_an_unknown_limit_never_pause() {
        let none = BudgetPolicy {
            reserve_percent: 0,
            ..BudgetPolicy::default()
        };
        assert!(!none.reserve_reached(budget(14_999, 15_000)));
        assert!(!BudgetPolicy::default().reserve_reached(budget(0, 0)));
    }
}
