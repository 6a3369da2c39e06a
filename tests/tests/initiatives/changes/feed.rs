//! Following the change log, and its order under imports and concurrent
//! writers.

use super::*;

innolab_tests::on_both_backends!(
    following_stream_delivers_new_changes,
    import_of_n_rows_logs_n_changes,
    concurrent_writes_and_imports_get_gapless_sequences,
);

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
        .move_stage(&later.name, pb::InitiativeStage::GeneratingIdeas, "")
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
                    actor: "groups/board".into(),
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
                    actor: "posts/lab-director".into(),
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
