//! The initiatives change log: every committed write of the service
//! (initiatives, their moves and milestones, challenges, calls, submissions,
//! screenings, bulk imports) once, in commit order, without gaps; resumable
//! from a cursor; failed writes and idempotent retries leave no trace.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use innolab_proto::google::r#type::Date;
use innolab_proto::innolab::common::v1::{Change, ChangeType};
use innolab_proto::innolab::initiatives::v1 as pb;
use innolab_proto::innolab::membership::v1 as mpb;
use innolab_tests::{Backend, TestServer};
use mpb::membership_service_client::MembershipServiceClient;
use pb::initiatives_service_client::InitiativesServiceClient;
use prost_types::FieldMask;
use tonic::Code;
use tonic::transport::Channel;

type Client = InitiativesServiceClient<Channel>;

const CREATED: i32 = ChangeType::Created as i32;
const UPDATED: i32 = ChangeType::Updated as i32;

innolab_tests::on_both_backends!(
    every_write_is_logged_once_in_order_and_resumes,
    failed_writes_and_retries_log_nothing,
    following_stream_delivers_new_changes,
    import_of_n_rows_logs_n_changes,
    concurrent_writes_and_imports_get_gapless_sequences,
);

/// A membership server, an initiatives server asking it, and an organisation.
struct World {
    membership: TestServer,
    initiatives: TestServer,
    client: Client,
    /// `organizations/{id}` of a ministry.
    ministry: String,
}

impl World {
    async fn new(backend: Backend) -> World {
        let membership = TestServer::membership(&backend).await;
        let initiatives =
            TestServer::initiatives(&backend, &format!("http://{}", membership.addr)).await;
        let mut members = MembershipServiceClient::new(membership.channel().await);
        let ministry = members
            .create_organization(mpb::CreateOrganizationRequest {
                organization: Some(mpb::Organization {
                    display_names: vec![mpb::LocalizedText {
                        language_code: "en".into(),
                        text: "Ministry of Research".into(),
                    }],
                    kind: mpb::OrganizationKind::Government as i32,
                    country_code: "RO".into(),
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .expect("create organization")
            .into_inner()
            .name;
        let client = InitiativesServiceClient::new(initiatives.channel().await);
        World {
            membership,
            initiatives,
            client,
            ministry,
        }
    }

    async fn stop(self) {
        self.initiatives.stop().await;
        self.membership.stop().await;
    }

    fn initiative(&self, title: &str) -> pb::Initiative {
        pb::Initiative {
            titles: vec![pb::LocalizedText {
                language_code: "en".into(),
                text: title.into(),
            }],
            lead_organization: self.ministry.clone(),
            country_code: "RO".into(),
            ..Default::default()
        }
    }

    async fn create_initiative(
        &mut self,
        initiative: pb::Initiative,
        request_id: &str,
    ) -> Result<pb::Initiative, tonic::Status> {
        self.client
            .create_initiative(pb::CreateInitiativeRequest {
                initiative: Some(initiative),
                actor: "Ana Popescu".into(),
                request_id: request_id.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn create_challenge(
        &mut self,
        title: &str,
        request_id: &str,
    ) -> Result<pb::Challenge, tonic::Status> {
        self.client
            .create_challenge(pb::CreateChallengeRequest {
                challenge: Some(pb::Challenge {
                    title: title.into(),
                    description: "Paper forms at every counter.".into(),
                    process: "building permits".into(),
                    raised_by: self.ministry.clone(),
                    country_code: "RO".into(),
                    ..Default::default()
                }),
                request_id: request_id.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn create_call(
        &mut self,
        open: Date,
        close: Date,
        request_id: &str,
    ) -> Result<pb::InnovationCall, tonic::Status> {
        self.client
            .create_innovation_call(pb::CreateInnovationCallRequest {
                call: Some(pb::InnovationCall {
                    title: "Call for Innovations".into(),
                    description: "Public sector innovations of the year.".into(),
                    open_date: Some(open),
                    close_date: Some(close),
                    ..Default::default()
                }),
                request_id: request_id.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn submit(
        &mut self,
        call: &str,
        title: &str,
        request_id: &str,
    ) -> Result<pb::Submission, tonic::Status> {
        let initiative = self.initiative(title);
        self.client
            .create_submission(pb::CreateSubmissionRequest {
                parent: call.into(),
                submission: Some(pb::Submission {
                    initiative: Some(initiative),
                    submitted_by: "Ana Popescu".into(),
                    ..Default::default()
                }),
                request_id: request_id.into(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn screen(
        &mut self,
        name: &str,
        etag: &str,
        decision: pb::ScreeningDecision,
    ) -> Result<pb::Submission, tonic::Status> {
        self.client
            .screen_submission(pb::ScreenSubmissionRequest {
                name: name.into(),
                etag: etag.into(),
                screening: Some(pb::Screening {
                    public_sector_involved: true,
                    novel_to_organization: true,
                    implemented_or_piloted: true,
                    public_impact: true,
                    decision: decision as i32,
                    decided_by: "OPSI screening panel".into(),
                    note: "screened".into(),
                    decide_time: None,
                }),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn update_initiative(
        &mut self,
        initiative: pb::Initiative,
        paths: &[&str],
    ) -> Result<pb::Initiative, tonic::Status> {
        self.client
            .update_initiative(pb::UpdateInitiativeRequest {
                initiative: Some(initiative),
                update_mask: Some(FieldMask {
                    paths: paths.iter().map(|p| p.to_string()).collect(),
                }),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn move_stage(
        &mut self,
        name: &str,
        etag: &str,
        stage: pb::InitiativeStage,
    ) -> Result<pb::Initiative, tonic::Status> {
        self.client
            .move_initiative_stage(pb::MoveInitiativeStageRequest {
                name: name.into(),
                etag: etag.into(),
                stage: stage as i32,
                actor: "Lab director".into(),
                note: String::new(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn change_status(
        &mut self,
        name: &str,
        etag: &str,
        status: pb::InitiativeStatus,
    ) -> Result<pb::Initiative, tonic::Status> {
        self.client
            .change_initiative_status(pb::ChangeInitiativeStatusRequest {
                name: name.into(),
                etag: etag.into(),
                status: status as i32,
                actor: "Steering board".into(),
                note: String::new(),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    /// Streams `rows` as one import with `request_id`.
    async fn import(
        &mut self,
        request_id: &str,
        rows: Vec<pb::Initiative>,
    ) -> Result<pb::ImportInitiativesResponse, tonic::Status> {
        self.client
            .import_initiatives(tokio_stream::iter(
                innolab_tests::fixtures::import_messages(request_id, rows),
            ))
            .await
            .map(tonic::Response::into_inner)
    }

    /// The whole log after `after` (not following).
    async fn log(&mut self, after: i64) -> Vec<Change> {
        read_all(&mut self.client, after).await
    }
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

fn date(year: i32, month: i32, day: i32) -> Date {
    Date { year, month, day }
}

/// (resource, type, revision) of each change, after checking the sequences
/// run gapless from `first`.
fn summary(log: &[Change], first: i64) -> Vec<(String, i32, i64)> {
    assert_eq!(
        log.iter().map(|c| c.sequence).collect::<Vec<_>>(),
        (first..first + log.len() as i64).collect::<Vec<_>>(),
        "gapless, in order"
    );
    assert!(
        log.iter().all(|c| c.time.is_some()),
        "every change has a time"
    );
    log.iter()
        .map(|c| (c.resource.clone(), c.r#type, c.revision))
        .collect()
}

fn change(resource: &str, kind: i32, revision: i64) -> (String, i32, i64) {
    (resource.to_string(), kind, revision)
}

/// The revision an etag (`r{revision}`) stands for.
fn revision(etag: &str) -> i64 {
    etag.strip_prefix('r')
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("etag {etag:?}"))
}

/// The next change of a following stream, within ten seconds.
async fn next(stream: &mut tonic::Streaming<Change>) -> Change {
    tokio::time::timeout(Duration::from_secs(10), stream.message())
        .await
        .expect("a new change arrives while following")
        .unwrap()
        .expect("the stream stays open")
}

async fn every_write_is_logged_once_in_order_and_resumes(backend: Backend) {
    let mut w = World::new(backend).await;
    let mut expected = Vec::new();

    // Challenges: create, update.
    let challenge = w.create_challenge("Slow permits", "").await.unwrap();
    expected.push(change(&challenge.name, CREATED, 1));
    let challenge = w
        .client
        .update_challenge(pb::UpdateChallengeRequest {
            challenge: Some(pb::Challenge {
                name: challenge.name.clone(),
                etag: challenge.etag.clone(),
                title: "Very slow permits".into(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["title".into()],
            }),
        })
        .await
        .unwrap()
        .into_inner();
    expected.push(change(&challenge.name, UPDATED, 2));
    assert_eq!(revision(&challenge.etag), 2);

    // Initiatives: create (answering the challenge), update its milestones,
    // move its stage, change its status.
    let mut draft = w.initiative("E-permits");
    draft.challenges = vec![challenge.name.clone()];
    let initiative = w.create_initiative(draft, "").await.unwrap();
    expected.push(change(&initiative.name, CREATED, 1));
    let mut edit = initiative.clone();
    edit.milestones = vec![pb::Milestone {
        title: "Pilot in two counties".into(),
        due_date: Some(date(2027, 6, 30)),
        done_date: None,
    }];
    let initiative = w.update_initiative(edit, &["milestones"]).await.unwrap();
    expected.push(change(&initiative.name, UPDATED, 2));
    let initiative = w
        .move_stage(
            &initiative.name,
            &initiative.etag,
            pb::InitiativeStage::GeneratingIdeas,
        )
        .await
        .unwrap();
    expected.push(change(&initiative.name, UPDATED, 3));
    let initiative = w
        .change_status(
            &initiative.name,
            &initiative.etag,
            pb::InitiativeStatus::Pilot,
        )
        .await
        .unwrap();
    expected.push(change(&initiative.name, UPDATED, 4));
    assert_eq!(revision(&initiative.etag), 4);

    // Calls and submissions: an accepted one creates an initiative in the
    // same transaction; a rejected one only changes the submission.
    let call = w
        .create_call(date(2020, 1, 1), date(2999, 12, 31), "")
        .await
        .unwrap();
    expected.push(change(&call.name, CREATED, 1));
    let accepted = w.submit(&call.name, "Submitted idea", "").await.unwrap();
    expected.push(change(&accepted.name, CREATED, 1));
    let accepted = w
        .screen(
            &accepted.name,
            &accepted.etag,
            pb::ScreeningDecision::Accept,
        )
        .await
        .unwrap();
    expected.push(change(&accepted.name, UPDATED, 2));
    expected.push(change(&accepted.accepted_initiative, CREATED, 1));
    let rejected = w.submit(&call.name, "Other idea", "").await.unwrap();
    expected.push(change(&rejected.name, CREATED, 1));
    let rejected = w
        .screen(&rejected.name, "", pb::ScreeningDecision::Reject)
        .await
        .unwrap();
    expected.push(change(&rejected.name, UPDATED, 2));
    assert!(rejected.accepted_initiative.is_empty());

    // A bulk import: one change per stored row, in row order.
    let mut bad = w.initiative("Bad row");
    bad.country_code = "XX".into();
    let rows = vec![w.initiative("Row 1"), bad, w.initiative("Row 3")];
    let imported = w.import("register", rows).await.unwrap();
    assert_eq!(imported.imported, 2);
    for row in &imported.rows {
        expected.push(change(&row.initiative, CREATED, 1));
    }

    let log = w.log(0).await;
    assert_eq!(summary(&log, 1), expected);

    // Resuming after any sequence gives exactly the rest.
    for after in 0..=log.len() {
        assert_eq!(
            w.log(after as i64).await,
            log[after..].to_vec(),
            "after {after}"
        );
    }
    assert!(w.log(log.len() as i64 + 10).await.is_empty());

    let status = w
        .client
        .stream_changes(pb::StreamChangesRequest {
            after_sequence: -1,
            follow: false,
        })
        .await
        .expect_err("negative cursor refused");
    assert_eq!(status.code(), Code::InvalidArgument);
    w.stop().await;
}

async fn failed_writes_and_retries_log_nothing(backend: Backend) {
    let mut w = World::new(backend).await;

    // Idempotent retries: each create logged once, however often it is sent.
    let mut expected = Vec::new();
    let mut challenge = None;
    let mut initiative = None;
    let mut call = None;
    let mut submission = None;
    for _ in 0..3 {
        challenge = Some(w.create_challenge("Slow permits", "ch-1").await.unwrap());
        initiative = Some(
            w.create_initiative(w.initiative("E-permits"), "in-1")
                .await
                .unwrap(),
        );
        call = Some(
            w.create_call(date(2020, 1, 1), date(2999, 12, 31), "call-1")
                .await
                .unwrap(),
        );
        let parent = call.as_ref().unwrap().name.clone();
        submission = Some(w.submit(&parent, "Idea", "sub-1").await.unwrap());
    }
    let (challenge, initiative, call, submission) = (
        challenge.unwrap(),
        initiative.unwrap(),
        call.unwrap(),
        submission.unwrap(),
    );
    expected.push(change(&challenge.name, CREATED, 1));
    expected.push(change(&initiative.name, CREATED, 1));
    expected.push(change(&call.name, CREATED, 1));
    expected.push(change(&submission.name, CREATED, 1));
    let imported = w
        .import(
            "register",
            vec![w.initiative("Row 1"), w.initiative("Row 2")],
        )
        .await
        .unwrap();
    assert_eq!(imported.imported, 2);
    for row in &imported.rows {
        expected.push(change(&row.initiative, CREATED, 1));
    }
    let again = w
        .import(
            "register",
            vec![w.initiative("Row 1"), w.initiative("Row 2")],
        )
        .await
        .unwrap();
    assert_eq!((again.imported, again.already_imported), (0, 2));
    assert_eq!(summary(&w.log(0).await, 1), expected);

    // Failed writes of every kind.
    let mut bad = w.initiative("Bad");
    bad.country_code = "XX".into();
    let err = w.create_initiative(bad, "").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let mut ghost_org = w.initiative("Ghost lead");
    ghost_org.lead_organization = "organizations/0190b7c0-0000-7000-8000-000000000000".into();
    let err = w.create_initiative(ghost_org, "").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    let mut ghost_challenge = w.initiative("Ghost challenge");
    ghost_challenge.challenges = vec!["challenges/0190b7c0-0000-7000-8000-000000000000".into()];
    let err = w.create_initiative(ghost_challenge, "").await.unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    // Update with a stale etag, and one naming a missing challenge.
    let updated = w
        .update_initiative(
            pb::Initiative {
                results: "Half the visits.".into(),
                ..initiative.clone()
            },
            &["results"],
        )
        .await
        .unwrap();
    expected.push(change(&initiative.name, UPDATED, 2));
    let err = w
        .update_initiative(
            pb::Initiative {
                results: "Lost update.".into(),
                ..initiative.clone()
            },
            &["results"],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let err = w
        .update_initiative(
            pb::Initiative {
                challenges: vec!["challenges/0190b7c0-0000-7000-8000-000000000000".into()],
                ..updated.clone()
            },
            &["challenges"],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);

    // Illegal and stale moves.
    let err = w
        .move_stage(&initiative.name, "", pb::InitiativeStage::DiffusingLessons)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = w
        .move_stage(
            &initiative.name,
            &initiative.etag,
            pb::InitiativeStage::GeneratingIdeas,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    let err = w
        .change_status(&initiative.name, "", pb::InitiativeStatus::NotInUseAnymore)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = w
        .move_stage(
            "initiatives/0190b7c0-0000-7000-8000-000000000000",
            "",
            pb::InitiativeStage::GeneratingIdeas,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound);

    // Challenge with a stale etag.
    let err = w
        .client
        .update_challenge(pb::UpdateChallengeRequest {
            challenge: Some(pb::Challenge {
                name: challenge.name.clone(),
                etag: "r7".into(),
                title: "Lost".into(),
                ..Default::default()
            }),
            update_mask: Some(FieldMask {
                paths: vec!["title".into()],
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);

    // A submission to a closed call, a screening with a stale etag, and one
    // of a submission already decided.
    let closed = w
        .create_call(date(2000, 1, 1), date(2001, 1, 1), "")
        .await
        .unwrap();
    expected.push(change(&closed.name, CREATED, 1));
    let err = w.submit(&closed.name, "Late", "").await.unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);
    let err = w
        .screen(&submission.name, "r9", pb::ScreeningDecision::Accept)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Aborted);
    w.screen(&submission.name, "", pb::ScreeningDecision::Reject)
        .await
        .unwrap();
    expected.push(change(&submission.name, UPDATED, 2));
    let err = w
        .screen(&submission.name, "", pb::ScreeningDecision::Accept)
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::FailedPrecondition);

    // An import whose every row is refused.
    let mut bad = w.initiative("Bad row");
    bad.country_code = "XX".into();
    let refused = w.import("all-bad", vec![bad]).await.unwrap();
    assert_eq!(refused.imported, 0);

    assert_eq!(summary(&w.log(0).await, 1), expected);
    w.stop().await;
}

async fn following_stream_delivers_new_changes(backend: Backend) {
    let mut w = World::new(backend).await;
    w.create_challenge("Before", "").await.unwrap();
    let mut stream = w
        .client
        .stream_changes(pb::StreamChangesRequest {
            after_sequence: 1,
            follow: true,
        })
        .await
        .unwrap()
        .into_inner();
    let later = w
        .create_initiative(w.initiative("Later"), "")
        .await
        .unwrap();
    let got = next(&mut stream).await;
    assert_eq!(
        (
            got.sequence,
            got.resource.as_str(),
            got.r#type,
            got.revision
        ),
        (2, later.name.as_str(), CREATED, 1)
    );
    let moved = w
        .move_stage(&later.name, "", pb::InitiativeStage::GeneratingIdeas)
        .await
        .unwrap();
    let got = next(&mut stream).await;
    assert_eq!(
        (
            got.sequence,
            got.resource.as_str(),
            got.r#type,
            got.revision
        ),
        (3, moved.name.as_str(), UPDATED, 2)
    );
    let imported = w
        .import("", vec![w.initiative("A"), w.initiative("B")])
        .await
        .unwrap();
    for (i, row) in imported.rows.iter().enumerate() {
        let got = next(&mut stream).await;
        assert_eq!(
            (got.sequence, got.resource.as_str(), got.r#type),
            (4 + i as i64, row.initiative.as_str(), CREATED)
        );
    }
    drop(stream);
    w.stop().await;
}

async fn import_of_n_rows_logs_n_changes(backend: Backend) {
    let mut w = World::new(backend).await;
    w.create_challenge("Before", "").await.unwrap();
    // 2,500 rows span several import transactions; five are refused.
    let rows: Vec<pb::Initiative> = (0..2500)
        .map(|n| {
            let mut i = w.initiative(&format!("Bulk {n}"));
            i.tags = vec![format!("t{}", n % 3)];
            if n % 500 == 7 {
                i.country_code = "XX".into();
            }
            i
        })
        .collect();
    let response = w.import("bulk", rows.clone()).await.unwrap();
    assert_eq!(response.imported, 2495);
    let log = w.log(1).await;
    let expected: Vec<(String, i32, i64)> = response
        .rows
        .iter()
        .map(|r| change(&r.initiative, CREATED, 1))
        .collect();
    assert_eq!(summary(&log, 2), expected);
    // The retry stores nothing and logs nothing.
    let again = w.import("bulk", rows).await.unwrap();
    assert_eq!(again.already_imported, 2495);
    assert_eq!(w.log(1).await, log);
    // Resuming in the middle of an import's changes.
    assert_eq!(w.log(1200).await, log[1199..].to_vec());
    w.stop().await;
}

async fn concurrent_writes_and_imports_get_gapless_sequences(backend: Backend) {
    let mut w = World::new(backend).await;
    let seed = w.create_initiative(w.initiative("Seed"), "").await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let mut client = w.client.clone();
        let draft = w.initiative(&format!("Concurrent {i}"));
        tasks.push(tokio::spawn(async move {
            let created = client
                .create_initiative(pb::CreateInitiativeRequest {
                    initiative: Some(draft),
                    actor: String::new(),
                    request_id: String::new(),
                })
                .await
                .unwrap()
                .into_inner();
            client
                .change_initiative_status(pb::ChangeInitiativeStatusRequest {
                    name: created.name.clone(),
                    etag: String::new(),
                    status: pb::InitiativeStatus::Pilot as i32,
                    actor: "Board".into(),
                    note: String::new(),
                })
                .await
                .unwrap();
            2
        }));
    }
    for i in 0..3 {
        let mut client = w.client.clone();
        let rows: Vec<pb::ImportInitiativesRequest> = (0..300)
            .map(|n| pb::ImportInitiativesRequest {
                request_id: if n == 0 {
                    format!("import-{i}")
                } else {
                    String::new()
                },
                initiative: Some(w.initiative(&format!("Import {i} row {n}"))),
                actor: String::new(),
            })
            .collect();
        tasks.push(tokio::spawn(async move {
            client
                .import_initiatives(tokio_stream::iter(rows))
                .await
                .unwrap()
                .into_inner()
                .imported
        }));
    }
    // Moves of one initiative racing each other: the losers are ABORTED and
    // log nothing.
    let mut movers = Vec::new();
    for _ in 0..4 {
        let mut client = w.client.clone();
        let (name, etag) = (seed.name.clone(), seed.etag.clone());
        movers.push(tokio::spawn(async move {
            client
                .move_initiative_stage(pb::MoveInitiativeStageRequest {
                    name,
                    etag,
                    stage: pb::InitiativeStage::GeneratingIdeas as i32,
                    actor: "Lab director".into(),
                    note: String::new(),
                })
                .await
                .is_ok()
        }));
    }
    let mut writes = 1;
    for task in tasks {
        writes += task.await.unwrap();
    }
    let mut moved = 0;
    for mover in movers {
        if mover.await.unwrap() {
            moved += 1;
        }
    }
    assert_eq!(moved, 1, "exactly one of the racing moves wins");
    writes += moved;
    let log = w.log(0).await;
    let changes = summary(&log, 1);
    assert_eq!(
        changes.len() as i64,
        writes,
        "each write logged exactly once"
    );
    let seed_changes: Vec<_> = changes.iter().filter(|c| c.0 == seed.name).collect();
    assert_eq!(
        seed_changes,
        vec![
            &change(&seed.name, CREATED, 1),
            &change(&seed.name, UPDATED, 2)
        ]
    );
    w.stop().await;
}
