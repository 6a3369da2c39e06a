//! Documents: create, read, update with a mask and an etag, list with filters
//! and pages, and the names a caller can get wrong.

use innolab_proto::google::r#type::Date;

use super::*;

innolab_tests::on_both_backends!(
    document_round_trip,
    document_bad_input_names_every_field_and_stores_nothing,
    creates_are_idempotent,
    update_document_needs_a_known_mask_and_applies_only_it,
    update_document_with_stale_etag_is_aborted,
    unknown_and_malformed_names,
    list_documents_filters_and_pages,
    bad_list_requests_are_invalid,
);

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
