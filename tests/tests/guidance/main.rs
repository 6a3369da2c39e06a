//! End-to-end tests of the guidance service: a real server on `127.0.0.1:0`
//! over a fresh database, real gRPC, the rules of
//! `proto/innolab/guidance/v1/guidance.proto` shown from the caller's side.
//!
//! Each test makes its own data on its own database and runs on SQLite, and
//! on PostgreSQL when `INNOLAB_TEST_POSTGRES_URL` is set (`cargo test --test
//! guidance -- postgres::` selects those runs). One module per resource; the
//! helpers they share are here.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod attachments;
mod documents;
mod editions;
mod export;
mod search;

use std::collections::BTreeSet;

use innolab_proto::innolab::guidance::v1 as pb;
use innolab_tests::assert::{Outcome, assert_code, assert_invalid, mask};
use innolab_tests::{Backend, TestServer};
use pb::guidance_service_client::GuidanceServiceClient;
use sha2::{Digest as _, Sha256};
use tonic::transport::Channel;
use tonic::{Code, Response, Status};

type Client = GuidanceServiceClient<Channel>;

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

/// The lower-case hex SHA-256 of `content`, as uploads announce it.
fn sha(content: &[u8]) -> String {
    Sha256::digest(content)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The messages of an upload of `content` to `parent`: the metadata, then
/// chunks of 256 KiB.
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

/// Uploads `content` to `parent`, announcing `sha256`.
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
