//! Completed assessments, their indicators and measurements, and capacity
//! rounds as open data: CSV with CSVW and DCAT-AP records, only completed
//! assessments, no people, the same bytes for the same data. (CI also
//! checks a release with pyshacl and csvwvalidate:
//! scripts/check-open-data.sh.)

use super::*;

on_both_backends!(completed_assessments_are_exported_without_people);

async fn completed_assessments_are_exported_without_people(backend: Backend) {
    let (server, mut c) = start(&backend).await;
    let done = create(&mut c, full_assessment()).await;
    add_indicator(
        &mut c,
        &done.name,
        waiting_days(vec![
            measurement(date(2024, 6, 1), 45.0),
            measurement(date(2024, 12, 1), 31.5),
        ]),
    )
    .await;
    complete(&mut c, &done.name).await;
    let planned = create(&mut c, assessment("initiatives/other-1", "Still planned")).await;
    add_indicator(&mut c, &planned.name, waiting_days(vec![])).await;
    capacity::record(&mut c, capacity::round("countries/RO", "2021", 3)).await;

    let dir = tempfile::tempdir().unwrap();
    let settings = innolab_kit::config::Settings::new(server.db.settings.clone());
    let release = innolab_tests::fixtures::release();
    let counts = innolab_impact::export(&settings, dir.path(), &release)
        .await
        .unwrap();
    assert_eq!(
        (
            counts.assessments,
            counts.indicators,
            counts.measurements,
            counts.capacity_rounds
        ),
        (1, 1, 2, 1),
        "only the completed assessment and its indicator"
    );
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let assessments = read("assessments.csv");
    assert!(assessments.starts_with("name,initiative,title,logic_model,"));
    assert!(assessments.contains(&done.name));
    assert!(!assessments.contains(&planned.name));
    assert!(assessments.contains("organizations/ubb-cluj"));
    let indicators = read("indicators.csv");
    assert!(
        indicators.contains(",OUTCOME,days,LOWER_IS_BETTER,60.0,2024-01-01,30.0,2025-01-01,2,")
    );
    let measurements = read("measurements.csv");
    assert!(measurements.contains("/measurements/2,"));
    assert!(measurements.contains(",2024-12-01,31.5,Permit register,"));
    assert!(read("capacity_rounds.csv").contains(",countries/RO,2021,2021-06-01,"));
    for name in std::fs::read_dir(dir.path()).unwrap() {
        let name = name.unwrap().file_name().into_string().unwrap();
        let text = read(&name);
        for personal in ["people/", "oecd-opsi"] {
            assert!(!text.contains(personal), "{name} holds {personal:?}");
        }
    }
    let record: serde_json::Value =
        serde_json::from_str(&read("measurements.dcat.jsonld")).unwrap();
    assert_eq!(
        record["owl:versionInfo"],
        format!("change-log sequence {}", counts.sequence)
    );
    assert_eq!(
        record["dct:temporal"]["dcat:startDate"]["@value"],
        "2024-06-01"
    );
    let catalogue: serde_json::Value = serde_json::from_str(&read("catalogue.jsonld")).unwrap();
    assert_eq!(catalogue["dcat:dataset"].as_array().unwrap().len(), 4);
    let first = read("catalogue.jsonld");
    let again = innolab_impact::export(&settings, dir.path(), &release)
        .await
        .unwrap();
    assert_eq!(again, counts);
    assert_eq!(
        read("catalogue.jsonld"),
        first,
        "the same data gives the same bytes"
    );
    // The same as streams, nobody named.
    use innolab_tests::collect;
    let assessments = collect(c.export_assessments(pb::ExportAssessmentsRequest {}).await).await;
    assert_eq!(assessments.len(), 1);
    let exported = assessments[0].assessment.as_ref().unwrap();
    assert_eq!(exported.name, done.name);
    assert_eq!(exported.evaluators, vec!["organizations/ubb-cluj"]);
    assert!(exported.sign_off.is_some() && !exported.history.is_empty());
    let indicators = collect(c.export_indicators(pb::ExportIndicatorsRequest {}).await).await;
    assert_eq!(indicators.len(), 1);
    assert_eq!(
        indicators[0].indicator.as_ref().unwrap().measurements.len(),
        2
    );
    let rounds = collect(
        c.export_capacity_assessments(pb::ExportCapacityAssessmentsRequest {})
            .await,
    )
    .await;
    assert_eq!(rounds.len(), 1);
    let everything = format!("{assessments:?}{indicators:?}{rounds:?}");
    assert!(!everything.contains("people/"), "{everything}");
    server.stop().await;
}
