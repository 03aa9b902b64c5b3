//! The generator is a pure function of (seed, object, index).

use ferry_simulator::org::{Org, split_counts};
use ferry_simulator::schema::Generated;

#[test]
fn same_seed_same_records_different_seed_different_records() {
    let a = Org::new(42, 5000);
    let b = Org::new(42, 5000);
    let c = Org::new(43, 5000);
    for kind in Generated::ALL {
        let mut differs = 0;
        for i in 0..a.count(kind) {
            assert_eq!(a.record(kind, i), b.record(kind, i), "{kind:?} {i}");
            if a.record(kind, i) != c.record(kind, i) {
                differs += 1;
            }
        }
        assert!(differs > 0, "{kind:?}");
        // Random access gives the same record as sequential generation.
        let last = a.count(kind) - 1;
        assert_eq!(Org::new(42, 5000).record(kind, last), a.record(kind, last));
        if let Some(blob) = a.blob(kind, last) {
            assert_eq!(
                a.blob_bytes(&blob, 0, blob.len),
                b.blob_bytes(&blob, 0, blob.len)
            );
        }
    }
}

#[test]
fn counts_add_up_and_scale_to_a_million_without_materialising() {
    let org = Org::new(1, 1_000_000);
    assert_eq!(org.scaled_total(), 1_000_000);
    let counts = split_counts(1_000_000);
    assert_eq!(counts[&Generated::User], 20_000);
    assert_eq!(counts[&Generated::Account], 100_000);
    assert_eq!(counts[&Generated::Task], 150_000);
    assert_eq!(counts[&Generated::Contact], 354_000);
    // Live and deleted records add up to the slots.
    for kind in Generated::ALL {
        assert_eq!(
            org.live_count(kind) + org.deleted_count(kind),
            org.count(kind),
            "{kind:?}"
        );
    }
    assert_eq!(org.deleted_count(Generated::Contact), 354_000 / 50);
    assert_eq!(org.deleted_count(Generated::User), 0);
    // The last record of each object is built on demand, with ids still increasing.
    for kind in Generated::ALL {
        let n = org.count(kind);
        // The Organization is one record.
        assert!(n < 2 || org.id(kind, n - 2) < org.id(kind, n - 1));
        assert_eq!(org.index_of(kind, &org.id(kind, n - 1)), Some(n - 1));
        assert_eq!(org.record(kind, n - 1).len(), org.record(kind, 0).len());
    }
}

#[test]
fn account_hierarchy_is_acyclic_with_children_before_parents() {
    let org = Org::new(5, 3000);
    let accounts = org.count(Generated::Account);
    let mut child_before_parent = false;
    let mut two_levels = false;
    for i in 0..accounts {
        let mut seen = vec![i];
        let mut cursor = i;
        while let Some(parent) = org.account_parent(cursor) {
            assert!(!seen.contains(&parent), "cycle through {i}");
            seen.push(parent);
            cursor = parent;
        }
        two_levels |= seen.len() >= 3;
        child_before_parent |= org.account_parent(i).is_some_and(|p| p > i);
    }
    assert!(two_levels && child_before_parent);
}
