//! Behaviour tests through the public entry points: the pipeline on embedded adapters against
//! the simulated org, and the Salesforce client against the same org.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod activities;
mod bulk;
mod cases;
mod client;
mod content_files;
mod counts;
mod crash;
mod currency;
mod dryrun;
mod entities;
mod extract;
mod faults;
mod files;
mod generic;
mod http_destination;
mod knowledge;
mod load;
mod merge;
mod migration;
mod person_accounts;
mod pseudonymise;
mod queues;
mod runs;
mod since;
mod spot_check;
