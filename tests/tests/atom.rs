//! The Atom feeds of the gateway's edge (RFC 4287): newly published
//! guidance editions, cases accepted from calls and call openings, per
//! language and filter, parsed back with `feed-rs` (a well-kept parser,
//! independent of the writer).

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use innolab_proto::google::r#type::Date;
use innolab_proto::innolab::guidance::v1 as gd;
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_tests::fixtures::organization;
use innolab_tests::{Backend, Suite, on_both_backends};

fn text(language: &str, text: &str) -> ini::LocalizedText {
    ini::LocalizedText {
        language_code: language.into(),
        text: text.into(),
    }
}

fn translation(language: &str, title: &str, summary: &str, original: bool) -> gd::Translation {
    gd::Translation {
        language_code: language.into(),
        title: title.into(),
        summary: summary.into(),
        body: format!("{title}: the body."),
        original,
    }
}

/// GET `path` at the gateway, parsed as a feed.
async fn feed(suite: &Suite, path: &str) -> feed_rs::model::Feed {
    let answer = innolab_tests::http1(suite.gateway, "GET", path, &[], &[]).await;
    assert_eq!(
        answer.status,
        200,
        "{path}: {}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(
        answer.header("content-type"),
        Some("application/atom+xml; charset=utf-8")
    );
    let parsed = feed_rs::parser::parse(answer.body.as_slice())
        .unwrap_or_else(|e| panic!("{path}: {e}: {}", String::from_utf8_lossy(&answer.body)));
    assert_eq!(parsed.feed_type, feed_rs::model::FeedType::Atom);
    parsed
}

fn titles(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect()
}

async fn feeds_of_guidance_cases_and_calls(backend: Backend) {
    let suite = Suite::start(&backend).await;
    let channel = suite.channel().await;
    let mut guidance = gd::guidance_service_client::GuidanceServiceClient::new(channel.clone());
    let mut library =
        ini::initiatives_service_client::InitiativesServiceClient::new(channel.clone());
    let mut members =
        innolab_proto::innolab::membership::v1::membership_service_client::MembershipServiceClient::new(channel);
    let ministry = organization(&mut members, "Ministerul Digitalizării", "RO").await;

    // Two documents published (the second in Romanian and English), one
    // left as a draft.
    for (title, translations) in [
        (
            "Service design",
            vec![translation("en", "Service design", "How to start", true)],
        ),
        (
            "Achiziții inovative",
            vec![
                translation("ro", "Achiziții inovative", "Ghid", true),
                translation("en", "Innovative procurement", "A guide", false),
            ],
        ),
        ("Draft", vec![translation("en", "Draft only", "", true)]),
    ] {
        let d = guidance
            .create_document(gd::CreateDocumentRequest {
                document: Some(gd::Document {
                    r#type: gd::DocumentType::Guide as i32,
                    title: title.into(),
                    license: "CC-BY-4.0".into(),
                    topics: vec!["procurement".into()],
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let e = guidance
            .create_edition(gd::CreateEditionRequest {
                parent: d.name.clone(),
                edition: Some(gd::Edition {
                    translations,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        if title == "Draft" {
            continue;
        }
        guidance
            .submit_edition(gd::SubmitEditionRequest {
                name: e.name.clone(),
                etag: String::new(),
            })
            .await
            .unwrap();
        guidance
            .publish_edition(gd::PublishEditionRequest {
                name: e.name.clone(),
                etag: String::new(),
            })
            .await
            .unwrap();
    }
    let all = feed(&suite, "/feeds/guidance.atom").await;
    assert_eq!(titles(&all), ["Achiziții inovative", "Service design"]);
    // Ids are stable URNs of the editions (`documents/{d}/editions/{n}`).
    assert!(
        all.entries
            .iter()
            .all(|e| e.id.starts_with("urn:innolab:documents/") && e.id.contains("/editions/")),
        "{:?}",
        all.entries.iter().map(|e| &e.id).collect::<Vec<_>>()
    );
    assert_eq!(
        all.entries[1].summary.as_ref().unwrap().content,
        "How to start"
    );
    assert_eq!(all.entries[0].categories[0].term, "procurement");
    assert!(all.entries.iter().all(|e| e.published.is_some()));
    let english = feed(&suite, "/feeds/guidance.atom?lang=en").await;
    assert_eq!(
        titles(&english),
        ["Innovative procurement", "Service design"]
    );
    assert_eq!(english.language.as_deref(), Some("en"));
    let romanian = feed(&suite, "/feeds/guidance.atom?lang=ro").await;
    assert_eq!(titles(&romanian), ["Achiziții inovative"]);
    let filtered = feed(&suite, "/feeds/guidance.atom?filter=type%20%3D%20TOOLKIT").await;
    assert!(filtered.entries.is_empty());

    // Calls: one open, one opening in the future; a case accepted from the
    // open one, another rejected.
    let call = |title: &str, open: i32| ini::CreateInnovationCallRequest {
        call: Some(ini::InnovationCall {
            title: title.into(),
            description: "Public sector innovations of the year.".into(),
            open_date: Some(Date {
                year: open,
                month: 1,
                day: 1,
            }),
            close_date: Some(Date {
                year: 2999,
                month: 12,
                day: 31,
            }),
            ..Default::default()
        }),
        request_id: String::new(),
    };
    let open = library
        .create_innovation_call(call("Open call", 2020))
        .await
        .unwrap()
        .into_inner();
    library
        .create_innovation_call(call("Future call", 2998))
        .await
        .unwrap();
    let mut accepted_title = String::new();
    for (title, decision) in [
        ("Digital permits", ini::ScreeningDecision::Accept),
        ("Not yet", ini::ScreeningDecision::Reject),
    ] {
        let s = library
            .create_submission(ini::CreateSubmissionRequest {
                parent: open.name.clone(),
                submission: Some(ini::Submission {
                    initiative: Some(ini::Initiative {
                        titles: vec![text("en", title), text("ro", &format!("{title} (ro)"))],
                        summaries: vec![text("en", "A case")],
                        lead_organization: ministry.clone(),
                        country_code: "RO".into(),
                        ..Default::default()
                    }),
                    submitted_by: "people/ana-popescu".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        library
            .screen_submission(ini::ScreenSubmissionRequest {
                name: s.name.clone(),
                etag: String::new(),
                screening: Some(ini::Screening {
                    public_sector_involved: true,
                    novel_to_organization: true,
                    implemented_or_piloted: true,
                    public_impact: true,
                    decision: decision as i32,
                    decided_by: "groups/opsi-screening-panel".into(),
                    note: "screened".into(),
                    decide_time: None,
                }),
            })
            .await
            .unwrap();
        if decision == ini::ScreeningDecision::Accept {
            accepted_title = title.to_string();
        }
    }
    let calls = feed(&suite, "/feeds/calls.atom").await;
    assert_eq!(titles(&calls), ["Open call"]);
    let cases = feed(&suite, "/feeds/cases.atom").await;
    assert_eq!(titles(&cases), [accepted_title.clone()]);
    assert_eq!(cases.entries[0].summary.as_ref().unwrap().content, "A case");
    let cases_ro = feed(&suite, "/feeds/cases.atom?lang=ro").await;
    assert_eq!(titles(&cases_ro), [format!("{accepted_title} (ro)")]);
    let none = feed(&suite, "/feeds/cases.atom?lang=sv").await;
    assert!(none.entries.is_empty());

    // A bad filter is the list method's INVALID_ARGUMENT, as JSON.
    let answer = innolab_tests::http1(
        suite.gateway,
        "GET",
        "/feeds/calls.atom?filter=%3D%3D",
        &[],
        &[],
    )
    .await;
    assert_eq!(
        answer.status,
        400,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    suite.stop().await;
}

on_both_backends!(feeds_of_guidance_cases_and_calls);
