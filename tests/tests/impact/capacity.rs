//! Innovation capacity rounds: one per subject and label, comparisons, charts.

use super::*;

on_both_backends!(
    capacity_rounds_round_trip_one_per_subject_and_label,
    capacity_bad_input_names_the_field,
    capacity_update_checks_mask_and_etag,
    capacity_rounds_compare_item_by_item,
    capacity_chart_overlays_two_rounds,
);

fn score(score: i32) -> Option<pb::CapacityScore> {
    // An unscored item has no evidence.
    let evidence = if score == 0 {
        String::new()
    } else {
        format!("Evidence for {score}")
    };
    Some(pb::CapacityScore { score, evidence })
}

fn levels3(individual: i32, organizational: i32, system: i32) -> Option<pb::LevelScores> {
    Some(pb::LevelScores {
        individual: score(individual),
        organizational: score(organizational),
        system: score(system),
    })
}

pub(super) fn round(subject: &str, label: &str, base: i32) -> pb::CapacityAssessment {
    pb::CapacityAssessment {
        subject: subject.into(),
        round: label.into(),
        assess_date: Some(date(2021, 6, 1)),
        purpose: levels3(base, base, base),
        potential: levels3(base, base + 1, base),
        capacity: levels3(base, base, 1),
        impact: levels3(1, 1, 1),
        declaration: Some(pb::DeclarationScores {
            embrace_and_enhance: score(base),
            encourage_and_equip: score(base),
            cultivate_partnerships: score(base),
            support_exploration: score(base),
            diffuse_lessons: None,
        }),
        assessors: vec!["organizations/oecd-opsi".into()],
        ..Default::default()
    }
}

pub(super) async fn record(
    client: &mut Client,
    c: pb::CapacityAssessment,
) -> pb::CapacityAssessment {
    client
        .create_capacity_assessment(pb::CreateCapacityAssessmentRequest {
            capacity_assessment: Some(c),
            request_id: String::new(),
        })
        .await
        .accepted("CreateCapacityAssessment")
}

async fn capacity_rounds_round_trip_one_per_subject_and_label(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let ro21 = record(&mut client, round("countries/ro", "2021", 2)).await;
    assert!(ro21.name.starts_with("capacityAssessments/"));
    assert_eq!(ro21.subject, "countries/RO");
    assert_eq!(ro21.etag, "r1");
    assert_eq!(
        ro21.potential
            .as_ref()
            .unwrap()
            .organizational
            .as_ref()
            .unwrap()
            .score,
        3
    );
    let mut later = round("countries/RO", "2023", 3);
    later.assess_date = Some(date(2023, 6, 1));
    let ro23 = record(&mut client, later).await;
    let dk = record(&mut client, round("countries/DK", "2021", 4)).await;
    let sgg = record(&mut client, round("organizations/sgg", "2024", 2)).await;
    let got = client
        .get_capacity_assessment(pb::GetCapacityAssessmentRequest {
            name: ro21.name.clone(),
        })
        .await
        .accepted("GetCapacityAssessment");
    assert_eq!(got, ro21);

    // The same subject and round again clashes; a retried request does not.
    let status = client
        .create_capacity_assessment(pb::CreateCapacityAssessmentRequest {
            capacity_assessment: Some(round("countries/RO", "2021", 4)),
            request_id: String::new(),
        })
        .await
        .refused("CreateCapacityAssessment twice");
    assert_reason(&status, Code::AlreadyExists, "ALREADY_EXISTS");
    let request = pb::CreateCapacityAssessmentRequest {
        capacity_assessment: Some(round("countries/RO", "2025", 4)),
        request_id: "cap-1".into(),
    };
    let first = client
        .create_capacity_assessment(request.clone())
        .await
        .accepted("CreateCapacityAssessment");
    let again = client
        .create_capacity_assessment(request)
        .await
        .accepted("CreateCapacityAssessment retry");
    assert_eq!(first, again);

    let list = |filter: &str| {
        let mut c = client.clone();
        let filter = filter.to_string();
        async move {
            c.list_capacity_assessments(pb::ListCapacityAssessmentsRequest {
                filter,
                ..Default::default()
            })
            .await
            .accepted("ListCapacityAssessments")
            .capacity_assessments
            .into_iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        list("subject = \"countries/ro\"").await,
        [ro21.name.clone(), ro23.name.clone(), first.name.clone()]
    );
    assert_eq!(
        list("(subject = \"countries/DK\" OR subject = \"organizations/sgg\")").await,
        [dk.name.clone(), sgg.name.clone()]
    );
    assert_eq!(list("").await.len(), 5);
    for bad in ["subject = \"countries/XX\"", "round = \"2021\"", "romania"] {
        let status = client
            .list_capacity_assessments(pb::ListCapacityAssessmentsRequest {
                filter: bad.into(),
                ..Default::default()
            })
            .await
            .refused(bad);
        assert_invalid(&status, "filter");
    }
    let status = client
        .get_capacity_assessment(pb::GetCapacityAssessmentRequest {
            name: "capacityAssessments/nope".into(),
        })
        .await
        .refused("GetCapacityAssessment");
    assert_code(&status, Code::NotFound);
    server.stop().await;
}

async fn capacity_bad_input_names_the_field(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let mut bad = round("countries/XX", " ", 2);
    bad.assess_date = None;
    bad.purpose.as_mut().unwrap().system = score(6);
    bad.impact.as_mut().unwrap().individual = Some(pb::CapacityScore {
        score: 2,
        evidence: String::new(),
    });
    bad.declaration.as_mut().unwrap().diffuse_lessons = Some(pb::CapacityScore {
        score: 0,
        evidence: "notes without a score".into(),
    });
    let status = client
        .create_capacity_assessment(pb::CreateCapacityAssessmentRequest {
            capacity_assessment: Some(bad),
            request_id: String::new(),
        })
        .await
        .refused("CreateCapacityAssessment");
    for field in [
        "capacity_assessment.subject",
        "capacity_assessment.round",
        "capacity_assessment.assess_date",
        "capacity_assessment.purpose.system.score",
        "capacity_assessment.impact.individual.evidence",
        "capacity_assessment.declaration.diffuse_lessons.score",
    ] {
        assert_invalid(&status, field);
    }
    let mut bad_date = round("organizations/sgg", "2024", 2);
    bad_date.assess_date = Some(date(2024, 13, 1));
    let status = client
        .create_capacity_assessment(pb::CreateCapacityAssessmentRequest {
            capacity_assessment: Some(bad_date),
            request_id: String::new(),
        })
        .await
        .refused("CreateCapacityAssessment");
    assert_invalid(&status, "capacity_assessment.assess_date");
    let listed = client
        .list_capacity_assessments(pb::ListCapacityAssessmentsRequest::default())
        .await
        .accepted("ListCapacityAssessments");
    assert!(listed.capacity_assessments.is_empty());
    server.stop().await;
}

async fn capacity_update_checks_mask_and_etag(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let c = record(&mut client, round("countries/RO", "2023", 2)).await;
    let other = record(&mut client, round("countries/RO", "2024", 2)).await;
    let mut change = c.clone();
    change.impact = levels3(2, 3, 2);
    change.round = "ignored".into();
    let updated = client
        .update_capacity_assessment(pb::UpdateCapacityAssessmentRequest {
            capacity_assessment: Some(change.clone()),
            update_mask: mask(&["impact"]),
        })
        .await
        .accepted("UpdateCapacityAssessment");
    assert_eq!(updated.round, "2023");
    assert_eq!(updated.impact, levels3(2, 3, 2));
    assert_eq!(updated.etag, "r2");
    let status = client
        .update_capacity_assessment(pb::UpdateCapacityAssessmentRequest {
            capacity_assessment: Some(change.clone()),
            update_mask: mask(&["impact"]),
        })
        .await
        .refused("UpdateCapacityAssessment stale");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    let status = client
        .update_capacity_assessment(pb::UpdateCapacityAssessmentRequest {
            capacity_assessment: Some(updated.clone()),
            update_mask: None,
        })
        .await
        .refused("UpdateCapacityAssessment without mask");
    assert_invalid(&status, "update_mask");
    // Renaming the round onto another existing round clashes.
    let mut clash = updated.clone();
    clash.round = other.round.clone();
    let status = client
        .update_capacity_assessment(pb::UpdateCapacityAssessmentRequest {
            capacity_assessment: Some(clash),
            update_mask: mask(&["round"]),
        })
        .await
        .refused("UpdateCapacityAssessment clash");
    assert_code(&status, Code::AlreadyExists);
    let mut bad = updated.clone();
    bad.capacity = levels3(1, 9, 1);
    let status = client
        .update_capacity_assessment(pb::UpdateCapacityAssessmentRequest {
            capacity_assessment: Some(bad),
            update_mask: mask(&["capacity"]),
        })
        .await
        .refused("UpdateCapacityAssessment bad score");
    assert_invalid(&status, "capacity_assessment.capacity.organizational.score");
    let now = client
        .get_capacity_assessment(pb::GetCapacityAssessmentRequest {
            name: c.name.clone(),
        })
        .await
        .accepted("GetCapacityAssessment");
    assert_eq!(now, updated);
    server.stop().await;
}

async fn capacity_rounds_compare_item_by_item(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let before = record(&mut client, round("countries/RO", "2021", 2)).await;
    let mut after = round("countries/RO", "2023", 3);
    after.impact = levels3(1, 1, 0);
    after.capacity = levels3(3, 3, 1);
    after.declaration.as_mut().unwrap().diffuse_lessons = score(2);
    let after = record(&mut client, after).await;
    let c = client
        .compare_capacity_assessments(pb::CompareCapacityAssessmentsRequest {
            base: before.name.clone(),
            other: after.name.clone(),
        })
        .await
        .accepted("CompareCapacityAssessments");
    assert_eq!(c.base.unwrap().name, before.name);
    assert_eq!(c.other.unwrap().name, after.name);
    assert_eq!(c.changes.len(), 17);
    let item = |name: &str| {
        c.changes
            .iter()
            .find(|x| x.item == name)
            .unwrap_or_else(|| panic!("{name} compared"))
            .clone()
    };
    assert_eq!(item("purpose.individual").change, Some(1));
    assert_eq!(item("potential.organizational").change, Some(1));
    assert_eq!(item("capacity.system").change, Some(0));
    assert_eq!(item("impact.system").change, None);
    assert_eq!(item("impact.system").other_score, 0);
    assert_eq!(item("declaration.diffuse_lessons").change, None);
    // 3 purpose + 3 potential + 2 capacity + 4 principles went up; capacity.system
    // and impact individual/organisational stayed.
    assert_eq!((c.improved, c.declined, c.unchanged), (12, 0, 3));

    let status = client
        .compare_capacity_assessments(pb::CompareCapacityAssessmentsRequest {
            base: before.name.clone(),
            other: "capacityAssessments/nope".into(),
        })
        .await
        .refused("CompareCapacityAssessments unknown");
    assert_code(&status, Code::NotFound);
    let status = client
        .compare_capacity_assessments(pb::CompareCapacityAssessmentsRequest {
            base: "x".into(),
            other: String::new(),
        })
        .await
        .refused("CompareCapacityAssessments malformed");
    assert_invalid(&status, "base");
    assert_invalid(&status, "other");
    server.stop().await;
}

async fn capacity_chart_overlays_two_rounds(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let before = record(&mut client, round("countries/RO", "2021", 2)).await;
    let mut after = round("countries/RO", "2023", 3);
    after.impact = levels3(1, 1, 0);
    let after = record(&mut client, after).await;
    let bars = |svg: &str, fill: &str| {
        let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
        assert_eq!(doc.root_element().tag_name().name(), "svg");
        doc.descendants()
            .filter(|n| n.has_tag_name("rect"))
            .filter(|n| {
                n.attribute("fill")
                    .is_some_and(|f| f.eq_ignore_ascii_case(fill))
            })
            .count()
    };
    let one = client
        .render_capacity_chart(pb::RenderCapacityChartRequest {
            name: before.name.clone(),
            overlay: String::new(),
        })
        .await
        .accepted("RenderCapacityChart");
    assert_eq!(one.content_type, "image/svg+xml");
    // 12 framework items and 4 of 5 principles are scored.
    assert_eq!(bars(&one.svg, "#1F77B4"), 16);
    assert_eq!(bars(&one.svg, "#FF7F0E"), 0);
    let two = client
        .render_capacity_chart(pb::RenderCapacityChartRequest {
            name: before.name.clone(),
            overlay: after.name.clone(),
        })
        .await
        .accepted("RenderCapacityChart overlay");
    assert_eq!(bars(&two.svg, "#1F77B4"), 16);
    assert_eq!(bars(&two.svg, "#FF7F0E"), 15);
    assert!(
        two.svg.contains("2021") && two.svg.contains("2023"),
        "legend"
    );
    assert!(two.svg.contains("countries/RO"), "title");
    let status = client
        .render_capacity_chart(pb::RenderCapacityChartRequest {
            name: before.name.clone(),
            overlay: "capacityAssessments/nope".into(),
        })
        .await
        .refused("RenderCapacityChart unknown overlay");
    assert_code(&status, Code::NotFound);
    let status = client
        .render_capacity_chart(pb::RenderCapacityChartRequest {
            name: String::new(),
            overlay: "nope".into(),
        })
        .await
        .refused("RenderCapacityChart malformed");
    assert_invalid(&status, "name");
    assert_invalid(&status, "overlay");
    server.stop().await;
}
