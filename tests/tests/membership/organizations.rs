//! Organisations: create, read, the input rules, idempotent creates (of every
//! resource), unknown and malformed names, duplicate identifiers.

use super::*;

on_both_backends!(
    organization_round_trip,
    organization_bad_input_is_refused_and_nothing_stored,
    organization_every_violation_reported_at_once,
    create_organization_is_idempotent,
    create_person_group_membership_post_are_idempotent,
    get_unknown_is_not_found,
    malformed_names_are_invalid,
    duplicate_identifier_already_exists,
    concurrent_retries_create_one_organization,
);

async fn organization_round_trip(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let parent = create_org(&mut c, org("RO", "Guvernul României")).await;

    let sent = pb::Organization {
        display_names: vec![
            text("ro", "Secretariatul General al Guvernului"),
            text("en", "General Secretariat of the Government"),
        ],
        identifiers: vec![
            identifier("RO-CUI", "4267117"),
            identifier("WIKIDATA", "Q12345678"),
        ],
        kind: pb::OrganizationKind::Government as i32,
        government_level: pb::GovernmentLevel::Central as i32,
        country_code: "ro".into(),
        subdivision_code: "RO-CJ".into(),
        nuts_code: "RO113".into(),
        sector: pb::GovernmentFunction::GeneralPublicServices as i32,
        homepage_uri: "https://sgg.gov.ro/".into(),
        parent: parent.name.clone(),
        ..Default::default()
    };
    let created = create_org(&mut c, sent.clone()).await;

    let id = created
        .name
        .strip_prefix("organizations/")
        .expect("name is organizations/{id}");
    assert!(!id.is_empty());
    assert_ne!(created.name, parent.name);
    assert_eq!(created.display_names, sent.display_names);
    assert_eq!(created.identifiers, sent.identifiers);
    assert_eq!(created.kind, sent.kind);
    assert_eq!(created.government_level, sent.government_level);
    assert_eq!(
        created.country_code, "RO",
        "country code is normalised to upper case"
    );
    assert_eq!(created.subdivision_code, "RO-CJ");
    assert_eq!(created.nuts_code, "RO113");
    assert_eq!(created.sector, sent.sector);
    assert_eq!(created.homepage_uri, "https://sgg.gov.ro/");
    assert_eq!(created.parent, parent.name);
    assert!(!created.etag.is_empty(), "etag is set");
    let create_time = created.create_time.expect("create_time is set");
    assert!(create_time.seconds > 1_700_000_000, "create_time is now");
    assert_eq!(created.update_time, created.create_time);

    let read = get_org(&mut c, &created.name).await;
    assert_eq!(read, created, "Get returns what Create returned");
    server.stop().await;
}

async fn organization_bad_input_is_refused_and_nothing_stored(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    type Mutate = fn(&mut pb::Organization);
    let cases: &[(&str, Mutate, &str)] = &[
        (
            "unknown country",
            |o| o.country_code = "XX".into(),
            "organization.country_code",
        ),
        (
            "no country",
            |o| o.country_code.clear(),
            "organization.country_code",
        ),
        (
            "no names",
            |o| o.display_names.clear(),
            "organization.display_names",
        ),
        (
            "empty name",
            |o| o.display_names = vec![text("ro", "  ")],
            "organization.display_names[0].text",
        ),
        (
            "bad language",
            |o| o.display_names = vec![text("not a tag", "Nume")],
            "organization.display_names[0].language_code",
        ),
        (
            "duplicate language",
            |o| o.display_names = vec![text("ro", "Unu"), text("ro", "Doi")],
            "organization.display_names[1].language_code",
        ),
        (
            "subdivision of another country",
            |o| o.subdivision_code = "SE-O".into(),
            "organization.subdivision_code",
        ),
        (
            "unknown subdivision",
            |o| o.subdivision_code = "RO-ZZ".into(),
            "organization.subdivision_code",
        ),
        (
            "NUTS of another country",
            |o| o.nuts_code = "SE110".into(),
            "organization.nuts_code",
        ),
        (
            "malformed NUTS",
            |o| o.nuts_code = "R".into(),
            "organization.nuts_code",
        ),
        ("unknown kind number", |o| o.kind = 99, "organization.kind"),
        ("kind unspecified", |o| o.kind = 0, "organization.kind"),
        (
            "unknown government level number",
            |o| o.government_level = 42,
            "organization.government_level",
        ),
        (
            "unknown sector number",
            |o| o.sector = 77,
            "organization.sector",
        ),
        (
            "homepage not a URI",
            |o| o.homepage_uri = "not a uri".into(),
            "organization.homepage_uri",
        ),
        (
            "homepage not http(s)",
            |o| o.homepage_uri = "ftp://sgg.gov.ro".into(),
            "organization.homepage_uri",
        ),
        (
            "parent of another collection",
            |o| o.parent = "groups/abc".into(),
            "organization.parent",
        ),
        (
            "parent without id",
            |o| o.parent = "organizations/".into(),
            "organization.parent",
        ),
        (
            "parent that does not exist",
            |o| o.parent = "organizations/does-not-exist".into(),
            "organization.parent",
        ),
        (
            "duplicate identifier in one request",
            |o| o.identifiers = vec![identifier("RO-CUI", "1"), identifier("RO-CUI", "1")],
            "organization.identifiers[1]",
        ),
        (
            "empty identifier value",
            |o| o.identifiers = vec![identifier("RO-CUI", "")],
            "organization.identifiers[0].value",
        ),
    ];
    for (case, mutate, field) in cases {
        let mut o = org("RO", "Ministerul Cercetării");
        mutate(&mut o);
        let status = try_create_org(&mut c, o, "")
            .await
            .refused(&format!("CreateOrganization with {case}"));
        assert_invalid(&status, field);
    }

    let status = c
        .create_organization(pb::CreateOrganizationRequest {
            organization: None,
            request_id: String::new(),
        })
        .await
        .refused("CreateOrganization without organization");
    assert_invalid(&status, "organization");

    for request_id in ["has spaces".to_string(), "x".repeat(129)] {
        let status = try_create_org(&mut c, org("RO", "Ministerul"), &request_id)
            .await
            .refused("CreateOrganization with a bad request_id");
        assert_invalid(&status, "request_id");
    }

    assert_eq!(
        org_names(&mut c, "").await,
        Vec::<String>::new(),
        "nothing stored"
    );
    server.stop().await;
}

async fn organization_every_violation_reported_at_once(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = pb::Organization {
        display_names: vec![],
        kind: 0,
        country_code: "XX".into(),
        homepage_uri: "nope".into(),
        ..Default::default()
    };
    let status = try_create_org(&mut c, o, "")
        .await
        .refused("CreateOrganization with four mistakes");
    for field in [
        "organization.display_names",
        "organization.kind",
        "organization.country_code",
        "organization.homepage_uri",
    ] {
        assert_invalid(&status, field);
    }
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.reason, "INVALID_FIELD");
    assert_eq!(org_names(&mut c, "").await, Vec::<String>::new());
    server.stop().await;
}

async fn create_organization_is_idempotent(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let first = try_create_org(&mut c, org("RO", "Primăria Cluj-Napoca"), "req-1")
        .await
        .accepted("first create");
    let retry = try_create_org(&mut c, org("RO", "Primăria Cluj-Napoca"), "req-1")
        .await
        .accepted("retried create");
    assert_eq!(retry, first, "a retry returns the first result");
    assert_eq!(org_names(&mut c, "").await, vec![first.name.clone()]);

    // The key identifies the request: a retry returns the first result even
    // if the body differs.
    let changed = try_create_org(&mut c, org("SE", "Vinnova"), "req-1")
        .await
        .accepted("retry with another body");
    assert_eq!(changed.name, first.name);
    assert_eq!(changed.country_code, "RO");

    let other = try_create_org(&mut c, org("RO", "Primăria Cluj-Napoca"), "req-2")
        .await
        .accepted("create with another key");
    assert_ne!(other.name, first.name);
    let none = create_org(&mut c, org("RO", "Primăria Cluj-Napoca")).await;
    assert_eq!(
        set(&org_names(&mut c, "").await),
        set(&[&first.name, &other.name, &none.name])
    );
    server.stop().await;
}

async fn create_person_group_membership_post_are_idempotent(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;

    let p1 = try_create_person(&mut c, person(&o.name, "Ana Popescu"), "person-1")
        .await
        .accepted("CreatePerson");
    let p2 = try_create_person(&mut c, person(&o.name, "Ana Popescu"), "person-1")
        .await
        .accepted("CreatePerson retry");
    assert_eq!(p1, p2);
    let p3 = try_create_person(&mut c, person(&o.name, "Ana Popescu"), "person-2")
        .await
        .accepted("CreatePerson other key");
    assert_ne!(p3.name, p1.name);
    assert_eq!(person_names(&mut c, "").await.len(), 2);

    let g1 = try_create_group(&mut c, group(pb::GroupKind::Network, "Network"), "group-1")
        .await
        .accepted("CreateGroup");
    let g2 = try_create_group(&mut c, group(pb::GroupKind::Network, "Network"), "group-1")
        .await
        .accepted("CreateGroup retry");
    assert_eq!(g1, g2);
    assert_eq!(group_names(&mut c, "").await, vec![g1.name.clone()]);

    let m = membership(&g1.name, &o.name, pb::Role::Member);
    let m1 = try_apply(&mut c, m.clone(), "people/applicant", "membership-1")
        .await
        .accepted("CreateMembership");
    // Without the key this would be a second open membership (ALREADY_EXISTS).
    let m2 = try_apply(&mut c, m, "people/applicant", "membership-1")
        .await
        .accepted("CreateMembership retry");
    assert_eq!(m1, m2);
    assert_eq!(m2.history.len(), 1, "the retry records no second event");
    assert_eq!(membership_names(&mut c, "").await, vec![m1.name.clone()]);

    let post_ro = post(&g1.name, pb::Role::NationalContactPoint, "RO");
    let s1 = try_create_post(&mut c, post_ro.clone(), "post-1")
        .await
        .accepted("CreatePost");
    let s2 = try_create_post(&mut c, post_ro, "post-1")
        .await
        .accepted("CreatePost retry");
    assert_eq!(s1, s2);
    let s3 = try_create_post(
        &mut c,
        post(&g1.name, pb::Role::NationalContactPoint, "SE"),
        "post-2",
    )
    .await
    .accepted("CreatePost other key");
    assert_eq!(
        set(&post_names(&mut c, "").await),
        set(&[&s1.name, &s3.name])
    );
    server.stop().await;
}

async fn get_unknown_is_not_found(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let missing = "0190c3e0-0000-7000-8000-000000000000";
    let status = c
        .get_organization(pb::GetOrganizationRequest {
            name: format!("organizations/{missing}"),
        })
        .await
        .refused("GetOrganization");
    assert_reason(&status, Code::NotFound, "NOT_FOUND");
    let status = c
        .get_person(pb::GetPersonRequest {
            name: format!("people/{missing}"),
        })
        .await
        .refused("GetPerson");
    assert_code(&status, Code::NotFound);
    let status = c
        .get_group(pb::GetGroupRequest {
            name: format!("groups/{missing}"),
        })
        .await
        .refused("GetGroup");
    assert_code(&status, Code::NotFound);
    let status = c
        .get_membership(pb::GetMembershipRequest {
            name: format!("memberships/{missing}"),
        })
        .await
        .refused("GetMembership");
    assert_code(&status, Code::NotFound);
    let status = c
        .get_post(pb::GetPostRequest {
            name: format!("posts/{missing}"),
        })
        .await
        .refused("GetPost");
    assert_code(&status, Code::NotFound);

    // Methods that act on a resource report NOT_FOUND too.
    let status = erase(&mut c, &format!("people/{missing}"), "request 17")
        .await
        .refused("ErasePerson");
    assert_code(&status, Code::NotFound);
    let status = decide_with(
        &mut c,
        &format!("memberships/{missing}"),
        "",
        "people/x",
        Move::Approve(None),
    )
    .await
    .refused("ApproveMembership");
    assert_code(&status, Code::NotFound);
    let status = assign(&mut c, &format!("posts/{missing}"), "people/p", None)
        .await
        .refused("AssignPostHolder");
    assert_code(&status, Code::NotFound);
    server.stop().await;
}

async fn malformed_names_are_invalid(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    for name in [
        "",
        "organizations/",
        "groups/x",
        "organizations/a/b",
        "organizations/x y",
    ] {
        let status = c
            .get_organization(pb::GetOrganizationRequest { name: name.into() })
            .await
            .refused(&format!("GetOrganization {name:?}"));
        assert_invalid(&status, "name");
    }
    let status = c
        .get_person(pb::GetPersonRequest {
            name: "organizations/x".into(),
        })
        .await
        .refused("GetPerson with an organisation's name");
    assert_invalid(&status, "name");
    let status = c
        .get_group(pb::GetGroupRequest {
            name: "groups/".into(),
        })
        .await
        .refused("GetGroup");
    assert_invalid(&status, "name");
    let status = c
        .get_membership(pb::GetMembershipRequest {
            name: "posts/x".into(),
        })
        .await
        .refused("GetMembership");
    assert_invalid(&status, "name");
    let status = c
        .get_post(pb::GetPostRequest {
            name: "memberships/x".into(),
        })
        .await
        .refused("GetPost");
    assert_invalid(&status, "name");
    let status = update_org(&mut c, org("RO", "X"), mask(&["parent"]))
        .await
        .refused("UpdateOrganization without a name");
    assert_invalid(&status, "organization.name");
    server.stop().await;
}

async fn duplicate_identifier_already_exists(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let mut first = org("RO", "Ministerul Cercetării, Inovării și Digitalizării");
    first.identifiers = vec![identifier("RO-CUI", "4266324")];
    let first = create_org(&mut c, first).await;

    let mut clash = org("RO", "Ministerul Cercetării");
    clash.identifiers = vec![identifier("RO-CUI", "4266324")];
    let status = try_create_org(&mut c, clash, "")
        .await
        .refused("a second organisation with the same identifier");
    assert_reason(&status, Code::AlreadyExists, "ALREADY_EXISTS");
    assert_eq!(org_names(&mut c, "").await, vec![first.name.clone()]);

    let mut other_scheme = org("RO", "Alt registru");
    other_scheme.identifiers = vec![identifier("IATI", "4266324")];
    let second = create_org(&mut c, other_scheme).await;

    let mut steal = second.clone();
    steal.identifiers.push(identifier("RO-CUI", "4266324"));
    let status = update_org(&mut c, steal, mask(&["identifiers"]))
        .await
        .refused("an update taking another organisation's identifier");
    assert_code(&status, Code::AlreadyExists);
    assert_eq!(
        get_org(&mut c, &second.name).await,
        second,
        "update rolled back"
    );

    // An organisation may keep its own identifiers on update.
    let mut keep = first.clone();
    keep.homepage_uri = "https://www.research.gov.ro".into();
    update_org(&mut c, keep, mask(&["*"]))
        .await
        .accepted("update keeping its own identifier");
    server.stop().await;
}

/// A client that retries a create while the first attempt is still running
/// gets the one organisation, never a duplicate or an error.
async fn concurrent_retries_create_one_organization(backend: Backend) {
    let (server, c) = start(&backend).await;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let mut c = c.clone();
        tasks.spawn(async move {
            try_create_org(&mut c, org("RO", "Primăria Iași"), "retried-key")
                .await
                .accepted("concurrent retry")
                .name
        });
    }
    let names: BTreeSet<String> = tasks.join_all().await.into_iter().collect();
    assert_eq!(names.len(), 1, "one organisation for one key: {names:?}");
    let mut c = c;
    assert_eq!(set(&org_names(&mut c, "").await), names);
    server.stop().await;
}
