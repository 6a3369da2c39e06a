//! Adoptions: one initiative adopts, adapts, scales, is inspired by or is
//! part of another; proposed, confirmed by both sides, withdrawn; counted as
//! reuse in the portfolio summary.

use innolab_tests::assert::assert_reason;

use super::*;

innolab_tests::on_both_backends!(
    an_adoption_is_confirmed_by_both_sides_then_withdrawn,
    adoption_rules,
    cycles_are_refused_for_the_kinds_that_carry_a_solution,
);

fn adoption(initiative: &str, source: &str, kind: pb::AdoptionKind) -> pb::Adoption {
    pb::Adoption {
        initiative: initiative.into(),
        source: source.into(),
        kind: kind as i32,
        ..Default::default()
    }
}

impl World {
    async fn adopt(&mut self, a: pb::Adoption, request_id: &str) -> Result<pb::Adoption, Status> {
        self.client
            .create_adoption(pb::CreateAdoptionRequest {
                adoption: Some(a),
                request_id: request_id.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn confirm(
        &mut self,
        name: &str,
        etag: &str,
        side: pb::AdoptionSide,
        by: &str,
    ) -> Result<pb::Adoption, Status> {
        self.client
            .confirm_adoption(pb::ConfirmAdoptionRequest {
                name: name.into(),
                etag: etag.into(),
                side: side as i32,
                confirmed_by: by.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn withdraw(
        &mut self,
        name: &str,
        by: &str,
        reason: &str,
    ) -> Result<pb::Adoption, Status> {
        self.client
            .withdraw_adoption(pb::WithdrawAdoptionRequest {
                name: name.into(),
                etag: String::new(),
                withdrawn_by: by.into(),
                reason: reason.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn adoptions(&mut self, filter: &str) -> Result<Vec<String>, Status> {
        self.client
            .list_adoptions(pb::ListAdoptionsRequest {
                page_size: 0,
                page_token: String::new(),
                filter: filter.into(),
            })
            .await
            .map(|r| {
                r.into_inner()
                    .adoptions
                    .into_iter()
                    .map(|a| a.name)
                    .collect()
            })
    }

    async fn summary(&mut self) -> pb::PortfolioSummary {
        self.client
            .get_portfolio_summary(pb::GetPortfolioSummaryRequest::default())
            .await
            .accepted("summary")
    }
}

fn counts(list: &[pb::PortfolioCount]) -> Vec<(String, i64)> {
    list.iter().map(|c| (c.value.clone(), c.count)).collect()
}

fn pairs(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(v, n)| (v.to_string(), *n)).collect()
}

async fn an_adoption_is_confirmed_by_both_sides_then_withdrawn(backend: Backend) {
    let mut w = World::new(backend).await;
    let source = w.create(w.initiative("Ghișeul digital")).await;
    let mut b = w.initiative("Digital counter");
    b.country_code = "FI".into();
    b.lead_organization = w.university.clone();
    let adopter = w.create(b).await;
    let mut request = adoption(&adopter.name, &source.name, pb::AdoptionKind::Adapts);
    request.adoption_date = Some(date(2025, 4, 1));
    request.adaptations = "Finnish and Swedish forms; the national e-ID.".into();
    request.rationale = "The same queues at every counter.".into();
    let created = w.adopt(request.clone(), "adopt-1").await.unwrap();
    assert_eq!(created.state, pb::AdoptionState::Proposed as i32);
    assert_eq!(
        created.adopting_organization, w.university,
        "the adopter's lead organisation by default"
    );
    assert_eq!(created.adoption_date, Some(date(2025, 4, 1)));
    let again = w.adopt(request.clone(), "adopt-1").await.unwrap();
    assert_eq!(again.name, created.name, "a retry returns the first result");
    let status = w.adopt(request, "").await.unwrap_err();
    assert_code(&status, Code::AlreadyExists);

    let by_source = format!("source = {:?}", source.name);
    assert_eq!(
        w.adoptions(&by_source).await.unwrap(),
        [created.name.as_str()]
    );
    let exact = format!(
        "initiative = {:?} AND state = PROPOSED AND kind = ADAPTS",
        adopter.name
    );
    assert_eq!(w.adoptions(&exact).await.unwrap(), [created.name.as_str()]);
    assert!(w.adoptions("state = CONFIRMED").await.unwrap().is_empty());
    assert!(w.adoptions("kind = SCALES").await.unwrap().is_empty());

    // One side is not enough; each side confirms once.
    let half = w
        .confirm(
            &created.name,
            &created.etag,
            pb::AdoptionSide::Source,
            "people/ana",
        )
        .await
        .unwrap();
    assert_eq!(half.state, pb::AdoptionState::Proposed as i32);
    let confirmation = half.source_confirmation.clone().unwrap();
    assert_eq!(confirmation.confirmed_by, "people/ana");
    assert!(confirmation.confirm_time.is_some());
    assert!(half.adopter_confirmation.is_none());
    let status = w
        .confirm(&created.name, "", pb::AdoptionSide::Source, "people/ana")
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    let status = w
        .confirm(
            &created.name,
            &created.etag,
            pb::AdoptionSide::Adopter,
            "people/aino",
        )
        .await
        .unwrap_err();
    assert_code(&status, Code::Aborted);
    assert_eq!(w.summary().await.reused, 0, "a proposal is not reuse yet");
    let confirmed = w
        .confirm(
            &created.name,
            &half.etag,
            pb::AdoptionSide::Adopter,
            "people/aino",
        )
        .await
        .unwrap();
    assert_eq!(confirmed.state, pb::AdoptionState::Confirmed as i32);
    assert_eq!(
        confirmed.adopter_confirmation.unwrap().confirmed_by,
        "people/aino"
    );

    // Texts change with the etag; the relation itself does not.
    let mut changed = pb::Adoption {
        name: created.name.clone(),
        etag: confirmed.etag.clone(),
        outcome: "Visits down by a third in Tampere.".into(),
        ..Default::default()
    };
    let updated = w
        .client
        .update_adoption(pb::UpdateAdoptionRequest {
            adoption: Some(changed.clone()),
            update_mask: mask(&["outcome"]),
        })
        .await
        .accepted("update adoption");
    assert_eq!(updated.outcome, "Visits down by a third in Tampere.");
    assert_eq!(updated.rationale, "The same queues at every counter.");
    assert_eq!(updated.state, pb::AdoptionState::Confirmed as i32);
    let status = w
        .client
        .update_adoption(pb::UpdateAdoptionRequest {
            adoption: Some(changed.clone()),
            update_mask: mask(&["outcome"]),
        })
        .await
        .unwrap_err();
    assert_code(&status, Code::Aborted);
    changed.etag.clear();
    let status = w
        .client
        .update_adoption(pb::UpdateAdoptionRequest {
            adoption: Some(changed.clone()),
            update_mask: mask(&["source"]),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["update_mask"]);

    // Confirmed: the adopter is a reused case in its country and facet.
    let s = w.summary().await;
    assert_eq!(s.reused, 1);
    assert_eq!(counts(&s.reused_by_country), pairs(&[("FI", 1)]));
    assert_eq!(counts(&s.original_by_country), pairs(&[("RO", 1)]));
    assert_eq!(counts(&s.reused_by_facet), pairs(&[("UNSPECIFIED", 1)]));
    let filtered = w
        .client
        .get_portfolio_summary(pb::GetPortfolioSummaryRequest {
            filter: "country_code = \"RO\"".into(),
        })
        .await
        .accepted("filtered summary");
    assert_eq!(filtered.reused, 0);
    assert_eq!(counts(&filtered.original_by_country), pairs(&[("RO", 1)]));

    // Withdrawn: final, and no longer counted; the pair may be claimed again.
    let withdrawn = w
        .withdraw(&created.name, "people/ana", "Not derived from ours.")
        .await
        .unwrap();
    assert_eq!(withdrawn.state, pb::AdoptionState::Withdrawn as i32);
    let withdrawal = withdrawn.withdrawal.unwrap();
    assert_eq!(
        (withdrawal.withdrawn_by.as_str(), withdrawal.reason.as_str()),
        ("people/ana", "Not derived from ours.")
    );
    let status = w
        .withdraw(&created.name, "people/ana", "again")
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    let status = w
        .confirm(&created.name, "", pb::AdoptionSide::Both, "people/admin")
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    let status = w
        .client
        .update_adoption(pb::UpdateAdoptionRequest {
            adoption: Some(changed),
            update_mask: mask(&["outcome"]),
        })
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "ILLEGAL_TRANSITION");
    assert_eq!(w.summary().await.reused, 0);
    let renewed = w
        .adopt(
            adoption(&adopter.name, &source.name, pb::AdoptionKind::Scales),
            "",
        )
        .await
        .unwrap();
    // A lab administrator confirms both sides at once.
    let both = w
        .confirm(&renewed.name, "", pb::AdoptionSide::Both, "people/admin")
        .await
        .unwrap();
    assert_eq!(both.state, pb::AdoptionState::Confirmed as i32);
    assert!(both.source_confirmation.is_some() && both.adopter_confirmation.is_some());

    // Every step is in the change log, as the adoption's creation and updates.
    let mut stream = w
        .client
        .stream_changes(pb::StreamChangesRequest {
            after_sequence: 0,
            follow: false,
        })
        .await
        .unwrap()
        .into_inner();
    let mut revisions = Vec::new();
    while let Some(change) = stream.message().await.unwrap() {
        if change.resource == created.name {
            revisions.push(change.revision);
        }
    }
    assert_eq!(
        revisions,
        [1, 2, 3, 4, 5],
        "create, two confirmations, update, withdrawal"
    );
    w.stop().await;
}

async fn adoption_rules(backend: Backend) {
    let mut w = World::new(backend).await;
    let a = w.create(w.initiative("A")).await;
    let b = w.create(w.initiative("B")).await;
    let status = w.adopt(pb::Adoption::default(), "").await.unwrap_err();
    assert_eq!(
        violations(&status),
        ["adoption.initiative", "adoption.kind", "adoption.source"]
    );
    let status = w
        .adopt(adoption(&a.name, &a.name, pb::AdoptionKind::Adopts), "")
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["adoption.source"], "no self-adoption");
    let status = w
        .adopt(
            adoption(
                &a.name,
                "initiatives/0000000000000000",
                pb::AdoptionKind::Adopts,
            ),
            "",
        )
        .await
        .unwrap_err();
    assert_eq!(
        violations(&status),
        ["adoption.source"],
        "an unknown source"
    );
    let mut bad = adoption(&b.name, &a.name, pb::AdoptionKind::Adopts);
    bad.adopting_organization = "Primăria Cluj".into();
    bad.adoption_date = Some(date(2025, 2, 30));
    let status = w.adopt(bad.clone(), "").await.unwrap_err();
    assert_eq!(
        violations(&status),
        ["adoption.adopting_organization", "adoption.adoption_date"]
    );
    bad.adoption_date = None;
    bad.adopting_organization = "organizations/0000000000000000".into();
    let status = w.adopt(bad, "").await.unwrap_err();
    assert_eq!(violations(&status), ["adoption.adopting_organization"]);
    let mut good = adoption(&b.name, &a.name, pb::AdoptionKind::Adopts);
    good.adopting_organization = w.university.clone();
    let stored = w.adopt(good, "").await.unwrap();
    assert_eq!(stored.adopting_organization, w.university);

    // Who confirms or withdraws is a person's resource name, never a name.
    let status = w
        .confirm(&stored.name, "", pb::AdoptionSide::Source, "Ana Popescu")
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["confirmed_by"]);
    let status = w
        .confirm(&stored.name, "", pb::AdoptionSide::Unspecified, "people/a")
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["side"]);
    let status = w
        .confirm(
            "adoptions/0000000000000000",
            "",
            pb::AdoptionSide::Both,
            "people/a",
        )
        .await
        .unwrap_err();
    assert_code(&status, Code::NotFound);
    let status = w.withdraw(&stored.name, "", "").await.unwrap_err();
    assert_eq!(violations(&status), ["reason", "withdrawn_by"]);
    let status = w
        .withdraw("initiatives/x", "people/a", "why")
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["name"]);
    for filter in [
        "state = MAYBE",
        "kind = COPIES",
        "source = \"people/x\"",
        "words",
    ] {
        let status = w.adoptions(filter).await.unwrap_err();
        assert_eq!(violations(&status), ["filter"], "{filter}");
    }
    let status = w
        .client
        .get_adoption(pb::GetAdoptionRequest {
            name: "adoptions/".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&status), ["name"]);
    w.stop().await;
}

async fn cycles_are_refused_for_the_kinds_that_carry_a_solution(backend: Backend) {
    let mut w = World::new(backend).await;
    let a = w.create(w.initiative("A")).await;
    let b = w.create(w.initiative("B")).await;
    let c = w.create(w.initiative("C")).await;
    w.adopt(adoption(&b.name, &a.name, pb::AdoptionKind::Adopts), "")
        .await
        .unwrap();
    let c_scales_b = w
        .adopt(adoption(&c.name, &b.name, pb::AdoptionKind::Scales), "")
        .await
        .unwrap();
    // A adapting C would make A descend from itself (A -> B -> C -> A).
    let status = w
        .adopt(adoption(&a.name, &c.name, pb::AdoptionKind::Adapts), "")
        .await
        .unwrap_err();
    assert_reason(&status, Code::FailedPrecondition, "ADOPTION_CYCLE");
    assert!(status.message().contains("adoption.source"), "{status:?}");
    // Ideas may flow back: inspiration and programmes are not checked.
    w.adopt(adoption(&a.name, &c.name, pb::AdoptionKind::InspiredBy), "")
        .await
        .unwrap();
    // A withdrawn adoption no longer links them.
    w.withdraw(&c_scales_b.name, "people/ana", "recorded by mistake")
        .await
        .unwrap();
    let status = w
        .adopt(adoption(&b.name, &c.name, pb::AdoptionKind::Adapts), "")
        .await
        .unwrap();
    assert_eq!(status.state, pb::AdoptionState::Proposed as i32);
    w.stop().await;
}
