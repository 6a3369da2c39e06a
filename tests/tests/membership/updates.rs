//! Updates (AIP-134): the mask, merging, etags, parent cycles, concurrent writers.

use super::*;

on_both_backends!(
    concurrent_updates_without_etag_lose_nothing,
    update_requires_a_known_mask,
    update_applies_only_masked_fields_and_star_means_all,
    update_with_stale_etag_is_aborted,
    update_refuses_parent_cycles,
);

async fn update_requires_a_known_mask(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "Ministerul Finanțelor")).await;
    let mut new = o.clone();
    new.homepage_uri = "https://mfinante.gov.ro".into();

    let status = update_org(&mut c, new.clone(), None)
        .await
        .refused("update without mask");
    assert_invalid(&status, "update_mask");
    let status = update_org(&mut c, new.clone(), mask(&[]))
        .await
        .refused("update with an empty mask");
    assert_invalid(&status, "update_mask");
    for path in ["name", "create_time", "etag", "no_such_field"] {
        let status = update_org(&mut c, new.clone(), mask(&["homepage_uri", path]))
            .await
            .refused(&format!("update with mask path {path}"));
        assert_invalid(&status, "update_mask");
    }
    let status = c
        .update_organization(pb::UpdateOrganizationRequest {
            organization: None,
            update_mask: mask(&["homepage_uri"]),
        })
        .await
        .refused("update without organization");
    assert_invalid(&status, "organization");
    let mut missing = new.clone();
    missing.name = "organizations/does-not-exist".into();
    let status = update_org(&mut c, missing, mask(&["homepage_uri"]))
        .await
        .refused("update of an unknown organisation");
    assert_code(&status, Code::NotFound);
    let mut bad_etag = new.clone();
    bad_etag.etag = "not-an-etag".into();
    let status = update_org(&mut c, bad_etag, mask(&["homepage_uri"]))
        .await
        .refused("update with a malformed etag");
    assert_invalid(&status, "organization.etag");
    let mut invalid = new.clone();
    invalid.country_code = "XX".into();
    let status = update_org(&mut c, invalid, mask(&["country_code"]))
        .await
        .refused("update to an invalid value");
    assert_invalid(&status, "organization.country_code");

    assert_eq!(get_org(&mut c, &o.name).await, o, "nothing changed");
    server.stop().await;
}

async fn update_applies_only_masked_fields_and_star_means_all(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(&mut c, org("RO", "Ministerul Educației")).await;

    let mut new = o.clone();
    new.homepage_uri = "https://edu.ro".into();
    new.country_code = "SE".into(); // not in the mask: ignored
    let updated = update_org(&mut c, new, mask(&["homepage_uri"]))
        .await
        .accepted("update homepage with the current etag");
    assert_eq!(updated.homepage_uri, "https://edu.ro");
    assert_eq!(
        updated.country_code, "RO",
        "fields outside the mask are kept"
    );
    assert_ne!(updated.etag, o.etag, "the etag changes on update");
    assert_eq!(updated.create_time, o.create_time);
    assert!(micros(&updated.update_time) >= micros(&o.update_time));
    assert_eq!(get_org(&mut c, &o.name).await, updated);

    let star = pb::Organization {
        name: o.name.clone(),
        etag: updated.etag.clone(),
        display_names: vec![text("sv", "Utbildningsdepartementet")],
        identifiers: vec![identifier("SE-ORGNR", "202100-4276")],
        kind: pb::OrganizationKind::Government as i32,
        government_level: pb::GovernmentLevel::Central as i32,
        country_code: "se".into(),
        sector: pb::GovernmentFunction::Education as i32,
        ..Default::default()
    };
    let replaced = update_org(&mut c, star, mask(&["*"]))
        .await
        .accepted("update with *");
    assert_eq!(replaced.name, o.name);
    assert_eq!(replaced.country_code, "SE");
    assert_eq!(
        replaced.display_names,
        vec![text("sv", "Utbildningsdepartementet")]
    );
    assert_eq!(
        replaced.identifiers,
        vec![identifier("SE-ORGNR", "202100-4276")]
    );
    assert_eq!(
        replaced.homepage_uri, "",
        "* clears what the request leaves empty"
    );
    assert_eq!(replaced.sector, pb::GovernmentFunction::Education as i32);
    assert_eq!(replaced.create_time, o.create_time);
    assert_ne!(replaced.etag, updated.etag);
    server.stop().await;
}

async fn update_with_stale_etag_is_aborted(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let o = create_org(
        &mut c,
        org("RO", "Autoritatea pentru Digitalizarea României"),
    )
    .await;

    let mut first = o.clone();
    first.homepage_uri = "https://adr.gov.ro".into();
    let winner = update_org(&mut c, first, mask(&["homepage_uri"]))
        .await
        .accepted("first writer, current etag");

    let mut second = o.clone(); // still carries the original etag
    second.homepage_uri = "https://example.org".into();
    let status = update_org(&mut c, second, mask(&["homepage_uri"]))
        .await
        .refused("second writer, stale etag");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    assert_eq!(
        get_org(&mut c, &o.name).await,
        winner,
        "a stale etag never overwrites"
    );

    let mut no_etag = winner.clone();
    no_etag.etag.clear();
    no_etag.homepage_uri = "https://www.adr.gov.ro".into();
    let last = update_org(&mut c, no_etag, mask(&["homepage_uri"]))
        .await
        .accepted("an update without etag is unconditional");
    assert_eq!(last.homepage_uri, "https://www.adr.gov.ro");
    server.stop().await;
}

async fn update_refuses_parent_cycles(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let a = create_org(&mut c, org("RO", "A")).await;
    let b = create_org(&mut c, org("RO", "B")).await;
    let cc = create_org(&mut c, org("RO", "C")).await;

    let set_parent = |o: &pb::Organization, parent: &pb::Organization| pb::Organization {
        parent: parent.name.clone(),
        etag: String::new(),
        ..o.clone()
    };
    update_org(&mut c, set_parent(&a, &b), mask(&["parent"]))
        .await
        .accepted("A's parent is B");
    let status = update_org(&mut c, set_parent(&b, &a), mask(&["parent"]))
        .await
        .refused("B's parent is A");
    assert_invalid(&status, "organization.parent");
    let status = update_org(&mut c, set_parent(&a, &a), mask(&["parent"]))
        .await
        .refused("A's parent is A");
    assert_invalid(&status, "organization.parent");

    update_org(&mut c, set_parent(&b, &cc), mask(&["parent"]))
        .await
        .accepted("B's parent is C");
    let status = update_org(&mut c, set_parent(&cc, &a), mask(&["parent"]))
        .await
        .refused("C's parent is A (A -> B -> C -> A)");
    assert_invalid(&status, "organization.parent");

    let mut orphan = a.clone();
    orphan.etag.clear();
    orphan.parent = "organizations/does-not-exist".into();
    let status = update_org(&mut c, orphan, mask(&["parent"]))
        .await
        .refused("parent that does not exist");
    assert_invalid(&status, "organization.parent");

    assert_eq!(get_org(&mut c, &b.name).await.parent, cc.name);
    assert_eq!(get_org(&mut c, &cc.name).await.parent, "");
    server.stop().await;
}

/// Updates sent without an etag, racing on different fields: every update
/// that reports success is in the final record (a loser is ABORTED, never
/// silently undone by a writer that merged onto an older read).
async fn concurrent_updates_without_etag_lose_nothing(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let created = create_org(&mut c, org("RO", "Consiliul Județean Cluj")).await;
    let changes: Vec<(&str, pb::Organization)> = vec![
        (
            "homepage_uri",
            pb::Organization {
                homepage_uri: "https://cjcluj.ro".into(),
                ..created.clone()
            },
        ),
        (
            "nuts_code",
            pb::Organization {
                nuts_code: "RO113".into(),
                ..created.clone()
            },
        ),
        (
            "subdivision_code",
            pb::Organization {
                subdivision_code: "RO-CJ".into(),
                ..created.clone()
            },
        ),
        (
            "sector",
            pb::Organization {
                sector: pb::GovernmentFunction::GeneralPublicServices as i32,
                ..created.clone()
            },
        ),
    ];
    let channel = server.channel().await;
    let mut tasks = Vec::new();
    for (path, mut organization) in changes {
        organization.etag = String::new();
        let mut client = Client::new(channel.clone());
        tasks.push(tokio::spawn(async move {
            let result = client
                .update_organization(pb::UpdateOrganizationRequest {
                    organization: Some(organization),
                    update_mask: mask(&[path]),
                })
                .await;
            (path, result.map(|_| ()).map_err(|s| s.code()))
        }));
    }
    let mut succeeded = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            (path, Ok(())) => succeeded.push(path),
            (_, Err(code)) => assert_eq!(code, Code::Aborted, "a loser is ABORTED"),
        }
    }
    assert!(!succeeded.is_empty());
    let last = get_org(&mut c, &created.name).await;
    for path in &succeeded {
        let kept = match *path {
            "homepage_uri" => last.homepage_uri == "https://cjcluj.ro",
            "nuts_code" => last.nuts_code == "RO113",
            "subdivision_code" => last.subdivision_code == "RO-CJ",
            _ => last.sector == pb::GovernmentFunction::GeneralPublicServices as i32,
        };
        assert!(kept, "the successful update of {path} was lost: {last:?}");
    }
    assert_eq!(last.etag, format!("r{}", 1 + succeeded.len()));
    server.stop().await;
}
