//! The generator is a pure function of (seed, object, index).

use ferry_simulator::org::{Org, split_counts};
use ferry_simulator::schema::Generated;

#[test]
fn same_seed_same_records_different_seed_different_records() {
    let a = Org::new(42, 5000);
    let b = Org::new(42, 5000);
    let c = Org::new(43, 5000);
    for kind in [Generated::User, Generated::Account, Generated::Contact] {
        let mut differs = 0;
        for i in 0..a.count(kind) {
            assert_eq!(a.record(kind, i), b.record(kind, i));
            if a.record(kind, i) != c.record(kind, i) {
                differs += 1;
            }
        }
        assert!(differs > 0, "{kind:?}");
        // Random access gives the same record as sequential generation.
        let last = a.count(kind) - 1;
        assert_eq!(Org::new(42, 5000).record(kind, last), a.record(kind, last));
    }
}

#[test]
fn counts_add_up_and_scale_to_a_million_without_materialising() {
    let org = Org::new(1, 1_000_000);
    let total: u64 = org.record_counts().values().sum();
    assert_eq!(total, 1_000_000);
    assert_eq!(split_counts(1_000_000), (20_000, 200_000, 780_000));
    // The last record of each object is built on demand, with ids still increasing.
    for kind in [Generated::User, Generated::Account, Generated::Contact] {
        let n = org.count(kind);
        assert!(org.id(kind, n - 2) < org.id(kind, n - 1));
        assert_eq!(org.index_of(kind, &org.id(kind, n - 1)), Some(n - 1));
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
