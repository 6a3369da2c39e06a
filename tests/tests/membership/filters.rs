//! List filters (AIP-160): by field, free text, by membership, and bad filters
//! of every list method.

use super::*;

on_both_backends!(
    organization_filters_by_field,
    free_text_search_folds_case_and_romanian_diacritics,
    organization_filters_by_membership,
    bad_filters_are_invalid,
);

async fn organization_filters_by_field(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let mut gov = org("RO", "Guvernul României");
    gov.government_level = pb::GovernmentLevel::Central as i32;
    gov.sector = pb::GovernmentFunction::GeneralPublicServices as i32;
    let gov = create_org(&mut c, gov).await;
    let mut city = org("RO", "Primăria Municipiului Cluj-Napoca");
    city.kind = pb::OrganizationKind::LocalGovernment as i32;
    city.government_level = pb::GovernmentLevel::Local as i32;
    city.parent = gov.name.clone();
    let city = create_org(&mut c, city).await;
    let mut uni = org("SE", "Kungliga Tekniska högskolan");
    uni.kind = pb::OrganizationKind::AcademicTrainingResearch as i32;
    uni.sector = pb::GovernmentFunction::Education as i32;
    let uni = create_org(&mut c, uni).await;
    let mut fi = org("FI", "Valtiovarainministeriö");
    fi.government_level = pb::GovernmentLevel::Central as i32;
    let fi = create_org(&mut c, fi).await;

    let cases: Vec<(&str, Vec<&String>)> = vec![
        ("", vec![&gov.name, &city.name, &uni.name, &fi.name]),
        ("kind = GOVERNMENT", vec![&gov.name, &fi.name]),
        ("kind = LOCAL_GOVERNMENT", vec![&city.name]),
        (r#"country_code = "RO""#, vec![&gov.name, &city.name]),
        (r#"country_code = "ro""#, vec![&gov.name, &city.name]),
        ("government_level = CENTRAL", vec![&gov.name, &fi.name]),
        ("government_level = LOCAL", vec![&city.name]),
        ("sector = EDUCATION", vec![&uni.name]),
        (
            "(kind = GOVERNMENT OR kind = LOCAL_GOVERNMENT)",
            vec![&gov.name, &city.name, &fi.name],
        ),
        (
            r#"country_code = "RO" AND kind = GOVERNMENT"#,
            vec![&gov.name],
        ),
        (
            r#"kind = GOVERNMENT AND (country_code = "FI" OR country_code = "SE")"#,
            vec![&fi.name],
        ),
        ("kind = MULTILATERAL", vec![]),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            set(&org_names(&mut c, filter).await),
            set(&expected),
            "filter {filter:?}"
        );
    }
    let by_parent = format!(r#"parent = "{}""#, gov.name);
    assert_eq!(org_names(&mut c, &by_parent).await, vec![city.name.clone()]);
    server.stop().await;
}

async fn free_text_search_folds_case_and_romanian_diacritics(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    // Escapes keep the two look-alike letters apart in the source:
    // correct Romanian writes t and s with a comma below (U+021B, U+0219),
    // legacy encodings with a cedilla (U+0163, U+015F).
    let mut comma = org(
        "RO",
        "Secretariatul General al Guvernului \u{2014} Direc\u{021B}ia Digitalizare",
    );
    comma
        .display_names
        .push(text("en", "General Secretariat — Digital Directorate"));
    comma.identifiers = vec![identifier("RO-CUI", "4267117")];
    let comma = create_org(&mut c, comma).await;
    let cedilla = create_org(
        &mut c,
        org(
            "RO",
            "Direc\u{0163}ia General\u{0103} a Finan\u{0163}elor Publice Ploie\u{015F}ti",
        ),
    )
    .await;
    let other = create_org(&mut c, org("SE", "Vinnova")).await;

    let cases: Vec<(&str, Vec<&String>)> = vec![
        ("secretariatul", vec![&comma.name]),
        ("SECRETARIATUL", vec![&comma.name]),
        ("digital", vec![&comma.name]),
        ("direc\u{0163}ia", vec![&comma.name, &cedilla.name]), // cedilla query
        ("direc\u{021B}ia", vec![&comma.name, &cedilla.name]), // comma-below query
        ("DIREC\u{0162}IA", vec![&comma.name, &cedilla.name]), // capital cedilla
        ("DIREC\u{021A}IA", vec![&comma.name, &cedilla.name]), // capital comma
        ("finan\u{021B}elor", vec![&cedilla.name]),
        ("ploie\u{0219}ti", vec![&cedilla.name]),
        ("4267117", vec![&comma.name]), // identifiers are searched too
        ("vinnova", vec![&other.name]),
        (r#""general secretariat""#, vec![&comma.name]),
        ("direc\u{0163}ia digitalizare", vec![&comma.name]), // every term must match
        ("nothing-like-this", vec![]),
        (r#""%""#, vec![]), // LIKE wildcards are literal
        (r#""_""#, vec![]),
        (
            "direc\u{021B}ia AND country_code = \"RO\"",
            vec![&comma.name, &cedilla.name],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            set(&org_names(&mut c, filter).await),
            set(&expected),
            "search {filter:?}"
        );
    }
    server.stop().await;
}

async fn organization_filters_by_membership(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let task_force = create_group(&mut c, pb::GroupKind::TaskForce, "Task force").await;
    let active = create_org(&mut c, org("RO", "Active member")).await;
    let applied = create_org(&mut c, org("SE", "Applicant")).await;
    let steering = create_org(&mut c, org("FI", "Task force member")).await;
    let _outsider = create_org(&mut c, org("FI", "Outsider")).await;

    let m = apply(&mut c, &network.name, &active.name, pb::Role::Member).await;
    decide(&mut c, &m, Move::Approve(None)).await;
    apply(&mut c, &network.name, &applied.name, pb::Role::Member).await;
    let m = apply(
        &mut c,
        &task_force.name,
        &steering.name,
        pb::Role::TaskForceMember,
    )
    .await;
    decide(&mut c, &m, Move::Approve(None)).await;

    let in_network = format!(r#"group = "{}""#, network.name);
    let cases: Vec<(String, Vec<&String>)> = vec![
        (in_network.clone(), vec![&active.name, &applied.name]),
        (
            format!("{in_network} AND state = ACTIVE"),
            vec![&active.name],
        ),
        (
            format!("{in_network} AND state = APPLIED"),
            vec![&applied.name],
        ),
        ("state = ACTIVE".into(), vec![&active.name, &steering.name]),
        ("role = TASK_FORCE_MEMBER".into(), vec![&steering.name]),
        (format!("{in_network} AND role = TASK_FORCE_MEMBER"), vec![]),
        (
            format!("{in_network} AND state = ACTIVE AND kind = GOVERNMENT"),
            vec![&active.name],
        ),
        (
            format!(r#"{in_network} AND state = ACTIVE AND country_code = "SE""#),
            vec![],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            set(&org_names(&mut c, &filter).await),
            set(&expected),
            "filter {filter:?}"
        );
    }
    server.stop().await;
}

async fn bad_filters_are_invalid(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    create_org(&mut c, org("RO", "Guvernul României")).await;
    for filter in [
        "colour = RED",
        "kind = SPACESHIP",
        "government_level = GALACTIC",
        "state = DORMANT",
        r#"country_code = "XX""#,
        r#"parent = "groups/x""#,
        "kind =",
        "(kind = GOVERNMENT",
        "kind = GOVERNMENT AND",
        r#""unterminated"#,
    ] {
        let status = list_orgs_page(&mut c, filter, 0, "")
            .await
            .refused(&format!("ListOrganizations {filter:?}"));
        assert_invalid(&status, "filter");
    }
    for (call, status) in [
        (
            "ListPeople erased = maybe",
            c.list_people(pb::ListPeopleRequest {
                filter: "erased = maybe".into(),
                ..Default::default()
            })
            .await
            .map(|r| r.map(|_| ())),
        ),
        (
            "ListGroups kind = GOVERNMENT",
            c.list_groups(pb::ListGroupsRequest {
                filter: "kind = GOVERNMENT".into(),
                ..Default::default()
            })
            .await
            .map(|r| r.map(|_| ())),
        ),
        (
            "ListMemberships free text",
            c.list_memberships(pb::ListMembershipsRequest {
                filter: "ana".into(),
                ..Default::default()
            })
            .await
            .map(|r| r.map(|_| ())),
        ),
        (
            "ListPosts unknown field",
            c.list_posts(pb::ListPostsRequest {
                filter: "holder_name = \"Ana\"".into(),
                ..Default::default()
            })
            .await
            .map(|r| r.map(|_| ())),
        ),
    ] {
        let status = status.refused(call);
        assert_invalid(&status, "filter");
    }
    server.stop().await;
}
