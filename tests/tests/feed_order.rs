//! The gateway's merged change feed is one timeline: writes that alternate
//! between the four services are read back in the order they committed,
//! both when catching up and when following.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use innolab_proto::innolab::gateway::v1 as gw;
use innolab_proto::innolab::guidance::v1 as gd;
use innolab_proto::innolab::impact::v1 as im;
use innolab_proto::innolab::initiatives::v1 as ini;
use innolab_proto::innolab::membership::v1 as mb;
use innolab_tests::fixtures::organization;
use innolab_tests::{Backend, Suite, on_both_backends};
use tonic::transport::Channel;

/// Clients of the four services and the gateway's feed, all through the gateway.
struct Clients {
    members: mb::membership_service_client::MembershipServiceClient<Channel>,
    library: ini::initiatives_service_client::InitiativesServiceClient<Channel>,
    guides: gd::guidance_service_client::GuidanceServiceClient<Channel>,
    assessments: im::impact_service_client::ImpactServiceClient<Channel>,
    feed: gw::gateway_service_client::GatewayServiceClient<Channel>,
}

/// One write to `service`; the resource it created.
async fn write(c: &mut Clients, service: &str, lead: &str, initiative: &str, n: usize) -> String {
    match service {
        "membership" => organization(&mut c.members, &format!("Kommune {n}"), "DK").await,
        "initiatives" => {
            c.library
                .create_challenge(ini::CreateChallengeRequest {
                    challenge: Some(ini::Challenge {
                        title: format!("Challenge {n}"),
                        raised_by: lead.to_string(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .unwrap()
                .into_inner()
                .name
        }
        "guidance" => {
            c.guides
                .create_document(gd::CreateDocumentRequest {
                    document: Some(gd::Document {
                        r#type: gd::DocumentType::Guide as i32,
                        title: format!("Guide {n}"),
                        license: "CC-BY-4.0".into(),
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .unwrap()
                .into_inner()
                .name
        }
        _ => {
            c.assessments
                .create_assessment(im::CreateAssessmentRequest {
                    assessment: Some(im::Assessment {
                        initiative: initiative.to_string(),
                        title: format!("Assessment {n}"),
                        nesta_level: 2,
                        maryland_level: 2,
                        ..Default::default()
                    }),
                    request_id: String::new(),
                })
                .await
                .unwrap()
                .into_inner()
                .name
        }
    }
}

/// Which of `ours` the changes read from `cursor` name, in the order read,
/// and the cursor after the last: to the end, or (with `follow`) until each
/// of `ours` was seen.
async fn read(
    c: &mut Clients,
    cursor: &str,
    follow: bool,
    ours: &[String],
) -> (Vec<String>, String) {
    let mut stream = c
        .feed
        .stream_changes(gw::StreamChangesRequest {
            cursor: cursor.to_string(),
            follow,
        })
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    let mut last = cursor.to_string();
    loop {
        let next = tokio::time::timeout(Duration::from_secs(20), stream.message())
            .await
            .expect("the feed delivers within 20 s")
            .unwrap();
        let Some(item) = next else { break };
        last = item.cursor.clone();
        let resource = item.change.unwrap().resource;
        if ours.contains(&resource) {
            seen.push(resource);
        }
        if follow && seen.len() == ours.len() {
            break;
        }
    }
    (seen, last)
}

async fn alternating_writes_read_back_in_commit_order(backend: Backend) {
    let suite = Suite::start(&backend).await;
    let channel = suite.channel().await;
    let mut c = Clients {
        members: mb::membership_service_client::MembershipServiceClient::new(channel.clone()),
        library: ini::initiatives_service_client::InitiativesServiceClient::new(channel.clone()),
        guides: gd::guidance_service_client::GuidanceServiceClient::new(channel.clone()),
        assessments: im::impact_service_client::ImpactServiceClient::new(channel.clone()),
        feed: gw::gateway_service_client::GatewayServiceClient::new(channel),
    };
    let lead = organization(&mut c.members, "Digitaliseringsstyrelsen", "DK").await;
    let initiative = c
        .library
        .create_initiative(ini::CreateInitiativeRequest {
            initiative: Some(ini::Initiative {
                titles: vec![ini::LocalizedText {
                    language_code: "da".into(),
                    text: "Digital post".into(),
                }],
                lead_organization: lead.clone(),
                country_code: "DK".into(),
                stage: ini::InitiativeStage::DevelopingProposals as i32,
                ..Default::default()
            }),
            actor: "organizations/lab".into(),
            request_id: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .name;
    // The feed's position now: what follows is this test's.
    let (_, start) = read(&mut c, "", false, &[]).await;

    // Writes that go round the four services (in an order that is not the
    // services' own), one after the other: each commits after the last.
    let order = ["guidance", "membership", "impact", "initiatives"];
    let mut written = Vec::new();
    for n in 0..16 {
        let service = order[n % order.len()];
        written.push(write(&mut c, service, &lead, &initiative, n).await);
    }
    let (caught_up, _) = read(&mut c, &start, false, &written).await;
    assert_eq!(caught_up, written, "catch-up: one timeline in commit order");

    // Followed: a subscriber from the same position sees the backlog in
    // order, then new writes as they commit, in order.
    let (_, end) = read(&mut c, &start, false, &[]).await;
    let mut more = Vec::new();
    for n in 16..32 {
        let service = order[(n * 3) % order.len()];
        more.push(write(&mut c, service, &lead, &initiative, n).await);
    }
    let (followed, _) = read(&mut c, &end, true, &more).await;
    assert_eq!(
        followed, more,
        "followed backlog: one timeline in commit order"
    );

    // While following, writes that commit during the subscription.
    let (_, now) = read(&mut c, &end, false, &[]).await;
    let mut live = Vec::new();
    let expected = 12;
    let reader = {
        let mut feed = c.feed.clone();
        tokio::spawn(async move {
            let mut stream = feed
                .stream_changes(gw::StreamChangesRequest {
                    cursor: now,
                    follow: true,
                })
                .await
                .unwrap()
                .into_inner();
            let mut seen = Vec::new();
            while seen.len() < expected {
                let item = tokio::time::timeout(Duration::from_secs(20), stream.message())
                    .await
                    .expect("followed changes arrive within 20 s")
                    .unwrap()
                    .expect("the followed stream stays open");
                seen.push(item.change.unwrap().resource);
            }
            seen
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    for n in 32..32 + expected {
        let service = order[(n * 5 + n / 4) % order.len()];
        live.push(write(&mut c, service, &lead, &initiative, n).await);
    }
    let seen = reader.await.unwrap();
    assert_eq!(seen, live, "live: one timeline in commit order");
    suite.stop().await;
}

on_both_backends!(alternating_writes_read_back_in_commit_order);
