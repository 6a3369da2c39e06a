//! Unit tests of `compose`.

#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn names_are_checked() {
    assert!(check_name("initiatives/abc", "initiatives").is_ok());
    for bad in [
        "",
        "initiatives/",
        "initiatives/a/b",
        "organizations/a",
        "initiativesx/a",
    ] {
        let status = check_name(bad, "initiatives").unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{bad:?}");
        assert!(status.message().starts_with("name:"), "{bad:?}");
    }
}

#[test]
fn rollups_add_up() {
    let mut one = empty_evidence();
    one.assessment_count = 2;
    one.nesta_levels[3].count = 2;
    one.dac[0].ratings[4].count = 1;
    one.public_value_outcomes[0].count = 1;
    one.indicator_progress = Some(impact::ProgressCounts {
        total: 3,
        achieved: 3,
        ..Default::default()
    });
    let sum = add_evidence(add_evidence(empty_evidence(), &one), &one);
    assert_eq!(sum.assessment_count, 4);
    assert_eq!(sum.nesta_levels[3].count, 4);
    assert_eq!(sum.nesta_levels.len(), 6);
    assert_eq!(sum.dac[0].ratings[4].count, 2);
    assert_eq!(sum.public_value_outcomes[0].count, 2);
    assert_eq!(sum.indicator_progress.unwrap().achieved, 6);
}

#[test]
fn alternatives_are_quoted() {
    assert_eq!(
        any_of("holder", &["people/a".into(), "people/b".into()]),
        r#"(holder = "people/a" OR holder = "people/b")"#
    );
}
