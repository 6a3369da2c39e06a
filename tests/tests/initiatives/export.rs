//! The open-data export: the stream and the files.

use super::*;

innolab_tests::on_both_backends!(
    export_streams_every_match_and_writes_files,
    an_export_is_one_snapshot,
    stalled_exports_let_go_of_the_pool,
    challenges_calls_and_accepted_submissions_are_exported,
);

async fn export_streams_every_match_and_writes_files(backend: Backend) {
    use tokio_stream::StreamExt;
    let mut w = World::new(backend).await;
    portfolio(&mut w).await;
    let mut quoted = w.initiative("Quoted");
    quoted.problem = "Commas, \"quotes\"\nand lines".into();
    quoted.links = vec!["https://example.org/a;b,c".into()];
    w.create(quoted).await;
    let export = |filter: &str| pb::ExportInitiativesRequest {
        filter: filter.into(),
    };
    let mut stream = w
        .client
        .export_initiatives(export(""))
        .await
        .unwrap()
        .into_inner();
    let mut exported = Vec::new();
    while let Some(item) = stream.next().await {
        exported.push(item.unwrap().initiative.unwrap());
    }
    // The list, nobody named: a person acting in a timeline is left out.
    let mut listed = w.list("").await;
    assert!(listed[0].timeline[0].actor.starts_with("people/"));
    for event in listed.iter_mut().flat_map(|i| i.timeline.iter_mut()) {
        if event.actor.starts_with("people/") {
            event.actor.clear();
        }
    }
    assert_eq!(exported, listed);
    let mut stream = w
        .client
        .export_initiatives(export("sdg = 4"))
        .await
        .unwrap()
        .into_inner();
    let mut count = 0;
    while let Some(item) = stream.next().await {
        item.unwrap();
        count += 1;
    }
    assert_eq!(count, 2);
    let err = w
        .client
        .export_initiatives(export("colour = \"x\""))
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["filter"]);

    // The `export` command's files: one record per initiative.
    let dir = tempfile::tempdir().unwrap();
    let settings = innolab_kit::config::Settings::new(w.initiatives.db.settings.clone());
    let release = innolab_tests::fixtures::release();
    let written = innolab_initiatives::export(&settings, "", dir.path(), &release)
        .await
        .unwrap();
    assert_eq!(written.initiatives, 5);
    let json: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("initiatives.json")).unwrap(),
    )
    .unwrap();
    let records = json.as_array().unwrap();
    assert_eq!(records.len(), 5);
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    let listed: Vec<String> = exported.iter().map(|i| i.name.clone()).collect();
    assert_eq!(names, listed);
    let alfa = &records[0];
    assert_eq!(alfa["country_code"], "RO");
    assert_eq!(alfa["sdgs"], serde_json::json!([9, 16]));
    assert_eq!(alfa["partners"][0]["role"], "IMPLEMENTING");
    assert_eq!(alfa["titles"][0]["language_code"], "ro");
    assert_eq!(alfa["stage"], "IDENTIFYING_PROBLEMS");
    let csv = std::fs::read_to_string(dir.path().join("initiatives.csv")).unwrap();
    assert!(csv.starts_with("name,titles,summaries,problem,"));
    // Texts per language are a JSON array in the cell, quoted for CSV.
    assert!(csv.contains(
        r#""[{""language_code"":""en"",""text"":""Commas, \""quotes\""\nand lines""}]""#
    ));
    // 1 header + 5 records.
    assert_eq!(csv.matches("\r\n").count(), 6);
    // Beside the files: their CSVW description and DCAT-AP records, which
    // name each file's size and digest, and the same data gives the same bytes.
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    let metadata: serde_json::Value =
        serde_json::from_slice(&read("initiatives.csv-metadata.json")).unwrap();
    let described: Vec<&str> = metadata["tableSchema"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    let header = csv.lines().next().unwrap().trim_end();
    assert_eq!(described.join(","), header);
    let dataset: serde_json::Value =
        serde_json::from_slice(&read("initiatives.dcat.jsonld")).unwrap();
    let csv_distribution = &dataset["dcat:distribution"][0];
    assert_eq!(
        csv_distribution["dcat:byteSize"]["@value"],
        csv.len().to_string()
    );
    assert_eq!(
        csv_distribution["spdx:checksum"]["spdx:checksumValue"]["@value"],
        {
            use sha2::Digest as _;
            sha2::Sha256::digest(csv.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        }
    );
    // The sequence read in the export's snapshot: every change so far (the
    // 5 creations, the membership checks write nothing here).
    assert_eq!(
        dataset["owl:versionInfo"],
        format!("change-log sequence {}", written.sequence)
    );
    assert!(written.sequence >= 5);
    let first = (read("initiatives.dcat.jsonld"), read("catalogue.jsonld"));
    innolab_initiatives::export(&settings, "", dir.path(), &release)
        .await
        .unwrap();
    assert_eq!(
        (read("initiatives.dcat.jsonld"), read("catalogue.jsonld")),
        first,
        "the same data gives the same bytes"
    );
    let filtered =
        innolab_initiatives::export(&settings, "country_code = \"SE\"", dir.path(), &release)
            .await
            .unwrap();
    assert_eq!(filtered.initiatives, 1);
    w.stop().await;
}

/// The export stream reads one snapshot: what is written after it began
/// (a new initiative, an update of one not yet sent) is not in it, even
/// well past the stream's buffer of 500 (page-by-page reads of 500 would
/// have read the third page after the writes).
async fn an_export_is_one_snapshot(backend: Backend) {
    use tokio_stream::StreamExt;
    let mut w = World::new(backend).await;
    let rows: Vec<pb::Initiative> = (0..1200)
        .map(|n| w.initiative(&format!("Case {n:04}")))
        .collect();
    let imported = w
        .client
        .import_initiatives(tokio_stream::iter(import_messages("snapshot", rows)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(imported.imported, 1200);
    let last = imported.rows.last().unwrap().initiative.clone();
    let mut stream = w
        .client
        .export_initiatives(pb::ExportInitiativesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let first = stream.next().await.unwrap().unwrap().initiative.unwrap();
    assert_eq!(first.titles[0].text, "Case 0000");
    assert_eq!(first.timeline.len(), 1, "each with its timeline");
    // Written while the stream is open (past its buffer).
    w.create(w.initiative("Written during the export")).await;
    w.client
        .update_initiative(pb::UpdateInitiativeRequest {
            initiative: Some(pb::Initiative {
                name: last.clone(),
                titles: vec![pb::LocalizedText {
                    language_code: "en".into(),
                    text: "Renamed during the export".into(),
                }],
                ..Default::default()
            }),
            update_mask: mask(&["titles"]),
        })
        .await
        .unwrap();
    let mut exported = vec![first];
    while let Some(item) = stream.next().await {
        exported.push(item.unwrap().initiative.unwrap());
    }
    assert_eq!(exported.len(), 1200, "nothing created after the snapshot");
    let sent_last = exported.iter().find(|i| i.name == last).unwrap();
    assert_eq!(
        sent_last.titles[0].text, "Case 1199",
        "the snapshot's version, not the later update"
    );
    // A new export sees both.
    let mut stream = w
        .client
        .export_initiatives(pb::ExportInitiativesRequest::default())
        .await
        .unwrap()
        .into_inner();
    let mut count = 0;
    while let Some(item) = stream.next().await {
        item.unwrap();
        count += 1;
    }
    assert_eq!(count, 1201);
    w.stop().await;
}

/// An export holds a pooled connection (its snapshot) while it streams: a
/// reader that stops reading is dropped once its buffer has stayed full for
/// 5 s, letting go of the connection, so more stalled exports than the pool
/// has connections (5 in tests) do not starve every other call; the dropped
/// reader gets what was buffered, then RESOURCE_EXHAUSTED. Without the drop
/// the sixth export and every read wait for ever: the deadlines below are
/// generous (a loaded 2-core CI machine), the outcome is not timed.
async fn stalled_exports_let_go_of_the_pool(backend: Backend) {
    use std::time::{Duration, Instant};
    use tokio_stream::StreamExt;
    let mut w = World::new(backend).await;
    // About 2 KB each: 8 MB in all, more than the HTTP/2 windows and the
    // stream's buffer of 500 hold.
    let summary = "Un ghișeu unic pentru autorizații, ".repeat(55);
    let rows: Vec<pb::Initiative> = (0..4000)
        .map(|n| pb::Initiative {
            summaries: vec![pb::LocalizedText {
                language_code: "ro".into(),
                text: summary.clone(),
            }],
            ..w.initiative(&format!("Case {n:04}"))
        })
        .collect();
    let imported = w
        .client
        .import_initiatives(tokio_stream::iter(import_messages("stall", rows)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(imported.imported, 4000);
    let some = imported.rows[0].initiative.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    // Seven exports, each on a connection of its own, none read after its
    // first item (so each has taken its snapshot). The sixth and seventh
    // find the pool taken (UNAVAILABLE after the pool's 5 s) until stalled
    // ones are dropped.
    let mut stalled = Vec::new();
    for n in 0..7 {
        loop {
            let mut client = Client::new(w.initiatives.channel().await);
            // The pool's refusal comes as the call's status (no item was
            // sent) or as the stream's first item.
            let started = match client
                .export_initiatives(pb::ExportInitiativesRequest::default())
                .await
            {
                Ok(response) => {
                    let mut stream = response.into_inner();
                    stream.next().await.unwrap().map(|_| stream)
                }
                Err(status) => Err(status),
            };
            match started {
                Ok(stream) => {
                    stalled.push((client, stream));
                    break;
                }
                Err(status) if status.code() == tonic::Code::Unavailable => assert!(
                    Instant::now() < deadline,
                    "export {n} never got a connection: the stalled exports kept the pool"
                ),
                Err(status) => panic!("export {n}: {status:?}"),
            }
        }
    }
    // And a read is answered again once stalled exports are let go.
    loop {
        let read = w
            .client
            .get_initiative(pb::GetInitiativeRequest { name: some.clone() })
            .await;
        match read {
            Ok(_) => break,
            Err(status) if status.code() == tonic::Code::Unavailable => assert!(
                Instant::now() < deadline,
                "the stalled exports kept the pool: {status:?}"
            ),
            Err(status) => panic!("{status:?}"),
        }
    }
    // For seven exports to have run and the read to be answered on a pool of
    // five, at least three were dropped: each of those gets what was
    // buffered, then RESOURCE_EXHAUSTED. One not dropped yet is read now,
    // so it resumes and ends complete.
    let mut dropped = 0;
    for (n, (_client, mut stream)) in stalled.into_iter().enumerate() {
        let mut received = 1;
        loop {
            match stream.next().await {
                Some(Ok(_)) => received += 1,
                Some(Err(status)) => {
                    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
                    assert!(
                        received < 4000,
                        "export {n}: {received} items before the stall"
                    );
                    dropped += 1;
                    break;
                }
                None => {
                    assert_eq!(received, 4000, "export {n} ended without saying why");
                    break;
                }
            }
        }
    }
    assert!(dropped >= 3, "only {dropped} stalled exports were dropped");
    w.stop().await;
}

/// The cases' way into the library as files: challenges, calls, and only
/// the accepted submissions, nobody named.
async fn challenges_calls_and_accepted_submissions_are_exported(backend: Backend) {
    let mut w = World::new(backend).await;
    let challenge = w
        .client
        .create_challenge(pb::CreateChallengeRequest {
            challenge: Some(pb::Challenge {
                title: "Slow building permits".into(),
                description: "Paper forms, \"everywhere\", at every counter.".into(),
                process: "building permits".into(),
                raised_by: w.ministry.clone(),
                country_code: "RO".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("create challenge");
    let call = create_call(&mut w, Some(date(2020, 1, 1)), Some(date(2999, 12, 31))).await;
    let accepted = w
        .submit(&call.name, w.initiative("Accepted case"))
        .await
        .unwrap();
    let rejected = w
        .submit(&call.name, w.initiative("Rejected case"))
        .await
        .unwrap();
    let pending = w
        .submit(&call.name, w.initiative("Pending case"))
        .await
        .unwrap();
    let accepted = screen(
        &mut w,
        &accepted.name,
        "",
        screening(pb::ScreeningDecision::Accept, true),
    )
    .await
    .unwrap();
    screen(
        &mut w,
        &rejected.name,
        "",
        screening(pb::ScreeningDecision::Reject, false),
    )
    .await
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let settings = innolab_kit::config::Settings::new(w.initiatives.db.settings.clone());
    let release = innolab_tests::fixtures::release();
    let counts = innolab_initiatives::export(&settings, "", dir.path(), &release)
        .await
        .unwrap();
    assert_eq!(
        (
            counts.initiatives,
            counts.challenges,
            counts.calls,
            counts.submissions
        ),
        (1, 1, 1, 1),
        "the accepted submission's initiative, and only that submission"
    );
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let challenges = read("challenges.csv");
    assert!(challenges.starts_with("name,title,description,process,raised_by,"));
    assert!(challenges.contains(&format!(
        "{},Slow building permits,\"Paper forms, \"\"everywhere\"\", at every counter.\",building permits,{},RO,",
        challenge.name, w.ministry
    )));
    assert!(read("calls.csv").contains(&format!(
        "{},Call for Innovations,Public sector innovations of the year.,2020-01-01,2999-12-31,",
        call.name
    )));
    let submissions = read("submissions.csv");
    assert!(submissions.contains(&format!(
        "{},{},{},",
        accepted.name, call.name, accepted.accepted_initiative
    )));
    assert!(!submissions.contains(&rejected.name));
    assert!(!submissions.contains(&pending.name));
    for name in std::fs::read_dir(dir.path()).unwrap() {
        let name = name.unwrap().file_name().into_string().unwrap();
        let text = read(&name);
        for personal in ["people/", "opsi-screening-panel"] {
            assert!(!text.contains(personal), "{name} holds {personal:?}");
        }
    }
    let calls: serde_json::Value = serde_json::from_str(&read("calls.dcat.jsonld")).unwrap();
    assert_eq!(
        calls["dct:temporal"]["dcat:endDate"]["@value"],
        "2999-12-31"
    );
    assert_eq!(
        calls["owl:versionInfo"],
        format!("change-log sequence {}", counts.sequence)
    );
    let catalogue: serde_json::Value = serde_json::from_str(&read("catalogue.jsonld")).unwrap();
    assert_eq!(catalogue["dcat:dataset"].as_array().unwrap().len(), 4);
    // The same as streams: only the accepted submission, nobody named.
    use innolab_tests::collect;
    let challenges = collect(
        w.client
            .export_challenges(pb::ExportChallengesRequest {})
            .await,
    )
    .await;
    assert_eq!(challenges.len(), 1);
    assert_eq!(
        challenges[0].challenge.as_ref().unwrap().name,
        challenge.name
    );
    let calls = collect(
        w.client
            .export_innovation_calls(pb::ExportInnovationCallsRequest {})
            .await,
    )
    .await;
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].call.as_ref().unwrap().name, call.name);
    let submissions = collect(
        w.client
            .export_submissions(pb::ExportSubmissionsRequest {})
            .await,
    )
    .await;
    assert_eq!(submissions.len(), 1);
    let exported = submissions[0].submission.as_ref().unwrap();
    assert_eq!(exported.name, accepted.name);
    assert_eq!(exported.accepted_initiative, accepted.accepted_initiative);
    let screening = exported.screening.as_ref().unwrap();
    assert_eq!(
        screening.decided_by, "groups/opsi-screening-panel",
        "a body stays"
    );
    assert!(screening.note.is_empty() && exported.submitted_by.is_empty());
    assert!(!format!("{submissions:?}").contains("people/"));
    w.stop().await;
}
