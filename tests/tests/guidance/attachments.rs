//! Attachments: chunked uploads and downloads, checksums, the size limit, and
//! broken or wrong uploads that leave nothing behind.

use std::time::Duration;

use innolab_kit::config::Settings;
use innolab_tests::fixtures::stalled_upload;
use tokio::sync::oneshot;
use tonic_health::pb::health_check_response::ServingStatus;

use super::*;

innolab_tests::on_both_backends!(
    attachment_round_trip_in_chunks,
    attachment_checksum_mismatch_leaves_nothing,
    attachment_over_the_limit_leaves_nothing,
    attachment_broken_upload_leaves_nothing,
    attachment_bad_metadata_is_invalid,
);

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
    let (tx, stream) = stalled_upload(&d.name, "toolkit.pdf", content[..256 * 1024].to_vec()).await;
    let mut caller = client.clone();
    let call = tokio::spawn(async move { caller.upload_attachment(stream).await });
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
