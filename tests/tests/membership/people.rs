//! People: round trip, input rules, erasure and what an erased person can no longer do.

use super::*;

on_both_backends!(
    person_round_trip_and_list_by_organization,
    person_bad_input_names_the_field,
    erase_person_clears_personal_data_and_keeps_history,
    erased_person_is_read_only,
    erased_person_contact_fields_cannot_be_updated,
    erased_person_cannot_take_on_roles,
    erase_requires_a_reason,
);

async fn person_round_trip_and_list_by_organization(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let adr = create_org(&mut c, org("RO", "ADR")).await;
    let vinnova = create_org(&mut c, org("SE", "Vinnova")).await;

    let sent = pb::Person {
        organization: adr.name.clone(),
        display_name: "Ana Popescu".into(),
        email: "ana.popescu@adr.gov.ro".into(),
        phone: "+40 21 123 4567".into(),
        language_codes: vec!["ro".into(), "en".into()],
        ..Default::default()
    };
    let ana = try_create_person(&mut c, sent.clone(), "")
        .await
        .accepted("CreatePerson");
    assert!(ana.name.starts_with("people/"));
    assert_eq!(ana.organization, adr.name);
    assert_eq!(ana.display_name, sent.display_name);
    assert_eq!(ana.email, sent.email);
    assert_eq!(ana.phone, sent.phone);
    assert_eq!(ana.language_codes, sent.language_codes);
    assert_eq!(ana.erase_time, None);
    assert!(ana.create_time.is_some() && !ana.etag.is_empty());
    assert_eq!(get_person(&mut c, &ana.name).await, ana);

    let ion = create_person(&mut c, &adr.name, "Ion Ionescu").await;
    let eva = create_person(&mut c, &vinnova.name, "Eva Andersson").await;

    let at_adr = format!(r#"organization = "{}""#, adr.name);
    assert_eq!(
        set(&person_names(&mut c, &at_adr).await),
        set(&[&ana.name, &ion.name])
    );
    let at_vinnova = format!(r#"organization = "{}""#, vinnova.name);
    assert_eq!(
        person_names(&mut c, &at_vinnova).await,
        vec![eva.name.clone()]
    );
    assert_eq!(
        person_names(&mut c, "popescu").await,
        vec![ana.name.clone()]
    );

    let updated = c
        .update_person(pb::UpdatePersonRequest {
            person: Some(pb::Person {
                organization: vinnova.name.clone(),
                etag: ana.etag.clone(),
                ..ana.clone()
            }),
            update_mask: mask(&["organization"]),
        })
        .await
        .accepted("UpdatePerson moves Ana to Vinnova");
    assert_eq!(updated.organization, vinnova.name);
    assert_eq!(updated.email, ana.email);
    assert_ne!(updated.etag, ana.etag);
    let status = c
        .update_person(pb::UpdatePersonRequest {
            person: Some(ana.clone()),
            update_mask: mask(&["phone"]),
        })
        .await
        .refused("UpdatePerson with a stale etag");
    assert_code(&status, Code::Aborted);
    let status = c
        .update_person(pb::UpdatePersonRequest {
            person: Some(pb::Person {
                organization: "organizations/does-not-exist".into(),
                etag: String::new(),
                ..updated.clone()
            }),
            update_mask: mask(&["organization"]),
        })
        .await
        .refused("UpdatePerson to an organisation that does not exist");
    assert_invalid(&status, "person.organization");
    let status = c
        .update_person(pb::UpdatePersonRequest {
            person: Some(pb::Person {
                email: "nope".into(),
                ..updated.clone()
            }),
            update_mask: mask(&["email"]),
        })
        .await
        .refused("UpdatePerson to a bad e-mail");
    assert_invalid(&status, "person.email");
    assert_eq!(get_person(&mut c, &ana.name).await, updated);
    server.stop().await;
}

async fn person_bad_input_names_the_field(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    type Mutate = fn(&mut pb::Person);
    let cases: &[(&str, Mutate, &str)] = &[
        (
            "bad e-mail",
            |p| p.email = "ana at adr".into(),
            "person.email",
        ),
        (
            "e-mail without domain dot",
            |p| p.email = "ana@adr".into(),
            "person.email",
        ),
        (
            "national phone",
            |p| p.phone = "021 123 4567".into(),
            "person.phone",
        ),
        (
            "phone with letters",
            |p| p.phone = "+40 CALL ME".into(),
            "person.phone",
        ),
        (
            "bad language",
            |p| p.language_codes = vec!["ro".into(), "not a tag".into()],
            "person.language_codes[1]",
        ),
        (
            "no name",
            |p| p.display_name = " ".into(),
            "person.display_name",
        ),
        (
            "no organisation",
            |p| p.organization.clear(),
            "person.organization",
        ),
        (
            "organisation of another collection",
            |p| p.organization = "groups/x".into(),
            "person.organization",
        ),
        (
            "organisation that does not exist",
            |p| p.organization = "organizations/does-not-exist".into(),
            "person.organization",
        ),
    ];
    for (case, mutate, field) in cases {
        let mut p = person(&o.name, "Ana Popescu");
        mutate(&mut p);
        let status = try_create_person(&mut c, p, "")
            .await
            .refused(&format!("CreatePerson with {case}"));
        assert_invalid(&status, field);
    }
    let status = c
        .create_person(pb::CreatePersonRequest::default())
        .await
        .refused("CreatePerson without person");
    assert_invalid(&status, "person");
    assert_eq!(person_names(&mut c, "").await, Vec::<String>::new());
    server.stop().await;
}

async fn erase_person_clears_personal_data_and_keeps_history(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let mut sent = person(&o.name, "Ana Popescu");
    sent.email = "ana@adr.gov.ro".into();
    sent.phone = "+40 21 123 4567".into();
    sent.language_codes = vec!["ro".into()];
    let ana = try_create_person(&mut c, sent, "")
        .await
        .accepted("CreatePerson");
    let other = create_person(&mut c, &o.name, "Ion Ionescu").await;
    let m = apply(&mut c, &network.name, &ana.name, pb::Role::Member).await;
    let m = decide(&mut c, &m, Move::Approve(Some(date(2025, 1, 1)))).await;
    let ncp = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "RO").await;
    let ncp = assign(&mut c, &ncp.name, &ana.name, Some(date(2025, 1, 1)))
        .await
        .accepted("Ana holds the RO post");

    let erased = erase(&mut c, &ana.name, "GDPR request 2026/17")
        .await
        .accepted("ErasePerson");
    assert_eq!(erased.name, ana.name, "the resource name stays");
    assert_eq!(erased.organization, o.name);
    assert_eq!(erased.display_name, "");
    assert_eq!(erased.email, "");
    assert_eq!(erased.phone, "");
    assert!(erased.language_codes.is_empty());
    assert!(erased.erase_time.is_some(), "erase_time is set");
    assert_ne!(erased.etag, ana.etag);
    assert_eq!(get_person(&mut c, &ana.name).await, erased);

    let kept = get_membership(&mut c, &m.name).await;
    assert_eq!(
        kept, m,
        "memberships that point at the person are untouched"
    );
    assert_eq!(kept.member, ana.name);
    assert_eq!(kept.history.len(), 2);
    let post = get_post(&mut c, &ncp.name).await;
    assert_eq!(
        post, ncp,
        "post holdings that point at the person are untouched"
    );
    assert_eq!(post.holder, ana.name);

    assert_eq!(
        person_names(&mut c, "erased = true").await,
        vec![ana.name.clone()]
    );
    assert_eq!(
        person_names(&mut c, "erased = false").await,
        vec![other.name.clone()]
    );
    assert_eq!(
        person_names(&mut c, "popescu").await,
        Vec::<String>::new(),
        "an erased name is no longer searchable"
    );
    server.stop().await;
}

async fn erased_person_is_read_only(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    let ana = create_person(&mut c, &o.name, "Ana Popescu").await;
    let erased = erase(&mut c, &ana.name, "GDPR request 17")
        .await
        .accepted("ErasePerson");

    for paths in [&["display_name"][..], &["*"]] {
        let status = update_erased(&mut c, &erased, paths).await;
        assert_reason(&status, Code::FailedPrecondition, "PERSON_ERASED");
    }
    let status = erase(&mut c, &ana.name, "second request")
        .await
        .refused("second ErasePerson");
    assert_reason(&status, Code::FailedPrecondition, "PERSON_ERASED");
    assert_eq!(
        get_person(&mut c, &ana.name).await,
        erased,
        "the first erasure stays as it was"
    );
    server.stop().await;
}

/// Tries to write personal data back onto an erased person.
async fn update_erased(c: &mut Client, erased: &pb::Person, paths: &[&str]) -> Status {
    let status = c
        .update_person(pb::UpdatePersonRequest {
            person: Some(pb::Person {
                display_name: "Ana Popescu".into(),
                email: "ana@adr.gov.ro".into(),
                phone: "+40 21 123 4567".into(),
                language_codes: vec!["ro".into()],
                ..erased.clone()
            }),
            update_mask: mask(paths),
        })
        .await
        .refused(&format!("UpdatePerson {paths:?} of an erased person"));
    assert_eq!(
        status.code(),
        Code::FailedPrecondition,
        "UpdatePerson {paths:?} of an erased person: {}",
        status.message()
    );
    status
}

/// An erased person cannot be updated, whichever field the mask names (the
/// refusal must not depend on the erased display name failing validation).
async fn erased_person_contact_fields_cannot_be_updated(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    let ana = create_person(&mut c, &o.name, "Ana Popescu").await;
    let erased = erase(&mut c, &ana.name, "GDPR request 17")
        .await
        .accepted("ErasePerson");
    for paths in [
        &["email"][..],
        &["phone"],
        &["language_codes"],
        &["organization"],
    ] {
        let status = update_erased(&mut c, &erased, paths).await;
        assert_reason(&status, Code::FailedPrecondition, "PERSON_ERASED");
    }
    assert_eq!(get_person(&mut c, &ana.name).await, erased);
    server.stop().await;
}

async fn erased_person_cannot_take_on_roles(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    let network = create_group(&mut c, pb::GroupKind::Network, "Network").await;
    let ana = create_person(&mut c, &o.name, "Ana Popescu").await;
    erase(&mut c, &ana.name, "GDPR request 17")
        .await
        .accepted("ErasePerson");

    let ncp = create_post(&mut c, &network.name, pb::Role::NationalContactPoint, "RO").await;
    let status = assign(&mut c, &ncp.name, &ana.name, None)
        .await
        .refused("assigning an erased person");
    assert_reason(&status, Code::FailedPrecondition, "PERSON_ERASED");
    assert_eq!(get_post(&mut c, &ncp.name).await, ncp, "post still vacant");

    let status = try_apply(
        &mut c,
        membership(&network.name, &ana.name, pb::Role::Member),
        "people/applicant",
        "",
    )
    .await
    .refused("an erased person applying");
    assert_reason(&status, Code::FailedPrecondition, "PERSON_ERASED");
    assert_eq!(membership_names(&mut c, "").await, Vec::<String>::new());
    server.stop().await;
}

async fn erase_requires_a_reason(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "ADR")).await;
    let ana = create_person(&mut c, &o.name, "Ana Popescu").await;
    for reason in ["", "   "] {
        let status = erase(&mut c, &ana.name, reason)
            .await
            .refused(&format!("ErasePerson with reason {reason:?}"));
        assert_invalid(&status, "reason");
    }
    let status = erase(&mut c, "organizations/x", "GDPR")
        .await
        .refused("ErasePerson of a non-person name");
    assert_invalid(&status, "name");
    assert_eq!(get_person(&mut c, &ana.name).await, ana, "not erased");
    server.stop().await;
}
