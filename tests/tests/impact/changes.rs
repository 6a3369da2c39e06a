//! The change log: every write once, failures never.

use super::capacity::{record, round};
use super::*;

on_both_backends!(every_write_is_in_the_change_log_once_and_failures_are_not,);

async fn changes(client: &mut Client, after: i64) -> Vec<(i64, String, i32, i64)> {
    let mut stream = client
        .stream_changes(pb::StreamChangesRequest {
            after_sequence: after,
            follow: false,
        })
        .await
        .accepted("StreamChanges");
    let mut out = Vec::new();
    while let Some(change) = stream.message().await.expect("change") {
        out.push((
            change.sequence,
            change.resource,
            change.r#type,
            change.revision,
        ));
    }
    out
}

async fn every_write_is_in_the_change_log_once_and_failures_are_not(backend: Backend) {
    use innolab_proto::innolab::common::v1::ChangeType as T;
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "Logged")).await;
    let i = add_indicator(&mut client, &a.name, waiting_days(vec![])).await;
    let started = start_it(&mut client, &a.name).await;
    // Refused writes leave no trace.
    client
        .start_assessment(pb::StartAssessmentRequest {
            name: a.name.clone(),
            decided_by: "people/x".into(),
            ..Default::default()
        })
        .await
        .refused("StartAssessment twice");
    let mut stale = a.clone();
    stale.title = "stale".into();
    client
        .update_assessment(pb::UpdateAssessmentRequest {
            assessment: Some(stale),
            update_mask: mask(&["title"]),
        })
        .await
        .refused("UpdateAssessment stale");
    let c = record(&mut client, round("countries/RO", "2023", 2)).await;
    client
        .delete_assessment(pb::DeleteAssessmentRequest {
            name: a.name.clone(),
            etag: started.etag.clone(),
        })
        .await
        .accepted("DeleteAssessment");

    let all = changes(&mut client, 0).await;
    let expected = vec![
        (1, a.name.clone(), T::Created as i32, 1),
        (2, i.name.clone(), T::Created as i32, 1),
        (3, a.name.clone(), T::Updated as i32, 2),
        (4, c.name.clone(), T::Created as i32, 1),
        (5, i.name.clone(), T::Deleted as i32, 2),
        (6, a.name.clone(), T::Deleted as i32, 3),
    ];
    assert_eq!(all, expected);
    assert_eq!(changes(&mut client, 4).await, expected[4..].to_vec());
    assert!(changes(&mut client, 6).await.is_empty());
    let status = client
        .stream_changes(pb::StreamChangesRequest {
            after_sequence: -1,
            follow: false,
        })
        .await
        .refused("StreamChanges negative");
    assert_invalid(&status, "after_sequence");
    server.stop().await;
}
