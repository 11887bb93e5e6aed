//! Properties of the replica split, the HPA split and policy names.

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use std::collections::BTreeMap;
use tranche::render::hpa::{split_bounds, Bounds};
use tranche::render::naming::{is_dns1123_label, MAX_LEN};
use tranche::render::split::webster;
use tranche::render::PolicyName;

/// 1–12 clusters with weights 0–1000 (some zero, sometimes all zero).
fn weights() -> impl Strategy<Value = BTreeMap<String, u64>> {
    prop::collection::btree_map("[a-z]{1,6}", 0u64..1000, 1..12)
}

proptest! {
    #![proptest_config(ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct("tests/proptest-regressions/render_props.txt"))),
        ..ProptestConfig::default()
    })]

    #[test]
    fn split_sums_to_the_total(w in weights(), total in 0u64..5000) {
        let split = webster(total, &w);
        prop_assert_eq!(split.values().sum::<u64>(), total);
        prop_assert_eq!(split.keys().collect::<Vec<_>>(), w.keys().collect::<Vec<_>>());
    }

    #[test]
    fn split_is_monotone_in_the_total(w in weights(), total in 0u64..2000) {
        let now = webster(total, &w);
        let next = webster(total + 1, &w);
        let grown: Vec<&String> = now.keys().filter(|c| next[*c] != now[*c]).collect();
        prop_assert_eq!(grown.len(), 1, "exactly one cluster gets the extra replica");
        for (c, n) in &now {
            prop_assert!(next[c] >= *n, "{} lost a replica: {} → {}", c, n, next[c]);
        }
    }

    #[test]
    fn zero_weights_get_nothing_while_others_weigh(w in weights(), total in 0u64..500) {
        let split = webster(total, &w);
        if w.values().any(|v| *v > 0) {
            for (c, weight) in &w {
                if *weight == 0 {
                    prop_assert_eq!(split[c], 0);
                }
            }
        }
    }

    #[test]
    fn hpa_min_never_exceeds_max(w in weights(), max in 1u64..300, min_frac in 0u64..=100) {
        let min = max * min_frac / 100;
        let split = split_bounds(Bounds { min, max }, &w);
        for (c, b) in &split {
            prop_assert!(b.min >= 1 && b.min <= b.max, "{}: {:?}", c, b);
        }
        prop_assert_eq!(split.values().map(|b| b.max).sum::<u64>(), max);
    }

    #[test]
    fn policy_names_are_short_valid_and_stable(app in ".{0,40}", kind in "[A-Za-z]{1,30}", name in ".{0,80}") {
        for p in [PolicyName::for_workload(&app, &kind, &name), PolicyName::for_object(&app, &name), PolicyName::for_app(&app)] {
            prop_assert!(p.as_str().len() <= MAX_LEN, "{}", p);
            prop_assert!(is_dns1123_label(p.as_str()), "{}", p);
        }
        prop_assert_eq!(PolicyName::for_workload(&app, &kind, &name), PolicyName::for_workload(&app, &kind, &name));
    }

    #[test]
    fn distinct_raw_inputs_give_distinct_names(a in "[a-zA-Z0-9._-]{0,80}", b in "[a-zA-Z0-9._-]{0,80}") {
        prop_assume!(a != b);
        prop_assert_ne!(PolicyName::from_raw(&a), PolicyName::from_raw(&b));
    }

    #[test]
    fn near_miss_inputs_give_distinct_names(base in "[a-z0-9]{1,70}", i in 0usize..70) {
        // Inputs that sanitize to the same text must still differ.
        let i = i.min(base.len() - 1);
        let mut upper = base.clone();
        upper.replace_range(i..=i, &base[i..=i].to_ascii_uppercase());
        let dotted = format!("{base}.");
        let names = [PolicyName::from_raw(&base), PolicyName::from_raw(&dotted)];
        prop_assert_ne!(&names[0], &names[1]);
        if upper != base {
            prop_assert_ne!(PolicyName::from_raw(&upper), PolicyName::from_raw(&base));
        }
    }
}
