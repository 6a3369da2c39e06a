//! The initiatives change log: every committed write of the service
//! (initiatives, their moves and milestones, challenges, calls, submissions,
//! screenings, bulk imports) once, in commit order, without gaps; resumable
//! from a cursor; failed writes and idempotent retries leave no trace. This
//! module holds the calls these tests make on the target's world (each
//! returning the outcome) and their helpers; `failures` and `feed` hold more
//! of the tests.

mod failures;
mod feed;

use std::time::Duration;

use innolab_proto::google::r#type::Date;
use innolab_proto::innolab::common::v1::{Change, ChangeType};
use innolab_proto::innolab::initiatives::v1 as pb;
use innolab_tests::Backend;
use innolab_tests::assert::{assert_code, date, mask};
use tonic::Code;

use super::{Client, World};

const CREATED: i32 = ChangeType::Created as i32;
const UPDATED: i32 = ChangeType::Updated as i32;

innolab_tests::on_both_backends!(every_write_is_logged_once_in_order_and_resumes,);

/// Calls of the log's tests on the world every module of this target
/// starts; each returns the outcome.
impl World {
    async fn create_initiative(
        &mut self,
        initiative: pb::Initiative,
        request_id: &str,
    ) -> Result<pb::Initiative, tonic::Status> {
        self.client
            .create_initiative(pb::CreateInitiativeRequest {
                initiative: Some(initiative),
                actor: "people/ana-popescu".into(),
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

    async fn submit_titled(
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
                    submitted_by: "people/ana-popescu".into(),
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
                    decided_by: "groups/opsi-screening-panel".into(),
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
                update_mask: mask(paths),
            })
            .await
            .map(tonic::Response::into_inner)
    }

    async fn change_status_to(
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
                actor: "groups/steering-board".into(),
                note: String::new(),
            })
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
            update_mask: mask(&["title"]),
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
            pb::InitiativeStage::GeneratingIdeas,
            &initiative.etag,
        )
        .await
        .unwrap();
    expected.push(change(&initiative.name, UPDATED, 3));
    let initiative = w
        .change_status_to(
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
    let accepted = w
        .submit_titled(&call.name, "Submitted idea", "")
        .await
        .unwrap();
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
    let rejected = w.submit_titled(&call.name, "Other idea", "").await.unwrap();
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
    assert_code(&status, Code::InvalidArgument);
    w.stop().await;
}
