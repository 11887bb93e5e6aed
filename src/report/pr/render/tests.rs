//! The comment's markdown against a golden file,
//! `tests/golden/pr-comment/*.md` (`TRANCHE_BLESS=1` rewrites them).

use super::*;
use crate::outcome::RolloutOutcome;
use crate::report::pr::view::ClusterView;
use std::path::PathBuf;

fn golden(name: &str, got: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/pr-comment")
        .join(name);
    if std::env::var_os("TRANCHE_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (TRANCHE_BLESS=1 writes it)", path.display()));
    assert_eq!(
        got,
        want,
        "{} differs (TRANCHE_BLESS=1 rewrites it)",
        path.display()
    );
}

fn plan() -> PlanView {
    let long: String = (0..20)
        .map(|i| format!("+  key{i}: value{i}\n"))
        .collect::<String>();
    PlanView {
        batches: vec![vec!["a".into()], vec!["b".into(), "c".into()]],
        approvals: vec![2],
        gates: vec![
            "health: every changed workload healthy within 30s, then 0s of bake time".into(),
            "on failure: every touched cluster is rolled back".into(),
        ],
        clusters: vec![
            ClusterView {
                name: "a".into(),
                changes: vec![
                    ChangeView {
                        action: Action::Update,
                        object: "Deployment shop/web".into(),
                        app: "shop".into(),
                        diff: Some(
                            "--- live\n+++ desired\n@@ -1,2 +1,2 @@\n-  image: web:1.0.0\n+  image: web:2.0.0\n"
                                .into(),
                        ),
                        reason: None,
                    },
                    ChangeView {
                        action: Action::Create,
                        object: "Secret shop/db".into(),
                        app: "shop".into(),
                        diff: Some(
                            "--- live\n+++ desired\n@@ -0,0 +1,2 @@\n+data:\n+  password: '***'\n"
                                .into(),
                        ),
                        reason: None,
                    },
                ],
            },
            ClusterView {
                name: "b".into(),
                changes: vec![
                    ChangeView {
                        action: Action::Create,
                        object: "ConfigMap shop/big".into(),
                        app: "shop".into(),
                        diff: Some(format!("--- live\n+++ desired\n{long}")),
                        reason: None,
                    },
                    ChangeView {
                        action: Action::Forbidden,
                        object: "ClusterRole admin".into(),
                        app: "shop".into(),
                        diff: None,
                        reason: Some("kind ClusterRole is not allowed | for app shop".into()),
                    },
                ],
            },
        ],
        unplanned: vec![("c".into(), "connection refused".into())],
        weights: vec![
            "app shop: weights by free capacity (AvailableReplicas)".into(),
            "  a: 8 replicas (available 32)".into(),
        ],
    }
}

#[test]
fn the_plan_comment_matches_its_golden_file() {
    let c = PullComment {
        head: "0123456789abcdef0123456789abcdef01234567".into(),
        preview: Preview::Planned(plan()),
        progress: None,
    };
    let got = render(&c);
    assert!(got.starts_with(MARKER));
    assert!(got.contains("<details><summary>diff (22 lines)</summary>"));
    golden("plan.md", &got);
}

#[test]
fn the_progress_after_the_merge_matches_its_golden_file() {
    let mut p = RolloutProgress::new("89abcdef0123456789abcdef0123456789abcdef");
    p.batches = vec![
        (vec!["a".into()], BatchState::Healthy),
        (
            vec!["b".into(), "c".into()],
            BatchState::Failed("batch 2 aborted by alice via a comment on #3".into()),
        ),
    ];
    p.rolled_back = vec!["a".into()];
    p.outcome = Some((
        RolloutOutcome::RolledBack,
        "rolled back: batch 2 aborted by alice via a comment on #3".into(),
    ));
    let c = PullComment {
        head: "0123456789abcdef0123456789abcdef01234567".into(),
        preview: Preview::Planned(plan()),
        progress: Some(p),
    };
    golden("progress.md", &render(&c));
}

#[test]
fn an_invalid_commit_lists_every_problem() {
    let c = PullComment {
        head: "0123456789abcdef0123456789abcdef01234567".into(),
        preview: Preview::Invalid(vec![
            ProblemView::text(
                "apps/shop/placement.yaml[doc 0]: spec.clusterAfinity: unknown field `clusterAfinity`",
            ),
            ProblemView::text("clusters/b.yaml[doc 0]: metadata.name: must equal the file name"),
            ProblemView {
                at: Some("apps/web/placement.yaml:14".into()),
                text: "spec.weight: must be ≥ 0".into(),
            },
        ]),
        progress: None,
    };
    golden("invalid.md", &render(&c));
}

#[test]
fn a_huge_plan_stays_under_the_forge_limit() {
    let mut p = plan();
    let big: String = (0..150)
        .map(|i| format!("+  k{i}: {}\n", "v".repeat(60)))
        .collect();
    p.clusters = (0..100)
        .map(|i| ClusterView {
            name: format!("c{i}"),
            changes: vec![ChangeView {
                action: Action::Create,
                object: "ConfigMap shop/big".into(),
                app: "shop".into(),
                diff: Some(big.clone()),
                reason: None,
            }],
        })
        .collect();
    let c = PullComment {
        head: "0123".into(),
        preview: Preview::Planned(p),
        progress: None,
    };
    let got = render(&c);
    assert!(got.chars().count() < 65_536, "{}", got.len());
    assert!(got.contains("more cluster(s), left out"), "{got}");
}

#[test]
fn backticks_in_a_diff_cannot_close_its_fence() {
    assert_eq!(fenced("a ``` b"), "````diff\na ``` b\n````");
    assert_eq!(fenced("plain"), "```diff\nplain\n```");
}
