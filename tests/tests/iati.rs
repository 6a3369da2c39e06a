//! The case library as IATI activity XML 2.03 (`innolab-gateway
//! export-iati`), read from real membership, initiatives and impact
//! servers: the mapped fields, the results of completed assessments only,
//! and initiatives IATI cannot describe left out. (CI validates a release's
//! file against the official IATI 2.03 schema with lxml:
//! scripts/check-open-data.sh.)

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use innolab_proto::innolab::impact::v1 as im;
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_proto::innolab::membership::v1 as mb;
use innolab_tests::assert::{Outcome, date};
use innolab_tests::fixtures::{initiative_request, organization_request};
use innolab_tests::{Backend, TestServer, on_both_backends};
use sha2::Digest as _;

on_both_backends!(initiatives_become_iati_activities_with_their_results);

async fn initiatives_become_iati_activities_with_their_results(backend: Backend) {
    let membership = TestServer::membership(&backend).await;
    let initiatives =
        TestServer::initiatives(&backend, &format!("http://{}", membership.addr)).await;
    let impact = TestServer::impact(&backend).await;
    let mut members =
        mb::membership_service_client::MembershipServiceClient::new(membership.channel().await);
    let mut ministry = organization_request("Ministry of Development & \"Reform\"", "RO");
    if let Some(o) = ministry.organization.as_mut() {
        o.identifiers = vec![mb::Identifier {
            scheme: "IATI".into(),
            value: "RO-CUI-4221187".into(),
        }];
    }
    let ministry = members
        .create_organization(ministry)
        .await
        .accepted("CreateOrganization")
        .name;
    let mut univ = organization_request("Aalto University", "FI");
    if let Some(o) = univ.organization.as_mut() {
        o.kind = mb::OrganizationKind::AcademicTrainingResearch as i32;
    }
    let university = members
        .create_organization(univ)
        .await
        .accepted("CreateOrganization")
        .name;
    let mut cases =
        ini::initiatives_service_client::InitiativesServiceClient::new(initiatives.channel().await);
    let mut permits = initiative_request("Digital permits", &ministry, "RO");
    if let Some(i) = permits.initiative.as_mut() {
        i.summaries = vec![ini::LocalizedText {
            language_code: "en".into(),
            text: "Permits online, <fast> & simple.".into(),
        }];
        i.start_date = Some(date(2024, 1, 15));
        i.end_date = Some(date(2025, 12, 31));
        i.status = ini::InitiativeStatus::Pilot as i32;
        i.sector = ini::GovernmentFunction::HousingAndCommunityAmenities as i32;
        i.sdgs = vec![9, 11];
        i.partners = vec![ini::Partner {
            organization: university.clone(),
            role: ini::PartnerRole::Funding as i32,
        }];
    }
    let permits = cases
        .create_initiative(permits)
        .await
        .accepted("CreateInitiative")
        .name;
    // No start day and no summary: IATI cannot describe it.
    cases
        .create_initiative(initiative_request("An idea", &ministry, "RO"))
        .await
        .accepted("CreateInitiative");

    let mut assessments =
        im::impact_service_client::ImpactServiceClient::new(impact.channel().await);
    let completed = assessment(&mut assessments, &permits, "After one year").await;
    let point = |value: f64, d| {
        Some(im::Point {
            value,
            date: Some(d),
        })
    };
    let indicator = |result_type: im::ResultType, title: &str| im::Indicator {
        title: title.into(),
        result_type: result_type as i32,
        measure: "days".into(),
        direction: im::Direction::LowerIsBetter as i32,
        baseline: point(60.0, date(2024, 1, 1)),
        target: point(30.0, date(2025, 1, 1)),
        measurements: vec![im::Measurement {
            date: Some(date(2024, 6, 1)),
            value: 42.5,
            source: "Permit register".into(),
            note: String::new(),
        }],
        ..Default::default()
    };
    for (kind, title) in [
        (im::ResultType::Outcome, "Days to a permit"),
        (im::ResultType::Output, "Permits issued online"),
    ] {
        assessments
            .create_indicator(im::CreateIndicatorRequest {
                parent: completed.clone(),
                indicator: Some(indicator(kind, title)),
                request_id: String::new(),
            })
            .await
            .accepted("CreateIndicator");
    }
    for step in 0..3 {
        transition(&mut assessments, &completed, step).await;
    }
    // Planned, not completed: not published.
    let planned = assessment(&mut assessments, &permits, "Still planned").await;
    assessments
        .create_indicator(im::CreateIndicatorRequest {
            parent: planned,
            indicator: Some(indicator(im::ResultType::Impact, "Not yet measured")),
            request_id: String::new(),
        })
        .await
        .accepted("CreateIndicator");

    let upstream = |service: &'static str, server: &TestServer| innolab_gateway::UpstreamAddr {
        service,
        env: "",
        url: format!("http://{}", server.addr),
        in_process: None,
    };
    let upstreams = [
        upstream("membership", &membership),
        upstream("initiatives", &initiatives),
        upstream("impact", &impact),
    ];
    let reporter = innolab_gateway::iati::Reporter {
        reporting_org_ref: "RO-CUI-4221187".into(),
        reporting_org_type: "10".into(),
        reporting_org_name: "Secretariatul General al Guvernului".into(),
    };
    let dir = tempfile::tempdir().unwrap();
    let release = innolab_kit::opendata::ReleaseArgs {
        out_dir: dir.path().to_path_buf(),
        base_url: Some("https://data.example.gov/innolab/".into()),
        publisher_uri: None,
        publisher_name: "Secretariatul General al Guvernului".into(),
        licence: innolab_kit::opendata::CC_BY_4.into(),
    };
    let export = || {
        innolab_gateway::export_iati(
            &upstreams,
            std::time::Duration::from_secs(2),
            "",
            &reporter,
            &release,
        )
    };
    let counts = export().await.unwrap();
    assert_eq!(
        (counts.activities, counts.skipped, counts.results),
        (1, 1, 2),
        "one activity, two results (outcome, output) of the completed assessment"
    );
    let xml = std::fs::read_to_string(dir.path().join("iati-activities.xml")).unwrap();
    let id = permits.trim_start_matches("initiatives/");
    for expected in [
        "<iati-activities version=\"2.03\">".to_string(),
        format!("<iati-identifier>RO-CUI-4221187-{id}</iati-identifier>"),
        "<reporting-org ref=\"RO-CUI-4221187\" type=\"10\">".into(),
        "<narrative xml:lang=\"en\">Permits online, &lt;fast&gt; &amp; simple.</narrative>".into(),
        "<participating-org role=\"2\" ref=\"RO-CUI-4221187\" type=\"10\">".into(),
        "<narrative xml:lang=\"en\">Ministry of Development &amp; &quot;Reform&quot;</narrative>"
            .into(),
        "<participating-org role=\"1\" type=\"80\">".into(),
        "<activity-status code=\"2\"/>".into(),
        "<activity-date type=\"2\" iso-date=\"2024-01-15\"/>".into(),
        "<activity-date type=\"3\" iso-date=\"2025-12-31\"/>".into(),
        "<recipient-country code=\"RO\"/>".into(),
        "<sector vocabulary=\"3\" code=\"06\"/>".into(),
        "<tag vocabulary=\"2\" code=\"11\"/>".into(),
        "<result type=\"2\">".into(),
        "<result type=\"1\">".into(),
        "<indicator measure=\"1\" ascending=\"0\">".into(),
        "<baseline year=\"2024\" iso-date=\"2024-01-01\" value=\"60\"/>".into(),
        "<target value=\"30\"/>".into(),
        "<actual value=\"42.5\"/>".into(),
    ] {
        assert!(xml.contains(&expected), "no {expected} in\n{xml}");
    }
    assert_eq!(xml.matches("<iati-activity ").count(), 1);
    assert!(!xml.contains("Not yet measured"), "a planned assessment");
    assert!(!xml.contains("An idea"), "no start day, no summary");
    assert!(!xml.contains("people/"));
    // Its DCAT-AP record: the file's size and SHA-256, the days it covers;
    // and the release's catalogue lists it.
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("iati-activities.dcat.jsonld")).unwrap(),
    )
    .unwrap();
    let distribution = &record["dcat:distribution"][0];
    assert_eq!(
        distribution["dcat:downloadURL"]["@id"],
        "https://data.example.gov/innolab/iati-activities.xml"
    );
    assert_eq!(
        distribution["dcat:byteSize"]["@value"],
        xml.len().to_string()
    );
    let sha: String = sha2::Sha256::digest(xml.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        distribution["spdx:checksum"]["spdx:checksumValue"]["@value"],
        sha
    );
    assert_eq!(
        record["dct:temporal"]["dcat:startDate"]["@value"],
        "2024-01-15"
    );
    let catalogue = std::fs::read_to_string(dir.path().join("catalogue.jsonld")).unwrap();
    assert!(
        catalogue.contains("\"dct:identifier\": \"iati-activities\""),
        "{catalogue}"
    );
    let first = (xml.clone(), catalogue);
    export().await.unwrap();
    assert_eq!(
        (
            std::fs::read_to_string(dir.path().join("iati-activities.xml")).unwrap(),
            std::fs::read_to_string(dir.path().join("catalogue.jsonld")).unwrap(),
        ),
        first,
        "the same data gives the same bytes"
    );
    impact.stop().await;
    initiatives.stop().await;
    membership.stop().await;
}

async fn assessment(
    client: &mut im::impact_service_client::ImpactServiceClient<tonic::transport::Channel>,
    initiative: &str,
    title: &str,
) -> String {
    client
        .create_assessment(im::CreateAssessmentRequest {
            assessment: Some(im::Assessment {
                initiative: initiative.into(),
                title: title.into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("CreateAssessment")
        .name
}

/// Start (0), submit (1), review as approved (2).
async fn transition(
    client: &mut im::impact_service_client::ImpactServiceClient<tonic::transport::Channel>,
    name: &str,
    step: u8,
) {
    match step {
        0 => {
            client
                .start_assessment(im::StartAssessmentRequest {
                    name: name.into(),
                    decided_by: "organizations/lab".into(),
                    ..Default::default()
                })
                .await
                .accepted("StartAssessment");
        }
        1 => {
            client
                .submit_assessment(im::SubmitAssessmentRequest {
                    name: name.into(),
                    decided_by: "organizations/lab".into(),
                    reason: "ready".into(),
                    ..Default::default()
                })
                .await
                .accepted("SubmitAssessment");
        }
        _ => {
            client
                .review_assessment(im::ReviewAssessmentRequest {
                    name: name.into(),
                    reviewer: "groups/evaluation-board".into(),
                    decision: im::ReviewDecision::Approved as i32,
                    comment: "checked".into(),
                    ..Default::default()
                })
                .await
                .accepted("ReviewAssessment");
        }
    }
}
