//! The guidance change log: every committed write of the service (documents,
//! editions and their lifecycle, attachments) once, in commit order, without
//! gaps; resumable from a cursor; failed writes and idempotent retries leave
//! no trace.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use innolab_proto::innolab::common::v1::{Change, ChangeType};
use innolab_proto::innolab::guidance::v1 as pb;
use innolab_tests::assert::{assert_code, mask};
use innolab_tests::{Backend, TestServer};
use pb::guidance_service_client::GuidanceServiceClient;
use sha2::{Digest, Sha256};
use tonic::Code;
use tonic::transport::Channel;

type Client = GuidanceServiceClient<Channel>;

const CREATED: i32 = ChangeType::Created as i32;
const UPDATED: i32 = ChangeType::Updated as i32;

innolab_tests::on_both_backends!(
    every_write_is_logged_once_in_order_and_resumes,
    failed_writes_and_retries_log_nothing,
    following_stream_delivers_new_changes,
);

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

fn edition(title: &str) -> pb::Edition {
    pb::Edition {
        translations: vec![pb::Translation {
            language_code: "en".into(),
            title: title.into(),
            summary: String::new(),
            body: "How to run a user interview.".into(),
            original: true,
        }],
        ..Default::default()
    }
}

async fn create_document(
    client: &mut Client,
    title: &str,
    request_id: &str,
) -> Result<pb::Document, tonic::Status> {
    client
        .create_document(pb::CreateDocumentRequest {
            document: Some(document(title)),
            request_id: request_id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn create_edition(
    client: &mut Client,
    parent: &str,
    request_id: &str,
) -> Result<pb::Edition, tonic::Status> {
    client
        .create_edition(pb::CreateEditionRequest {
            parent: parent.into(),
            edition: Some(edition("User interviews")),
            request_id: request_id.into(),
        })
        .await
        .map(tonic::Response::into_inner)
}

async fn submit(client: &mut Client, name: &str) -> pb::Edition {
    client
        .submit_edition(pb::SubmitEditionRequest {
            name: name.into(),
            etag: String::new(),
        })
        .await
        .expect("submit")
        .into_inner()
}

async fn publish(client: &mut Client, name: &str) -> pb::Edition {
    client
        .publish_edition(pb::PublishEditionRequest {
            name: name.into(),
            etag: String::new(),
        })
        .await
        .expect("publish")
        .into_inner()
}

fn sha(content: &[u8]) -> String {
    Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

async fn upload(
    client: &mut Client,
    parent: &str,
    content: &[u8],
    sha256: &str,
    request_id: &str,
) -> Result<pb::Attachment, tonic::Status> {
    let messages = vec![
        pb::UploadAttachmentRequest {
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
        },
        pb::UploadAttachmentRequest {
            part: Some(pb::upload_attachment_request::Part::Chunk(content.to_vec())),
        },
    ];
    client
        .upload_attachment(tokio_stream::iter(messages))
        .await
        .map(tonic::Response::into_inner)
}

/// Everything in the log after `after` (a non-following stream ends when it
/// has caught up).
async fn changes_after(client: &mut Client, after: i64) -> Vec<Change> {
    let mut stream = client
        .stream_changes(pb::StreamChangesRequest {
            after_sequence: after,
            follow: false,
        })
        .await
        .expect("stream changes")
        .into_inner();
    let mut out = Vec::new();
    while let Some(change) = stream.message().await.expect("change") {
        out.push(change);
    }
    out
}

fn summary(changes: &[Change]) -> Vec<(String, i32, i64)> {
    changes
        .iter()
        .map(|c| (c.resource.clone(), c.r#type, c.revision))
        .collect()
}

fn assert_gapless(changes: &[Change], first: i64) {
    for (i, c) in changes.iter().enumerate() {
        assert_eq!(c.sequence, first + i as i64, "sequence of {c:?}");
        assert!(c.time.is_some(), "time of {c:?}");
    }
}

async fn every_write_is_logged_once_in_order_and_resumes(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    assert!(changes_after(&mut client, 0).await.is_empty());

    let d = create_document(&mut client, "User interviews", "")
        .await
        .expect("create document");
    let mut changed = d.clone();
    changed.description = "A method card.".into();
    let d2 = client
        .update_document(pb::UpdateDocumentRequest {
            document: Some(changed),
            update_mask: mask(&["description"]),
        })
        .await
        .expect("update document")
        .into_inner();
    let e1 = create_edition(&mut client, &d.name, "")
        .await
        .expect("edition 1");
    submit(&mut client, &e1.name).await;
    publish(&mut client, &e1.name).await;
    let e2 = create_edition(&mut client, &d.name, "")
        .await
        .expect("edition 2");
    submit(&mut client, &e2.name).await;
    publish(&mut client, &e2.name).await;
    let content = b"%PDF-1.4 toolkit".to_vec();
    let a = upload(&mut client, &d.name, &content, &sha(&content), "")
        .await
        .expect("upload");

    let all = changes_after(&mut client, 0).await;
    assert_gapless(&all, 1);
    let doc = d.name.clone();
    let (n1, n2) = (e1.name.clone(), e2.name.clone());
    assert_eq!(
        summary(&all),
        vec![
            (doc.clone(), CREATED, 1),
            (doc.clone(), UPDATED, 2),
            (n1.clone(), CREATED, 1),
            (n1.clone(), UPDATED, 2),
            // Publishing edition 1: the edition, then the document.
            (n1.clone(), UPDATED, 3),
            (doc.clone(), UPDATED, 3),
            (n2.clone(), CREATED, 1),
            (n2.clone(), UPDATED, 2),
            // Publishing edition 2 supersedes edition 1: both, then the document.
            (n1.clone(), UPDATED, 4),
            (n2.clone(), UPDATED, 3),
            (doc.clone(), UPDATED, 4),
            (a.name.clone(), CREATED, 1),
        ]
    );
    assert_eq!(d2.name, doc);
    assert!(a.name.starts_with(&format!("{doc}/attachments/")));

    // The revisions logged are the ones the resources now have.
    let stored = client
        .get_document(pb::GetDocumentRequest { name: doc.clone() })
        .await
        .expect("get document")
        .into_inner();
    assert_eq!(stored.etag, "r4", "document etag");

    // Resuming after any sequence gives exactly the rest.
    for after in [0, 1, 5, 11, 12, 40] {
        let rest = changes_after(&mut client, after).await;
        let expected: Vec<Change> = all.iter().filter(|c| c.sequence > after).cloned().collect();
        assert_eq!(rest, expected, "after {after}");
    }

    // A negative cursor is refused.
    let status = client
        .stream_changes(pb::StreamChangesRequest {
            after_sequence: -1,
            follow: false,
        })
        .await
        .expect_err("negative cursor");
    assert_code(&status, Code::InvalidArgument);
    server.stop().await;
}

async fn failed_writes_and_retries_log_nothing(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let d = create_document(&mut client, "Service design", "doc-1")
        .await
        .expect("create document");
    let e = create_edition(&mut client, &d.name, "ed-1")
        .await
        .expect("create edition");
    let content = b"attachment".to_vec();
    let a = upload(&mut client, &d.name, &content, &sha(&content), "att-1")
        .await
        .expect("upload");
    let before = changes_after(&mut client, 0).await;
    assert_eq!(before.len(), 3);

    // Idempotent retries return the first results and log nothing.
    let again = create_document(&mut client, "Service design", "doc-1")
        .await
        .expect("retry document");
    assert_eq!(again.name, d.name);
    let again = create_edition(&mut client, &d.name, "ed-1")
        .await
        .expect("retry edition");
    assert_eq!(again.name, e.name);
    let again = upload(&mut client, &d.name, &content, &sha(&content), "att-1")
        .await
        .expect("retry upload");
    assert_eq!(again.name, a.name);

    // Failed writes log nothing.
    let status = create_document(&mut client, "", "")
        .await
        .expect_err("document without title");
    assert_code(&status, Code::InvalidArgument);
    let status = create_edition(&mut client, &d.name, "")
        .await
        .expect_err("second unpublished edition");
    assert_code(&status, Code::FailedPrecondition);
    let status = create_edition(&mut client, "documents/nope", "")
        .await
        .expect_err("edition of an unknown document");
    assert_ne!(status.code(), Code::Ok);
    let status = client
        .publish_edition(pb::PublishEditionRequest {
            name: e.name.clone(),
            etag: String::new(),
        })
        .await
        .expect_err("publish a draft");
    assert_code(&status, Code::FailedPrecondition);
    let mut stale = d.clone();
    stale.description = "Stale.".into();
    stale.etag = "r9".into();
    let status = client
        .update_document(pb::UpdateDocumentRequest {
            document: Some(stale),
            update_mask: mask(&["description"]),
        })
        .await
        .expect_err("stale etag");
    assert_code(&status, Code::Aborted);
    let status = upload(&mut client, &d.name, &content, &sha(b"other"), "")
        .await
        .expect_err("checksum mismatch");
    assert_ne!(status.code(), Code::Ok);

    assert_eq!(changes_after(&mut client, 0).await, before);

    // The next write takes the next sequence.
    submit(&mut client, &e.name).await;
    let after = changes_after(&mut client, 3).await;
    assert_eq!(summary(&after), vec![(e.name.clone(), UPDATED, 2)]);
    assert_eq!(after[0].sequence, 4);
    server.stop().await;
}

async fn following_stream_delivers_new_changes(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let d = create_document(&mut client, "Playbook", "")
        .await
        .expect("create document");
    let mut stream = client
        .stream_changes(pb::StreamChangesRequest {
            after_sequence: 0,
            follow: true,
        })
        .await
        .expect("follow")
        .into_inner();
    let first = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("first change in time")
        .expect("first change")
        .expect("stream open");
    assert_eq!(
        (first.sequence, first.resource.clone()),
        (1, d.name.clone())
    );

    let e = create_edition(&mut client, &d.name, "")
        .await
        .expect("create edition");
    let next = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("new change in time")
        .expect("new change")
        .expect("stream open");
    assert_eq!(next.sequence, 2);
    assert_eq!(
        (next.resource, next.r#type, next.revision),
        (e.name, CREATED, 1)
    );
    drop(stream);
    server.stop().await;
}
