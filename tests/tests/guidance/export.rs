//! Published guidance as open data: one record per document whose current
//! edition is published, with that edition's text per language; drafts and
//! unpublished documents left out; the same bytes for the same data. (CI
//! also checks a release with pyshacl and csvwvalidate:
//! scripts/check-open-data.sh.)

use super::*;

innolab_tests::on_both_backends!(published_guidance_is_exported_with_its_current_edition);

async fn published_guidance_is_exported_with_its_current_edition(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let (guide, first) = published(
        &mut c,
        document("Service design guide"),
        vec![
            translation(
                "en",
                "Service design",
                "Start with users, \"always\".",
                true,
            ),
            translation(
                "ro",
                "Designul serviciilor",
                "Începeți cu utilizatorii.",
                false,
            ),
        ],
    )
    .await;
    // A second edition is published: it is the current one.
    let second = create_edition(
        &mut c,
        &guide.name,
        edition(vec![translation(
            "en",
            "Service design, 2nd",
            "Second, with more.",
            true,
        )]),
    )
    .await;
    submit(&mut c, &second.name).await;
    publish(&mut c, &second.name).await;
    // A draft is not published, nor a document without a published edition.
    create_edition(
        &mut c,
        &guide.name,
        edition(vec![translation("en", "Draft", "Not yet.", true)]),
    )
    .await;
    let unpublished = create_document(&mut c, document("Unpublished toolkit")).await;

    let dir = tempfile::tempdir().unwrap();
    let settings = innolab_kit::config::Settings::new(server.db.settings.clone());
    let release = innolab_tests::fixtures::release();
    let counts = innolab_guidance::export(&settings, dir.path(), &release)
        .await
        .unwrap();
    assert_eq!(counts.documents, 1);
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let records: serde_json::Value = serde_json::from_str(&read("guidance.json")).unwrap();
    let record = &records[0];
    assert_eq!(record["name"], guide.name.as_str());
    assert_eq!(record["doc_type"], "GUIDE");
    assert_eq!(record["license"], "CC-BY-4.0");
    assert_eq!(record["edition"], second.name.as_str());
    assert_ne!(record["edition"], first.name.as_str());
    assert_eq!(record["edition_number"], 2);
    assert_eq!(record["translations"][0]["title"], "Service design, 2nd");
    let csv = read("guidance.csv");
    assert!(csv.starts_with("name,doc_type,title,description,topics,"));
    assert!(!csv.contains(&unpublished.name));
    assert!(!csv.contains("Not yet."));
    let metadata: serde_json::Value =
        serde_json::from_str(&read("guidance.csv-metadata.json")).unwrap();
    assert_eq!(
        metadata["tableSchema"]["columns"][13]["datatype"],
        "integer"
    );
    let dataset: serde_json::Value = serde_json::from_str(&read("guidance.dcat.jsonld")).unwrap();
    assert_eq!(
        dataset["owl:versionInfo"],
        format!("change-log sequence {}", counts.sequence)
    );
    assert_eq!(dataset["dcat:distribution"].as_array().unwrap().len(), 2);
    let first_bytes = (read("guidance.csv"), read("catalogue.jsonld"));
    innolab_guidance::export(&settings, dir.path(), &release)
        .await
        .unwrap();
    assert_eq!(
        (read("guidance.csv"), read("catalogue.jsonld")),
        first_bytes,
        "the same data gives the same bytes"
    );
    // The same as a stream: the published document with its current edition.
    let streamed =
        innolab_tests::collect(c.export_documents(pb::ExportDocumentsRequest {}).await).await;
    assert_eq!(streamed.len(), 1);
    let (document, current) = (
        streamed[0].document.as_ref().unwrap(),
        streamed[0].edition.as_ref().unwrap(),
    );
    assert_eq!(document.name, guide.name);
    assert_eq!(current.name, second.name);
    assert_eq!(current.state(), pb::EditionState::Published);
    assert_eq!(current.translations[0].title, "Service design, 2nd");
    server.stop().await;
}
