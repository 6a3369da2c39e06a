//! The membership change log: every committed write once, in commit order,
//! without gaps; resumable from a cursor; failed writes leave no trace.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::time::Duration;

use innolab_proto::innolab::common::v1::{Change, ChangeType};
use innolab_proto::innolab::membership::v1 as pb;
use innolab_tests::{Backend, TestServer};
use pb::membership_service_client::MembershipServiceClient;
use prost_types::FieldMask;
use tonic::Code;
use tonic::transport::Channel;

type Client = MembershipServiceClient<Channel>;

fn organization(name: &str) -> pb::Organization {
    pb::Organization {
        display_names: vec![pb::LocalizedText {
            language_code: "sv".into(),
            text: name.into(),
        }],
        kind: pb::OrganizationKind::Government as i32,
        country_code: "SE".into(),
        ..Default::default()
    }
}

async fn create(client: &mut Client, name: &str) -> pb::Organization {
    client
        .create_organization(pb::CreateOrganizationRequest {
            organization: Some(organization(name)),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
}

async fn read_all(client: &mut Client, after: i64) -> Vec<Change> {
    let mut stream = client
        .stream_changes(pb::StreamChangesRequest {
            after_sequence: after,
            follow: false,
        })
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(change) = stream.message().await.unwrap() {
        out.push(change);
    }
    out
}

async fn log_records_every_write_in_order_and_resumes(backend: Backend) {
    let server = TestServer::membership(&backend).await;
    let mut client = MembershipServiceClient::new(server.channel().await);

    let org = create(&mut client, "Regeringskansliet").await;
    let mut changed = org.clone();
    changed.homepage_uri = "https://www.regeringen.se".into();
    client
        .update_organization(pb::UpdateOrganizationRequest {
            organization: Some(changed),
            update_mask: Some(FieldMask {
                paths: vec!["homepage_uri".into()],
            }),
        })
        .await
        .unwrap();
    // Failed writes leave no trace: bad input, stale etag, retried create.
    let mut stale = org.clone();
    stale.homepage_uri = "https://example.org".into();
    let status = client
        .update_organization(pb::UpdateOrganizationRequest {
            organization: Some(stale),
            update_mask: Some(FieldMask {
                paths: vec!["homepage_uri".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    let status = client
        .create_organization(pb::CreateOrganizationRequest {
            organization: Some(pb::Organization {
                country_code: "XX".into(),
                ..organization("X")
            }),
            request_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    for _ in 0..2 {
        client
            .create_organization(pb::CreateOrganizationRequest {
                organization: Some(organization("Skatteverket")),
                request_id: "same-request".into(),
            })
            .await
            .unwrap();
    }

    let all = read_all(&mut client, 0).await;
    let summary: Vec<(i64, &str, i32, i64)> = all
        .iter()
        .map(|c| (c.sequence, c.resource.as_str(), c.r#type, c.revision))
        .collect();
    assert_eq!(summary.len(), 3, "{summary:?}");
    assert_eq!(
        summary[0],
        (1, org.name.as_str(), ChangeType::Created as i32, 1)
    );
    assert_eq!(
        summary[1],
        (2, org.name.as_str(), ChangeType::Updated as i32, 2)
    );
    assert_eq!(summary[2].0, 3);
    assert_eq!(summary[2].2, ChangeType::Created as i32);

    // Resuming after 1 gives exactly what followed it.
    let rest = read_all(&mut client, 1).await;
    assert_eq!(
        rest.iter().map(|c| c.sequence).collect::<Vec<_>>(),
        vec![2, 3]
    );
    assert!(read_all(&mut client, 3).await.is_empty());

    let status = client
        .stream_changes(pb::StreamChangesRequest {
            after_sequence: -1,
            follow: false,
        })
        .await
        .expect_err("negative cursor refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    server.stop().await;
}

async fn following_stream_delivers_new_changes(backend: Backend) {
    let server = TestServer::membership(&backend).await;
    let mut client = MembershipServiceClient::new(server.channel().await);
    create(&mut client, "Digg").await;
    let mut stream = client
        .stream_changes(pb::StreamChangesRequest {
            after_sequence: 1,
            follow: true,
        })
        .await
        .unwrap()
        .into_inner();
    let later = create(&mut client, "Vinnova").await;
    let next = tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("a new change arrives while following")
        .unwrap()
        .unwrap();
    assert_eq!(next.sequence, 2);
    assert_eq!(next.resource, later.name);
    drop(stream);
    server.stop().await;
}

async fn concurrent_writes_get_gapless_sequences(backend: Backend) {
    let server = TestServer::membership(&backend).await;
    let channel = server.channel().await;
    let mut tasks = Vec::new();
    for i in 0..20 {
        let mut client = MembershipServiceClient::new(channel.clone());
        tasks.push(tokio::spawn(async move {
            create(&mut client, &format!("Myndighet {i}")).await.name
        }));
    }
    let mut created = BTreeSet::new();
    for task in tasks {
        created.insert(task.await.unwrap());
    }
    let mut client = MembershipServiceClient::new(channel);
    let log = read_all(&mut client, 0).await;
    assert_eq!(
        log.iter().map(|c| c.sequence).collect::<Vec<_>>(),
        (1..=20).collect::<Vec<_>>(),
        "gapless, in order"
    );
    let logged: BTreeSet<String> = log.into_iter().map(|c| c.resource).collect();
    assert_eq!(logged, created, "each write logged exactly once");
    server.stop().await;
}

innolab_tests::on_both_backends!(
    log_records_every_write_in_order_and_resumes,
    following_stream_delivers_new_changes,
    concurrent_writes_get_gapless_sequences,
);
