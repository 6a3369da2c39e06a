//! End-to-end tests of the guidance service: a real server on `127.0.0.1:0`
//! over a fresh database, real gRPC, the rules of
//! `proto/innolab/guidance/v1/guidance.proto` shown from the caller's side.
//!
//! Each test makes its own data on its own database and runs on SQLite, and
//! on PostgreSQL when `INNOLAB_TEST_POSTGRES_URL` is set.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use innolab_tests::assert::{Outcome, assert_code, assert_invalid, mask};
use std::collections::BTreeSet;
use std::time::Duration;

use innolab_kit::config::Settings;
use innolab_proto::google::r#type::Date;
use innolab_proto::innolab::guidance::v1 as pb;
use innolab_tests::{Backend, TestServer, on_both_backends};
use pb::guidance_service_client::GuidanceServiceClient;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use tonic::transport::Channel;
use tonic::{Code, Response, Status};
use tonic_health::pb::health_check_response::ServingStatus;

type Client = GuidanceServiceClient<Channel>;

on_both_backends!(
    document_round_trip,
    document_bad_input_names_every_field_and_stores_nothing,
    creates_are_idempotent,
    update_document_needs_a_known_mask_and_applies_only_it,
    update_document_with_stale_etag_is_aborted,
    unknown_and_malformed_names,
    list_documents_filters_and_pages,
    bad_list_requests_are_invalid,
    edition_lifecycle_publish_supersede_withdraw,
    illegal_transitions_leave_the_edition_unchanged,
    one_unpublished_edition_per_document,
    edition_bad_input_and_stale_etag,
    published_editions_never_change,
    translation_in_requested_language_or_original,
    search_romanian_cedilla_and_comma_below_match,
    search_swedish_far_is_not_far,
    search_finnish_inflected_form_finds_base_form,
    search_english_stemming_and_stop_words,
    search_covers_only_current_published_editions,
    search_filters_snippets_and_pages,
    search_bad_input_is_invalid,
    attachment_round_trip_in_chunks,
    attachment_checksum_mismatch_leaves_nothing,
    attachment_over_the_limit_leaves_nothing,
    attachment_broken_upload_leaves_nothing,
    attachment_bad_metadata_is_invalid,
);

// ---------------------------------------------------------------- helpers --

async fn start(backend: &Backend) -> (TestServer, Client) {
    let server = TestServer::guidance(backend).await;
    let client = GuidanceServiceClient::new(server.channel().await);
    (server, client)
}

fn document(title: &str) -> pb::Document {
    pb::Document {
        r#type: pb::DocumentType::Guide as i32,
        title: title.into(),
        license: "CC-BY-4.0".into(),
        ..Default::default()
    }
}

fn translation(language: &str, title: &str, body: &str, original: bool) -> pb::Translation {
    pb::Translation {
        language_code: language.into(),
        title: title.into(),
        summary: String::new(),
        body: body.into(),
        original,
    }
}

fn edition(translations: Vec<pb::Translation>) -> pb::Edition {
    pb::Edition {
        translations,
        ..Default::default()
    }
}

async fn create_document(client: &mut Client, doc: pb::Document) -> pb::Document {
    client
        .create_document(pb::CreateDocumentRequest {
            document: Some(doc),
            request_id: String::new(),
        })
        .await
        .accepted("CreateDocument")
}

async fn create_edition(client: &mut Client, parent: &str, e: pb::Edition) -> pb::Edition {
    client
        .create_edition(pb::CreateEditionRequest {
            parent: parent.into(),
            edition: Some(e),
            request_id: String::new(),
        })
        .await
        .accepted("CreateEdition")
}

async fn submit(client: &mut Client, name: &str) -> pb::Edition {
    client
        .submit_edition(pb::SubmitEditionRequest {
            name: name.into(),
            etag: String::new(),
        })
        .await
        .accepted("SubmitEdition")
}

async fn publish(client: &mut Client, name: &str) -> pb::Edition {
    client
        .publish_edition(pb::PublishEditionRequest {
            name: name.into(),
            etag: String::new(),
        })
        .await
        .accepted("PublishEdition")
}

/// Creates a document of `doc` and publishes one edition with `translations`.
async fn published(
    client: &mut Client,
    doc: pb::Document,
    translations: Vec<pb::Translation>,
) -> (pb::Document, pb::Edition) {
    let d = create_document(client, doc).await;
    let e = create_edition(client, &d.name, edition(translations)).await;
    submit(client, &e.name).await;
    let e = publish(client, &e.name).await;
    (d, e)
}

async fn get_edition(client: &mut Client, name: &str) -> pb::Edition {
    client
        .get_edition(pb::GetEditionRequest {
            name: name.into(),
            language_code: String::new(),
        })
        .await
        .accepted("GetEdition")
}

async fn search(client: &mut Client, query: &str, filter: &str) -> Vec<pb::SearchResult> {
    client
        .search_documents(pb::SearchDocumentsRequest {
            query: query.into(),
            filter: filter.into(),
            page_size: 100,
            page_token: String::new(),
        })
        .await
        .accepted("SearchDocuments")
        .results
}

fn documents_of(results: &[pb::SearchResult]) -> BTreeSet<String> {
    results.iter().map(|r| r.document.clone()).collect()
}

fn state(e: &pb::Edition) -> pb::EditionState {
    pb::EditionState::try_from(e.state).unwrap()
}

// -------------------------------------------------------------- documents --

async fn document_round_trip(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let doc = pb::Document {
        r#type: pb::DocumentType::Toolkit as i32,
        title: "Service design toolkit".into(),
        description: "Methods for designing public services with citizens.".into(),
        topics: vec!["Service Design".into(), "co-creation".into()],
        creators: vec!["organizations/sgg".into(), "organizations/opsi".into()],
        publisher: "organizations/sgg".into(),
        license: "NLOD-2.0".into(),
        related_initiatives: vec!["initiatives/abc".into()],
        lifecycle_stages: vec![
            pb::LifecycleStage::GeneratingIdeas as i32,
            pb::LifecycleStage::DevelopingProposals as i32,
        ],
        issue_date: Some(Date {
            year: 2026,
            month: 3,
            day: 1,
        }),
        ..Default::default()
    };
    let created = create_document(&mut client, doc.clone()).await;
    assert!(created.name.starts_with("documents/"));
    assert_eq!(created.title, doc.title);
    assert_eq!(created.topics, vec!["service design", "co-creation"]);
    assert_eq!(created.creators, doc.creators);
    assert_eq!(created.license, "NLOD-2.0");
    assert_eq!(created.lifecycle_stages, doc.lifecycle_stages);
    assert_eq!(created.issue_date, doc.issue_date);
    assert!(created.current_edition.is_empty());
    assert!(!created.etag.is_empty());
    let got = client
        .get_document(pb::GetDocumentRequest {
            name: created.name.clone(),
        })
        .await
        .accepted("GetDocument");
    assert_eq!(got, created);
    server.stop().await;
}

async fn document_bad_input_names_every_field_and_stores_nothing(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let status = client
        .create_document(pb::CreateDocumentRequest {
            document: Some(pb::Document {
                r#type: 0,
                title: "  ".into(),
                creators: vec!["people/x".into()],
                publisher: "sgg".into(),
                license: "CC-BY-5.0".into(),
                related_initiatives: vec!["initiatives/".into()],
                lifecycle_stages: vec![99],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .refused("CreateDocument with bad fields");
    for field in [
        "document.type",
        "document.title",
        "document.creators[0]",
        "document.publisher",
        "document.license",
        "document.related_initiatives[0]",
        "document.lifecycle_stages[0]",
    ] {
        assert_invalid(&status, field);
    }
    let status = client
        .create_document(pb::CreateDocumentRequest {
            document: None,
            request_id: String::new(),
        })
        .await
        .refused("CreateDocument without a document");
    assert_invalid(&status, "document");
    let listed = client
        .list_documents(pb::ListDocumentsRequest::default())
        .await
        .accepted("ListDocuments");
    assert!(listed.documents.is_empty());
    server.stop().await;
}

async fn creates_are_idempotent(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let request = pb::CreateDocumentRequest {
        document: Some(document("Idempotent")),
        request_id: "req-doc-1".into(),
    };
    let first = client
        .create_document(request.clone())
        .await
        .accepted("first");
    let second = client.create_document(request).await.accepted("retry");
    assert_eq!(first, second);
    let listed = client
        .list_documents(pb::ListDocumentsRequest::default())
        .await
        .accepted("ListDocuments");
    assert_eq!(listed.documents.len(), 1);

    let request = pb::CreateEditionRequest {
        parent: first.name.clone(),
        edition: Some(edition(vec![translation("en", "T", "Body", true)])),
        request_id: "req-ed-1".into(),
    };
    let e1 = client
        .create_edition(request.clone())
        .await
        .accepted("first");
    let e2 = client.create_edition(request).await.accepted("retry");
    assert_eq!(e1, e2);

    let content = b"hello attachment".to_vec();
    let a1 = upload(
        &mut client,
        &first.name,
        &content,
        &sha(&content),
        "req-a-1",
    )
    .await
    .unwrap();
    let a2 = upload(
        &mut client,
        &first.name,
        &content,
        &sha(&content),
        "req-a-1",
    )
    .await
    .unwrap();
    assert_eq!(a1, a2);
    let status = client
        .create_document(pb::CreateDocumentRequest {
            document: Some(document("x")),
            request_id: "has space".into(),
        })
        .await
        .refused("bad request id");
    assert_invalid(&status, "request_id");
    server.stop().await;
}

async fn update_document_needs_a_known_mask_and_applies_only_it(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let created = create_document(&mut client, document("Original title")).await;
    let mut changed = created.clone();
    changed.title = "New title".into();
    changed.license = "CC-BY-SA-4.0".into();
    let status = client
        .update_document(pb::UpdateDocumentRequest {
            document: Some(changed.clone()),
            update_mask: None,
        })
        .await
        .refused("no mask");
    assert_invalid(&status, "update_mask");
    let status = client
        .update_document(pb::UpdateDocumentRequest {
            document: Some(changed.clone()),
            update_mask: mask(&["current_edition"]),
        })
        .await
        .refused("output-only path");
    assert_invalid(&status, "update_mask");
    let updated = client
        .update_document(pb::UpdateDocumentRequest {
            document: Some(changed.clone()),
            update_mask: mask(&["title"]),
        })
        .await
        .accepted("masked update");
    assert_eq!(updated.title, "New title");
    assert_eq!(updated.license, "CC-BY-4.0");
    assert_ne!(updated.etag, created.etag);
    let mut bad = updated.clone();
    bad.license = "not-a-licence".into();
    let status = client
        .update_document(pb::UpdateDocumentRequest {
            document: Some(bad),
            update_mask: mask(&["*"]),
        })
        .await
        .refused("bad licence");
    assert_invalid(&status, "document.license");
    let all = client
        .update_document(pb::UpdateDocumentRequest {
            document: Some(pb::Document {
                etag: updated.etag.clone(),
                ..changed
            }),
            update_mask: mask(&["*"]),
        })
        .await
        .accepted("star update");
    assert_eq!(all.license, "CC-BY-SA-4.0");
    server.stop().await;
}

async fn update_document_with_stale_etag_is_aborted(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let created = create_document(&mut client, document("Etag")).await;
    let mut first = created.clone();
    first.title = "First writer".into();
    client
        .update_document(pb::UpdateDocumentRequest {
            document: Some(first),
            update_mask: mask(&["title"]),
        })
        .await
        .accepted("first writer");
    let mut second = created.clone();
    second.title = "Second writer".into();
    let status = client
        .update_document(pb::UpdateDocumentRequest {
            document: Some(second),
            update_mask: mask(&["title"]),
        })
        .await
        .refused("stale etag");
    assert_code(&status, Code::Aborted);
    let got = client
        .get_document(pb::GetDocumentRequest {
            name: created.name.clone(),
        })
        .await
        .accepted("GetDocument");
    assert_eq!(got.title, "First writer");
    let mut garbage = created;
    garbage.etag = "W/xyz".into();
    let status = client
        .update_document(pb::UpdateDocumentRequest {
            document: Some(garbage),
            update_mask: mask(&["title"]),
        })
        .await
        .refused("garbage etag");
    assert_invalid(&status, "document.etag");
    server.stop().await;
}

async fn unknown_and_malformed_names(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let status = client
        .get_document(pb::GetDocumentRequest {
            name: "documents/nope".into(),
        })
        .await
        .refused("unknown document");
    assert_code(&status, Code::NotFound);
    let status = client
        .get_document(pb::GetDocumentRequest {
            name: "guides/x".into(),
        })
        .await
        .refused("malformed");
    assert_invalid(&status, "name");
    let d = create_document(&mut client, document("Names")).await;
    for name in [
        format!("{}/editions/7", d.name),
        format!("{}/editions/current", d.name),
        "documents/nope/editions/1".to_string(),
    ] {
        let status = client
            .get_edition(pb::GetEditionRequest {
                name: name.clone(),
                language_code: String::new(),
            })
            .await
            .refused(&name);
        assert_code(&status, Code::NotFound);
    }
    for name in [
        format!("{}/editions/0", d.name),
        format!("{}/editions/x", d.name),
        format!("{}/edition/1", d.name),
    ] {
        let status = client
            .get_edition(pb::GetEditionRequest {
                name: name.clone(),
                language_code: String::new(),
            })
            .await
            .refused(&name);
        assert_invalid(&status, "name");
    }
    let status = client
        .create_edition(pb::CreateEditionRequest {
            parent: "documents/nope".into(),
            edition: Some(edition(vec![translation("en", "T", "B", true)])),
            request_id: String::new(),
        })
        .await
        .refused("edition of unknown document");
    assert_code(&status, Code::NotFound);
    let status = client
        .publish_edition(pb::PublishEditionRequest {
            name: format!("{}/editions/3", d.name),
            etag: String::new(),
        })
        .await
        .refused("publish unknown edition");
    assert_code(&status, Code::NotFound);
    let status = client
        .get_attachment(pb::GetAttachmentRequest {
            name: format!("{}/attachments/nope", d.name),
        })
        .await
        .refused("unknown attachment");
    assert_code(&status, Code::NotFound);
    let mut stream = client
        .download_attachment(pb::DownloadAttachmentRequest {
            name: format!("{}/attachments/nope", d.name),
        })
        .await;
    if let Ok(s) = &mut stream {
        let first = s.get_mut().message().await;
        assert_code(&first.unwrap_err(), Code::NotFound);
    } else {
        assert_code(&stream.unwrap_err(), Code::NotFound);
    }
    server.stop().await;
}

async fn list_documents_filters_and_pages(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let mut names = BTreeSet::new();
    for i in 0..7 {
        let mut doc = document(&format!("Playbook number {i}"));
        if i % 2 == 0 {
            doc.r#type = pb::DocumentType::Playbook as i32;
            doc.topics = vec!["Evaluation".into()];
            doc.lifecycle_stages = vec![pb::LifecycleStage::EvaluatingProjects as i32];
            doc.license = "CC-BY-SA-4.0".into();
        }
        names.insert(create_document(&mut client, doc).await.name);
    }
    let mut seen = BTreeSet::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let page = client
            .list_documents(pb::ListDocumentsRequest {
                page_size: 3,
                page_token: token.clone(),
                filter: String::new(),
            })
            .await
            .accepted("ListDocuments");
        pages += 1;
        for d in page.documents {
            assert!(seen.insert(d.name), "seen twice");
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, names);
    for filter in [
        "type = PLAYBOOK",
        "topic = \"evaluation\"",
        "lifecycle_stage = EVALUATING_PROJECTS",
        "license = \"CC-BY-SA-4.0\"",
        "type = PLAYBOOK AND license = \"CC-BY-SA-4.0\"",
    ] {
        let found = client
            .list_documents(pb::ListDocumentsRequest {
                filter: filter.into(),
                ..Default::default()
            })
            .await
            .accepted(filter);
        assert_eq!(found.documents.len(), 4, "{filter}");
    }
    let found = client
        .list_documents(pb::ListDocumentsRequest {
            filter: "\"number 3\"".into(),
            ..Default::default()
        })
        .await
        .accepted("free text");
    assert_eq!(found.documents.len(), 1);
    server.stop().await;
}

async fn bad_list_requests_are_invalid(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    for (request, field) in [
        (
            pb::ListDocumentsRequest {
                page_size: -1,
                ..Default::default()
            },
            "page_size",
        ),
        (
            pb::ListDocumentsRequest {
                page_token: "forged".into(),
                ..Default::default()
            },
            "page_token",
        ),
        (
            pb::ListDocumentsRequest {
                filter: "colour = RED".into(),
                ..Default::default()
            },
            "filter",
        ),
        (
            pb::ListDocumentsRequest {
                filter: "type = POEM".into(),
                ..Default::default()
            },
            "filter",
        ),
    ] {
        let status = client
            .list_documents(request)
            .await
            .refused("bad list request");
        assert_invalid(&status, field);
    }
    let d = create_document(&mut client, document("Editions")).await;
    let status = client
        .list_editions(pb::ListEditionsRequest {
            parent: d.name,
            filter: "state = DONE".into(),
            ..Default::default()
        })
        .await
        .refused("bad state");
    assert_invalid(&status, "filter");
    server.stop().await;
}

// --------------------------------------------------------------- editions --

async fn edition_lifecycle_publish_supersede_withdraw(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let d = create_document(&mut client, document("Lifecycle")).await;
    let e1 = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "First", "First body", true)]),
    )
    .await;
    assert_eq!(e1.name, format!("{}/editions/1", d.name));
    assert_eq!(state(&e1), pb::EditionState::Draft);
    let mut draft = e1.clone();
    draft.change_note = "Typos fixed".into();
    let e1 = client
        .update_edition(pb::UpdateEditionRequest {
            edition: Some(draft),
            update_mask: mask(&["change_note"]),
        })
        .await
        .accepted("update draft");
    assert_eq!(e1.change_note, "Typos fixed");
    assert_eq!(
        state(&submit(&mut client, &e1.name).await),
        pb::EditionState::Submitted
    );
    let e1 = publish(&mut client, &e1.name).await;
    assert_eq!(state(&e1), pb::EditionState::Published);
    assert!(e1.publish_time.is_some());
    let doc = client
        .get_document(pb::GetDocumentRequest {
            name: d.name.clone(),
        })
        .await
        .accepted("GetDocument");
    assert_eq!(doc.current_edition, e1.name);
    assert!(doc.issue_date.is_some());

    let e2 = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "Second", "Second body", true)]),
    )
    .await;
    assert_eq!(e2.name, format!("{}/editions/2", d.name));
    // The first edition is still current until the second is published.
    let current = get_edition(&mut client, &format!("{}/editions/current", d.name)).await;
    assert_eq!(current.name, e1.name);
    submit(&mut client, &e2.name).await;
    publish(&mut client, &e2.name).await;
    let current = get_edition(&mut client, &format!("{}/editions/current", d.name)).await;
    assert_eq!(current.name, e2.name);
    let old = get_edition(&mut client, &e1.name).await;
    assert_eq!(state(&old), pb::EditionState::Superseded);
    assert_eq!(old.translations[0].title, "First");

    let status = client
        .withdraw_edition(pb::WithdrawEditionRequest {
            name: e2.name.clone(),
            etag: String::new(),
            reason: String::new(),
        })
        .await
        .refused("withdraw without reason");
    assert_invalid(&status, "reason");
    let withdrawn = client
        .withdraw_edition(pb::WithdrawEditionRequest {
            name: e2.name.clone(),
            etag: String::new(),
            reason: "Replaced by the 2027 toolkit".into(),
        })
        .await
        .accepted("withdraw");
    assert_eq!(state(&withdrawn), pb::EditionState::Withdrawn);
    assert_eq!(withdrawn.state_reason, "Replaced by the 2027 toolkit");
    let status = client
        .get_edition(pb::GetEditionRequest {
            name: format!("{}/editions/current", d.name),
            language_code: String::new(),
        })
        .await
        .refused("no current edition");
    assert_code(&status, Code::NotFound);
    let listed = client
        .list_editions(pb::ListEditionsRequest {
            parent: d.name.clone(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .accepted("ListEditions");
    assert_eq!(listed.editions[0].name, e1.name);
    let rest = client
        .list_editions(pb::ListEditionsRequest {
            parent: d.name.clone(),
            page_size: 1,
            page_token: listed.next_page_token,
            ..Default::default()
        })
        .await
        .accepted("ListEditions page 2");
    assert_eq!(rest.editions[0].name, e2.name);
    assert!(rest.next_page_token.is_empty());
    let superseded = client
        .list_editions(pb::ListEditionsRequest {
            parent: d.name.clone(),
            filter: "state = SUPERSEDED".into(),
            ..Default::default()
        })
        .await
        .accepted("filter by state");
    assert_eq!(superseded.editions.len(), 1);
    server.stop().await;
}

async fn illegal_transitions_leave_the_edition_unchanged(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let d = create_document(&mut client, document("Illegal")).await;
    let e = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "T", "Body", true)]),
    )
    .await;
    let status = client
        .publish_edition(pb::PublishEditionRequest {
            name: e.name.clone(),
            etag: String::new(),
        })
        .await
        .refused("publish a draft");
    assert_code(&status, Code::FailedPrecondition);
    let status = client
        .withdraw_edition(pb::WithdrawEditionRequest {
            name: e.name.clone(),
            etag: String::new(),
            reason: "x".into(),
        })
        .await
        .refused("withdraw a draft");
    assert_code(&status, Code::FailedPrecondition);
    let status = client
        .reject_edition(pb::RejectEditionRequest {
            name: e.name.clone(),
            etag: String::new(),
            reason: "x".into(),
        })
        .await
        .refused("reject a draft");
    assert_code(&status, Code::FailedPrecondition);
    assert_eq!(get_edition(&mut client, &e.name).await, e);
    submit(&mut client, &e.name).await;
    let status = client
        .submit_edition(pb::SubmitEditionRequest {
            name: e.name.clone(),
            etag: String::new(),
        })
        .await
        .refused("submit twice");
    assert_code(&status, Code::FailedPrecondition);
    let rejected = client
        .reject_edition(pb::RejectEditionRequest {
            name: e.name.clone(),
            etag: String::new(),
            reason: "Needs sources".into(),
        })
        .await
        .accepted("reject");
    assert_eq!(state(&rejected), pb::EditionState::Rejected);
    let status = client
        .publish_edition(pb::PublishEditionRequest {
            name: e.name.clone(),
            etag: String::new(),
        })
        .await
        .refused("publish a rejected edition");
    assert_code(&status, Code::FailedPrecondition);
    assert_eq!(get_edition(&mut client, &e.name).await, rejected);
    server.stop().await;
}

async fn one_unpublished_edition_per_document(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let d = create_document(&mut client, document("One open")).await;
    let e = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "T", "Body", true)]),
    )
    .await;
    for _ in 0..2 {
        let status = client
            .create_edition(pb::CreateEditionRequest {
                parent: d.name.clone(),
                edition: Some(edition(vec![translation("en", "T2", "Body", true)])),
                request_id: String::new(),
            })
            .await
            .refused("second unpublished edition");
        assert_code(&status, Code::FailedPrecondition);
        if state(&get_edition(&mut client, &e.name).await) == pb::EditionState::Draft {
            submit(&mut client, &e.name).await;
        }
    }
    client
        .reject_edition(pb::RejectEditionRequest {
            name: e.name.clone(),
            etag: String::new(),
            reason: "no".into(),
        })
        .await
        .accepted("reject");
    let e2 = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "T2", "Body", true)]),
    )
    .await;
    assert_eq!(e2.name, format!("{}/editions/2", d.name));
    // Concurrent creates: exactly one wins.
    let d2 = create_document(&mut client, document("Race")).await;
    let mut calls = Vec::new();
    for i in 0..4 {
        let mut c = client.clone();
        let parent = d2.name.clone();
        calls.push(tokio::spawn(async move {
            c.create_edition(pb::CreateEditionRequest {
                parent,
                edition: Some(edition(vec![translation(
                    "en",
                    &format!("T{i}"),
                    "B",
                    true,
                )])),
                request_id: String::new(),
            })
            .await
        }));
    }
    let mut won = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(_) => won += 1,
            Err(s) => assert_code(&s, Code::FailedPrecondition),
        }
    }
    assert_eq!(won, 1);
    server.stop().await;
}

async fn edition_bad_input_and_stale_etag(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let d = create_document(&mut client, document("Bad editions")).await;
    let cases = [
        (vec![], "edition.translations"),
        (
            vec![
                translation("en", "A", "B", true),
                translation("ro", "A", "B", true),
            ],
            "edition.translations",
        ),
        (
            vec![translation("en", "A", "B", false)],
            "edition.translations",
        ),
        (
            vec![translation("not a tag", "A", "B", true)],
            "edition.translations[0].language_code",
        ),
        (
            vec![
                translation("sv", "A", "B", true),
                translation("SV", "A", "B", false),
            ],
            "edition.translations[1].language_code",
        ),
        (
            vec![translation("en", "", "B", true)],
            "edition.translations[0].title",
        ),
        (
            vec![translation("en", "A", "", true)],
            "edition.translations[0].body",
        ),
    ];
    for (translations, field) in cases {
        let status = client
            .create_edition(pb::CreateEditionRequest {
                parent: d.name.clone(),
                edition: Some(edition(translations)),
                request_id: String::new(),
            })
            .await
            .refused(field);
        assert_invalid(&status, field);
    }
    let listed = client
        .list_editions(pb::ListEditionsRequest {
            parent: d.name.clone(),
            ..Default::default()
        })
        .await
        .accepted("ListEditions");
    assert!(listed.editions.is_empty());
    let e = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "T", "Body", true)]),
    )
    .await;
    let mut changed = e.clone();
    changed.change_note = "one".into();
    client
        .update_edition(pb::UpdateEditionRequest {
            edition: Some(changed.clone()),
            update_mask: mask(&["change_note"]),
        })
        .await
        .accepted("first update");
    changed.change_note = "two".into();
    let status = client
        .update_edition(pb::UpdateEditionRequest {
            edition: Some(changed),
            update_mask: mask(&["change_note"]),
        })
        .await
        .refused("stale update");
    assert_code(&status, Code::Aborted);
    let status = client
        .submit_edition(pb::SubmitEditionRequest {
            name: e.name.clone(),
            etag: e.etag.clone(),
        })
        .await
        .refused("stale transition");
    assert_code(&status, Code::Aborted);
    let now = get_edition(&mut client, &e.name).await;
    assert_eq!(now.change_note, "one");
    assert_eq!(state(&now), pb::EditionState::Draft);
    server.stop().await;
}

async fn published_editions_never_change(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let (_, e) = published(
        &mut client,
        document("Frozen"),
        vec![translation("en", "Frozen", "Body", true)],
    )
    .await;
    let mut changed = e.clone();
    changed.translations[0].body = "Changed".into();
    let status = client
        .update_edition(pb::UpdateEditionRequest {
            edition: Some(changed),
            update_mask: mask(&["translations"]),
        })
        .await
        .refused("update a published edition");
    assert_code(&status, Code::FailedPrecondition);
    assert_eq!(get_edition(&mut client, &e.name).await, e);
    server.stop().await;
}

async fn translation_in_requested_language_or_original(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let (d, _) = published(
        &mut client,
        document("Ghid"),
        vec![
            translation("ro", "Ghid de inovare", "Text în română", true),
            translation("sv", "Innovationsguide", "Text på svenska", false),
        ],
    )
    .await;
    let current = format!("{}/editions/current", d.name);
    let sv = client
        .get_edition(pb::GetEditionRequest {
            name: current.clone(),
            language_code: "sv".into(),
        })
        .await
        .accepted("in Swedish");
    assert_eq!(sv.translations.len(), 1);
    assert_eq!(sv.translations[0].language_code, "sv");
    assert!(!sv.language_fallback);
    let regional = client
        .get_edition(pb::GetEditionRequest {
            name: current.clone(),
            language_code: "sv-FI".into(),
        })
        .await
        .accepted("in Finland Swedish");
    assert_eq!(regional.translations[0].language_code, "sv");
    let fallback = client
        .get_edition(pb::GetEditionRequest {
            name: current.clone(),
            language_code: "fi".into(),
        })
        .await
        .accepted("in Finnish");
    assert!(fallback.language_fallback);
    assert_eq!(fallback.translations.len(), 1);
    assert_eq!(fallback.translations[0].language_code, "ro");
    assert!(fallback.translations[0].original);
    let status = client
        .get_edition(pb::GetEditionRequest {
            name: current,
            language_code: "!!".into(),
        })
        .await
        .refused("bad language");
    assert_invalid(&status, "language_code");
    server.stop().await;
}

// ----------------------------------------------------------------- search --

async fn search_romanian_cedilla_and_comma_below_match(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let (cedilla, _) = published(
        &mut client,
        document("Cedilla"),
        vec![translation(
            "ro",
            "Ghid pentru instituţii",
            "Instituţiile publice şi şcolile pot testa idei noi.",
            true,
        )],
    )
    .await;
    let (comma, _) = published(
        &mut client,
        document("Comma"),
        vec![translation(
            "ro",
            "Ghid de științe comportamentale",
            "Științele comportamentale ajută administrația.",
            true,
        )],
    )
    .await;
    let found = search(&mut client, "instituțiile", "language = \"ro\"").await;
    assert_eq!(documents_of(&found), BTreeSet::from([cedilla.name.clone()]));
    assert!(found[0].snippet.contains("<b>"), "{}", found[0].snippet);
    let found = search(&mut client, "şcoli", "").await;
    assert_eq!(documents_of(&found), BTreeSet::from([cedilla.name.clone()]));
    let found = search(&mut client, "ştiinţele", "").await;
    assert_eq!(documents_of(&found), BTreeSet::from([comma.name.clone()]));
    // Romanian stop words alone match nothing.
    assert!(search(&mut client, "și pentru de", "").await.is_empty());
    server.stop().await;
}

async fn search_swedish_far_is_not_far(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let (far, _) = published(
        &mut client,
        document("Far"),
        vec![translation(
            "sv",
            "Föräldraledighet",
            "Min far tog ut föräldraledighet.",
            true,
        )],
    )
    .await;
    let (far_ring, _) = published(
        &mut client,
        document("Får"),
        vec![translation(
            "sv",
            "Bidrag",
            "Kommunen får statligt bidrag för innovation.",
            true,
        )],
    )
    .await;
    assert_eq!(
        documents_of(&search(&mut client, "får", "").await),
        BTreeSet::from([far_ring.name.clone()])
    );
    assert_eq!(
        documents_of(&search(&mut client, "far", "").await),
        BTreeSet::from([far.name.clone()])
    );
    server.stop().await;
}

async fn search_finnish_inflected_form_finds_base_form(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let (d, _) = published(
        &mut client,
        document("Talo"),
        vec![translation(
            "fi",
            "Kokeilu",
            "Kunta rakensi uuden talo kokeiluna.",
            true,
        )],
    )
    .await;
    let found = search(&mut client, "talossa", "language = \"fi\"").await;
    assert_eq!(documents_of(&found), BTreeSet::from([d.name.clone()]));
    assert_eq!(found[0].language_code, "fi");
    server.stop().await;
}

async fn search_english_stemming_and_stop_words(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let (d, _) = published(
        &mut client,
        document("Design"),
        vec![translation(
            "en",
            "Designing services",
            "How teams design public services with citizens.",
            true,
        )],
    )
    .await;
    for query in ["design", "designed services", "the service", "CITIZEN"] {
        assert_eq!(
            documents_of(&search(&mut client, query, "").await),
            BTreeSet::from([d.name.clone()]),
            "{query}"
        );
    }
    assert!(search(&mut client, "design banana", "").await.is_empty());
    assert!(search(&mut client, "the and of", "").await.is_empty());
    server.stop().await;
}

async fn search_covers_only_current_published_editions(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let d = create_document(&mut client, document("Only published")).await;
    let e1 = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "Pilot", "Alpha pilot report", true)]),
    )
    .await;
    assert!(search(&mut client, "alpha", "").await.is_empty(), "draft");
    submit(&mut client, &e1.name).await;
    assert!(
        search(&mut client, "alpha", "").await.is_empty(),
        "submitted"
    );
    publish(&mut client, &e1.name).await;
    assert_eq!(search(&mut client, "alpha", "").await.len(), 1);
    let e2 = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "Pilot", "Beta pilot report", true)]),
    )
    .await;
    submit(&mut client, &e2.name).await;
    publish(&mut client, &e2.name).await;
    assert!(
        search(&mut client, "alpha", "").await.is_empty(),
        "superseded"
    );
    let found = search(&mut client, "beta", "").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].edition, e2.name);
    // The index holds the current edition's postings and nothing else.
    let postings = || async {
        let db = innolab_kit::db::Database::connect_lazy(&server.db.settings).unwrap();
        let counted: (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM search_terms), (SELECT count(*) FROM search_terms \
             WHERE entry_id NOT IN (SELECT id FROM search_entries))",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        db.pool().close().await;
        counted
    };
    let (all, orphaned) = postings().await;
    assert!(all > 0);
    assert_eq!(orphaned, 0, "postings of the superseded edition");
    client
        .withdraw_edition(pb::WithdrawEditionRequest {
            name: e2.name.clone(),
            etag: String::new(),
            reason: "Out of date".into(),
        })
        .await
        .accepted("withdraw");
    assert!(
        search(&mut client, "beta", "").await.is_empty(),
        "withdrawn"
    );
    assert_eq!(
        postings().await,
        (0, 0),
        "postings of the withdrawn edition"
    );
    server.stop().await;
}

async fn search_filters_snippets_and_pages(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let mut toolkit = document("Toolkit");
    toolkit.r#type = pb::DocumentType::Toolkit as i32;
    toolkit.topics = vec!["Participation".into()];
    toolkit.lifecycle_stages = vec![pb::LifecycleStage::GeneratingIdeas as i32];
    toolkit.license = "CC-BY-SA-4.0".into();
    let (t, _) = published(
        &mut client,
        toolkit,
        vec![
            translation(
                "en",
                "Participation toolkit",
                "Workshops where citizens and civil servants prototype ideas together.",
                true,
            ),
            translation(
                "da",
                "Værktøjskasse",
                "Workshops hvor borgere og embedsmænd afprøver ideer.",
                false,
            ),
        ],
    )
    .await;
    let mut names = BTreeSet::from([t.name.clone()]);
    for i in 0..4 {
        let (d, _) = published(
            &mut client,
            document(&format!("Guide {i}")),
            vec![translation(
                "en",
                &format!("Workshop guide {i}"),
                "A guide to running workshops.",
                true,
            )],
        )
        .await;
        names.insert(d.name);
    }
    let all = search(&mut client, "workshops", "").await;
    // Five English texts and one Danish.
    assert_eq!(all.len(), 6);
    assert_eq!(documents_of(&all), names);
    assert!(all.windows(2).all(|w| w[0].score >= w[1].score));
    for r in &all {
        assert!(r.snippet.contains("<b>"), "snippet {:?}", r.snippet);
    }
    for filter in [
        "type = TOOLKIT",
        "topic = \"participation\"",
        "lifecycle_stage = GENERATING_IDEAS",
        "license = \"CC-BY-SA-4.0\"",
    ] {
        let found = search(&mut client, "workshops", filter).await;
        assert_eq!(found.len(), 2, "{filter}");
        assert_eq!(documents_of(&found), BTreeSet::from([t.name.clone()]));
    }
    let danish = search(&mut client, "borgere", "language = \"da\"").await;
    assert_eq!(danish.len(), 1);
    assert_eq!(danish[0].title, "Værktøjskasse");
    assert!(
        search(&mut client, "borgere", "language = \"en\"")
            .await
            .is_empty()
    );
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .search_documents(pb::SearchDocumentsRequest {
                query: "workshops".into(),
                filter: String::new(),
                page_size: 4,
                page_token: token.clone(),
            })
            .await
            .accepted("page");
        seen.extend(
            page.results
                .into_iter()
                .map(|r| (r.document, r.language_code)),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 6);
    server.stop().await;
}

async fn search_bad_input_is_invalid(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    for (query, filter, field) in [
        ("", "", "query"),
        ("  ", "", "query"),
        ("...", "", "query"),
        ("x", "colour = RED", "filter"),
        ("x", "loose words", "filter"),
        ("x", "type = POEM", "filter"),
        ("x", "language = \"!!\"", "filter"),
    ] {
        let status = client
            .search_documents(pb::SearchDocumentsRequest {
                query: query.into(),
                filter: filter.into(),
                page_size: 0,
                page_token: String::new(),
            })
            .await
            .refused(field);
        assert_invalid(&status, field);
    }
    let status = client
        .search_documents(pb::SearchDocumentsRequest {
            query: "x".into(),
            filter: String::new(),
            page_size: -3,
            page_token: String::new(),
        })
        .await
        .refused("negative page size");
    assert_invalid(&status, "page_size");
    server.stop().await;
}

/// The same corpus and queries give the same documents on SQLite and on
/// PostgreSQL (runs only when PostgreSQL is configured).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_gives_the_same_documents_on_sqlite_and_postgres() {
    let Some(postgres) = Backend::postgres() else {
        return;
    };
    let sqlite = corpus_results(Backend::Sqlite).await;
    let postgres = corpus_results(postgres).await;
    assert_eq!(sqlite, postgres);
    // The comparison is not vacuous: most queries find something.
    let found = sqlite.iter().filter(|(_, hits)| !hits.is_empty()).count();
    assert!(found >= 10, "{sqlite:#?}");
}

/// For each query, the titles (stable across databases) of the hits.
async fn corpus_results(backend: Backend) -> Vec<(String, BTreeSet<(String, String)>)> {
    let (server, mut client) = start(&backend).await;
    let corpus: &[(&str, &str, &str)] = &[
        (
            "ro",
            "Ghid de inovare în administrația publică",
            "Instituţiile publice pot testa servicii noi împreună cu cetăţenii.",
        ),
        (
            "ro",
            "Laborator de politici",
            "Științele comportamentale ajută la proiectarea politicilor publice.",
        ),
        (
            "sv",
            "Innovationsguide för kommuner",
            "Kommunen får stöd när medborgare deltar i utvecklingen av tjänster.",
        ),
        (
            "sv",
            "Föräldraledighet",
            "Min far berättar om digitala tjänster för familjer.",
        ),
        (
            "fi",
            "Kokeilukulttuuri",
            "Kunnat kokeilevat uusia palveluja talossa ja kaupungissa.",
        ),
        (
            "da",
            "Borgerinddragelse",
            "Borgerne deltager i udviklingen af offentlige tjenester.",
        ),
        (
            "nb",
            "Tjenestedesign",
            "Tjenestene utvikles sammen med innbyggerne i kommunene.",
        ),
        (
            "en",
            "Designing public services",
            "Teams designed services with citizens and tested prototypes.",
        ),
        (
            "de",
            "Leitfaden",
            "Öffentliche Dienste werden gemeinsam mit Bürgern gestaltet.",
        ),
    ];
    for (language, title, body) in corpus {
        published(
            &mut client,
            document(title),
            vec![translation(language, title, body, true)],
        )
        .await;
    }
    let queries = [
        "instituțiile",
        "cetățenii",
        "ştiinţele",
        "politici publice",
        "får",
        "far",
        "tjänster",
        "kokeilu",
        "palvelu",
        "borger",
        "tjenester",
        "design",
        "citizens services",
        "bürgern",
        "the",
    ];
    let mut out = Vec::new();
    for q in queries {
        let hits = search(&mut client, q, "").await;
        out.push((
            q.to_string(),
            hits.into_iter()
                .map(|h| (h.title, h.language_code))
                .collect(),
        ));
    }
    server.stop().await;
    out
}

// ------------------------------------------------------------ attachments --

fn sha(content: &[u8]) -> String {
    Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn upload_messages(
    parent: &str,
    content: &[u8],
    sha256: &str,
    request_id: &str,
) -> Vec<pb::UploadAttachmentRequest> {
    let mut messages = vec![pb::UploadAttachmentRequest {
        part: Some(pb::upload_attachment_request::Part::Metadata(
            pb::UploadMetadata {
                parent: parent.into(),
                attachment: Some(pb::Attachment {
                    filename: "toolkit.pdf".into(),
                    content_type: "application/pdf".into(),
                    sha256: sha256.into(),
                    ..Default::default()
                }),
                request_id: request_id.into(),
            },
        )),
    }];
    for chunk in content.chunks(256 * 1024) {
        messages.push(pb::UploadAttachmentRequest {
            part: Some(pb::upload_attachment_request::Part::Chunk(chunk.to_vec())),
        });
    }
    messages
}

async fn upload(
    client: &mut Client,
    parent: &str,
    content: &[u8],
    sha256: &str,
    request_id: &str,
) -> Result<pb::Attachment, Status> {
    let messages = upload_messages(parent, content, sha256, request_id);
    client
        .upload_attachment(tokio_stream::iter(messages))
        .await
        .map(Response::into_inner)
}

async fn attachments_of(client: &mut Client, parent: &str) -> Vec<pb::Attachment> {
    client
        .list_attachments(pb::ListAttachmentsRequest {
            parent: parent.into(),
            ..Default::default()
        })
        .await
        .accepted("ListAttachments")
        .attachments
}

async fn attachment_round_trip_in_chunks(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let d = create_document(&mut client, document("Files")).await;
    let content: Vec<u8> = (0..2_500_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let stored = upload(
        &mut client,
        &d.name,
        &content,
        &sha(&content).to_uppercase(),
        "",
    )
    .await
    .expect("upload");
    assert!(stored.name.starts_with(&format!("{}/attachments/", d.name)));
    assert_eq!(stored.size_bytes, content.len() as i64);
    assert_eq!(stored.sha256, sha(&content));
    assert_eq!(stored.content_type, "application/pdf");
    let got = client
        .get_attachment(pb::GetAttachmentRequest {
            name: stored.name.clone(),
        })
        .await
        .accepted("GetAttachment");
    assert_eq!(got, stored);
    assert_eq!(
        attachments_of(&mut client, &d.name).await,
        vec![stored.clone()]
    );
    let mut stream = client
        .download_attachment(pb::DownloadAttachmentRequest {
            name: stored.name.clone(),
        })
        .await
        .accepted("DownloadAttachment");
    let first = stream.message().await.unwrap().unwrap();
    assert_eq!(
        first.part,
        Some(pb::download_attachment_response::Part::Attachment(
            stored.clone()
        ))
    );
    let mut downloaded = Vec::new();
    while let Some(m) = stream.message().await.unwrap() {
        match m.part {
            Some(pb::download_attachment_response::Part::Chunk(c)) => downloaded.extend(c),
            other => panic!("unexpected part {other:?}"),
        }
    }
    assert_eq!(downloaded.len(), content.len());
    assert!(downloaded == content);
    server.stop().await;
}

async fn attachment_checksum_mismatch_leaves_nothing(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let d = create_document(&mut client, document("Checksum")).await;
    let content = vec![42u8; 700_000];
    let status = upload(&mut client, &d.name, &content, &sha(b"other"), "")
        .await
        .unwrap_err();
    assert_invalid(&status, "metadata.attachment.sha256");
    assert!(attachments_of(&mut client, &d.name).await.is_empty());
    // The same content with the right checksum is then accepted.
    upload(&mut client, &d.name, &content, &sha(&content), "")
        .await
        .expect("upload");
    assert_eq!(attachments_of(&mut client, &d.name).await.len(), 1);
    server.stop().await;
}

/// The guidance service with a 1000-byte attachment limit.
fn small_limit(
    listener: tokio::net::TcpListener,
    settings: Settings,
    stop: oneshot::Receiver<()>,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send>> {
    Box::pin(innolab_guidance::serve_with(
        listener,
        settings,
        innolab_guidance::Options {
            max_attachment_bytes: 1000,
        },
        async {
            let _ = stop.await;
        },
    ))
}

async fn attachment_over_the_limit_leaves_nothing(backend: Backend) {
    let server = TestServer::start(&backend, "guidance", small_limit, |_| {}).await;
    server.wait_for("", ServingStatus::Serving).await;
    let mut client = GuidanceServiceClient::new(server.channel().await);
    let d = create_document(&mut client, document("Limit")).await;
    let big = vec![1u8; 1001];
    let status = upload(&mut client, &d.name, &big, &sha(&big), "")
        .await
        .unwrap_err();
    assert_invalid(&status, "chunk");
    assert!(status.message().contains("1000"), "{}", status.message());
    assert!(attachments_of(&mut client, &d.name).await.is_empty());
    let fits = vec![1u8; 1000];
    upload(&mut client, &d.name, &fits, &sha(&fits), "")
        .await
        .expect("upload at the limit");
    server.stop().await;
}

async fn attachment_broken_upload_leaves_nothing(backend: Backend) {
    let (server, client) = start(&backend).await;
    let mut c = client.clone();
    let d = create_document(&mut c, document("Broken")).await;
    let content = vec![3u8; 600_000];
    let mut messages = upload_messages(&d.name, &content, &sha(&content), "");
    messages.truncate(2);
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    for m in messages {
        tx.send(m).await.unwrap();
    }
    let mut caller = client.clone();
    let call = tokio::spawn(async move {
        caller
            .upload_attachment(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
    });
    // Let the server take the first chunk, then cut the call off.
    tokio::time::sleep(Duration::from_millis(500)).await;
    call.abort();
    let _ = call.await;
    drop(tx);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut c = client.clone();
    assert!(attachments_of(&mut c, &d.name).await.is_empty());
    // The service still takes writes (no lock left behind).
    upload(&mut c, &d.name, &content, &sha(&content), "")
        .await
        .expect("upload after a broken one");
    server.stop().await;
}

async fn attachment_bad_metadata_is_invalid(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let d = create_document(&mut client, document("Metadata")).await;
    let chunk_first = vec![pb::UploadAttachmentRequest {
        part: Some(pb::upload_attachment_request::Part::Chunk(vec![1, 2, 3])),
    }];
    let status = client
        .upload_attachment(tokio_stream::iter(chunk_first))
        .await
        .refused("chunk first");
    assert_invalid(&status, "metadata");
    let mut messages = upload_messages(&d.name, b"abc", "xyz", "");
    if let Some(pb::upload_attachment_request::Part::Metadata(m)) = &mut messages[0].part {
        let a = m.attachment.as_mut().unwrap();
        a.filename = "../etc/passwd".into();
        a.content_type = "pdf".into();
    }
    let status = client
        .upload_attachment(tokio_stream::iter(messages))
        .await
        .refused("bad metadata");
    for field in [
        "metadata.attachment.filename",
        "metadata.attachment.content_type",
        "metadata.attachment.sha256",
    ] {
        assert_invalid(&status, field);
    }
    let status = upload(&mut client, "documents/nope", b"abc", &sha(b"abc"), "")
        .await
        .unwrap_err();
    assert_code(&status, Code::NotFound);
    let status = upload(&mut client, &d.name, b"", &sha(b""), "")
        .await
        .unwrap_err();
    assert_invalid(&status, "chunk");
    assert!(attachments_of(&mut client, &d.name).await.is_empty());
    server.stop().await;
}
