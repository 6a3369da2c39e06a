//! Rollups over many assessments, and the kept counts that serve them.

use super::*;

on_both_backends!(
    rollup_counts_levels_ratings_outcomes_and_progress,
    rollup_filters_by_initiative_and_state,
    rollup_progress_agrees_with_each_indicators_progress,
    kept_rollup_counts_always_equal_a_scan,
);

fn levels(counts: &[pb::LevelCount]) -> Vec<i64> {
    counts.iter().map(|c| c.count).collect()
}

async fn summarize(client: &mut Client, filter: &str) -> pb::SummarizeAssessmentsResponse {
    client
        .summarize_assessments(pb::SummarizeAssessmentsRequest {
            filter: filter.into(),
        })
        .await
        .accepted("SummarizeAssessments")
}

async fn rollup_counts_levels_ratings_outcomes_and_progress(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let empty = summarize(&mut client, "").await;
    assert_eq!(empty.assessment_count, 0);
    assert_eq!(levels(&empty.nesta_levels), [0; 6]);
    assert_eq!(empty.indicator_progress.unwrap().total, 0);

    let full = create(&mut client, full_assessment()).await;
    let mut other = assessment("initiatives/b", "Open budget");
    other.nesta_level = 3;
    other.maryland_level = 5;
    other.dac = Some(pb::DacCriteria {
        relevance: rated(2, "Narrow audience"),
        ..Default::default()
    });
    other.public_value_outcomes = vec![pb::PublicValueOutcome::OpenGovernmentCapabilities as i32];
    let other = create(&mut client, other).await;
    create(&mut client, assessment("initiatives/c", "Not yet rated")).await;

    add_indicator(&mut client, &full.name, waiting_days(vec![])).await;
    add_indicator(
        &mut client,
        &full.name,
        waiting_days(vec![measurement(date(2024, 4, 1), 45.0)]),
    )
    .await;
    add_indicator(
        &mut client,
        &other.name,
        waiting_days(vec![measurement(date(2024, 10, 1), 58.0)]),
    )
    .await;
    add_indicator(
        &mut client,
        &other.name,
        waiting_days(vec![measurement(date(2024, 12, 1), 25.0)]),
    )
    .await;
    let mut hold = waiting_days(vec![measurement(date(2024, 6, 1), 60.0)]);
    hold.target = point(60.0, date(2025, 1, 1));
    add_indicator(&mut client, &other.name, hold).await;

    let all = summarize(&mut client, "").await;
    assert_eq!(all.assessment_count, 3);
    assert_eq!(levels(&all.nesta_levels), [1, 0, 0, 2, 0, 0]);
    assert_eq!(levels(&all.maryland_levels), [1, 0, 0, 0, 1, 1]);
    let criteria: Vec<&str> = all.dac.iter().map(|d| d.criterion.as_str()).collect();
    assert_eq!(
        criteria,
        [
            "relevance",
            "coherence",
            "effectiveness",
            "efficiency",
            "impact",
            "sustainability"
        ]
    );
    assert_eq!(levels(&all.dac[0].ratings), [1, 0, 1, 0, 1]);
    assert_eq!(levels(&all.dac[3].ratings), [2, 0, 1, 0, 0]);
    assert_eq!(levels(&all.dac[5].ratings), [3, 0, 0, 0, 0]);
    let pv: Vec<(i32, i64)> = all
        .public_value_outcomes
        .iter()
        .map(|p| (p.outcome, p.count))
        .collect();
    assert_eq!(
        pv,
        [
            (pb::PublicValueOutcome::ImprovedPublicService as i32, 1),
            (pb::PublicValueOutcome::ImprovedAdministration as i32, 1),
            (pb::PublicValueOutcome::OpenGovernmentCapabilities as i32, 1),
        ]
    );
    let p = all.indicator_progress.unwrap();
    assert_eq!(
        (p.total, p.no_data, p.off_track, p.on_track, p.achieved),
        (5, 1, 1, 1, 2)
    );
    server.stop().await;
}

async fn rollup_filters_by_initiative_and_state(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let mut a = assessment("initiatives/a", "A");
    a.nesta_level = 2;
    let a = create(&mut client, a).await;
    let mut b = assessment("initiatives/b", "B");
    b.nesta_level = 4;
    let b = create(&mut client, b).await;
    let mut c = assessment("initiatives/c", "C");
    c.nesta_level = 5;
    create(&mut client, c).await;
    add_indicator(&mut client, &a.name, waiting_days(vec![])).await;
    add_indicator(&mut client, &b.name, waiting_days(vec![])).await;
    add_indicator(&mut client, &b.name, waiting_days(vec![])).await;
    complete(&mut client, &b.name).await;

    let ab = summarize(
        &mut client,
        "(initiative = \"initiatives/a\" OR initiative = \"initiatives/b\")",
    )
    .await;
    assert_eq!(ab.assessment_count, 2);
    assert_eq!(levels(&ab.nesta_levels), [0, 0, 1, 0, 1, 0]);
    assert_eq!(ab.indicator_progress.unwrap().no_data, 3);
    let completed = summarize(&mut client, "state = COMPLETED").await;
    assert_eq!(completed.assessment_count, 1);
    assert_eq!(levels(&completed.nesta_levels), [0, 0, 0, 0, 1, 0]);
    assert_eq!(completed.indicator_progress.unwrap().total, 2);
    let none = summarize(&mut client, "initiative = \"initiatives/zzz\"").await;
    assert_eq!(none.assessment_count, 0);
    for bad in ["nesta_level = 3", "state = DONE", "initiative = \"x\""] {
        let status = client
            .summarize_assessments(pb::SummarizeAssessmentsRequest { filter: bad.into() })
            .await
            .refused(bad);
        assert_invalid(&status, "filter");
    }
    server.stop().await;
}

async fn rollup_progress_agrees_with_each_indicators_progress(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "Edge cases")).await;
    let hold = |direction: pb::Direction, value: f64| {
        let mut i = waiting_days(vec![measurement(date(2024, 7, 1), value)]);
        i.direction = direction as i32;
        i.target = point(60.0, date(2025, 1, 1));
        i
    };
    let cases = vec![
        waiting_days(vec![]),
        // Exactly on the line: half the time, half the way (2024 is a leap year).
        waiting_days(vec![measurement(date(2024, 7, 2), 45.0)]),
        waiting_days(vec![measurement(date(2024, 7, 2), 45.5)]),
        waiting_days(vec![measurement(date(2024, 3, 1), 30.0)]),
        waiting_days(vec![measurement(date(2025, 6, 1), 31.0)]),
        waiting_days(vec![measurement(date(2024, 3, 1), 65.0)]),
        hold(pb::Direction::LowerIsBetter, 60.0),
        hold(pb::Direction::LowerIsBetter, 61.0),
        hold(pb::Direction::HigherIsBetter, 59.0),
        hold(pb::Direction::HigherIsBetter, 75.0),
        {
            let mut early = waiting_days(vec![measurement(date(2023, 12, 1), 58.0)]);
            early.measurements[0].note = "Pilot".into();
            early
        },
    ];
    let mut expected = std::collections::BTreeMap::<i32, i64>::new();
    for case in cases {
        let made = add_indicator(&mut client, &a.name, case).await;
        *expected.entry(status(&made) as i32).or_default() += 1;
    }
    let p = summarize(&mut client, "").await.indicator_progress.unwrap();
    let from_sql = [
        (pb::ProgressStatus::NoData as i32, p.no_data),
        (pb::ProgressStatus::OffTrack as i32, p.off_track),
        (pb::ProgressStatus::OnTrack as i32, p.on_track),
        (pb::ProgressStatus::Achieved as i32, p.achieved),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .collect::<std::collections::BTreeMap<_, _>>();
    assert_eq!(from_sql, expected);
    assert!(expected.len() == 4, "every status occurs: {expected:?}");
    server.stop().await;
}

/// The rollup over everything (and over states) is read from counts the
/// writes keep; a filter on initiatives scans the rows. After every kind of
/// write, both must give the same answer.
async fn kept_rollup_counts_always_equal_a_scan(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let initiatives: Vec<String> = (0..4).map(|i| format!("initiatives/kept-{i}")).collect();
    let every = |extra: &str| {
        let any: Vec<String> = initiatives
            .iter()
            .map(|i| format!("initiative = \"{i}\""))
            .collect();
        format!("({}){extra}", any.join(" OR "))
    };
    let reader = client.clone();
    let summarize = async |filter: String| {
        reader
            .clone()
            .summarize_assessments(pb::SummarizeAssessmentsRequest { filter })
            .await
            .accepted("SummarizeAssessments")
    };
    let check = async |step: &str| {
        let kept = summarize(String::new()).await;
        let scanned = summarize(every("")).await;
        assert_eq!(
            kept, scanned,
            "after {step}: kept counts differ from a scan"
        );
        let kept = summarize("state = COMPLETED".into()).await;
        let scanned = summarize(every(" AND state = COMPLETED")).await;
        assert_eq!(kept, scanned, "after {step}: kept COMPLETED counts differ");
    };
    check("nothing").await;

    let mut names = Vec::new();
    for (i, initiative) in initiatives.iter().enumerate() {
        let mut a = assessment(initiative, &format!("Assessment {i}"));
        a.nesta_level = i as i32 + 1;
        a.maryland_level = 5 - i as i32;
        a.dac = Some(pb::DacCriteria {
            relevance: rated(i as i32 % 4 + 1, "why"),
            impact: rated(2, "why"),
            ..Default::default()
        });
        a.public_value_outcomes = vec![pb::PublicValueOutcome::ImprovedPublicService as i32];
        let created = create(&mut client, a).await;
        // Indicators of every status: none measured, behind, on track, reached.
        for values in [vec![], vec![58.0], vec![40.0], vec![29.0]] {
            let measurements = values
                .iter()
                .map(|v| measurement(date(2024, 7, 1), *v))
                .collect();
            add_indicator(&mut client, &created.name, waiting_days(measurements)).await;
        }
        names.push(created.name);
    }
    check("creates").await;

    complete(&mut client, &names[0]).await;
    complete(&mut client, &names[1]).await;
    start_it(&mut client, &names[2]).await;
    check("transitions").await;

    let mut changed = client
        .get_assessment(pb::GetAssessmentRequest {
            name: names[2].clone(),
        })
        .await
        .accepted("GetAssessment");
    changed.nesta_level = 5;
    changed.public_value_outcomes = vec![pb::PublicValueOutcome::OpenGovernmentCapabilities as i32];
    client
        .update_assessment(pb::UpdateAssessmentRequest {
            assessment: Some(changed),
            update_mask: mask(&["nesta_level", "public_value_outcomes"]),
        })
        .await
        .accepted("UpdateAssessment");
    check("an update").await;

    let indicators = client
        .list_indicators(pb::ListIndicatorsRequest {
            parent: names[3].clone(),
            ..Default::default()
        })
        .await
        .accepted("ListIndicators")
        .indicators;
    let mut measured = indicators[0].clone();
    measured.measurements = vec![measurement(date(2024, 9, 1), 25.0)];
    client
        .update_indicator(pb::UpdateIndicatorRequest {
            indicator: Some(measured),
            update_mask: mask(&["measurements"]),
        })
        .await
        .accepted("UpdateIndicator");
    client
        .delete_indicator(pb::DeleteIndicatorRequest {
            name: indicators[1].name.clone(),
            etag: String::new(),
        })
        .await
        .accepted("DeleteIndicator");
    check("indicator changes").await;

    client
        .delete_assessment(pb::DeleteAssessmentRequest {
            name: names[3].clone(),
            etag: String::new(),
        })
        .await
        .accepted("DeleteAssessment");
    client
        .reopen_assessment(pb::ReopenAssessmentRequest {
            name: names[0].clone(),
            decided_by: "people/lead".into(),
            reason: "new data".into(),
            ..Default::default()
        })
        .await
        .accepted("ReopenAssessment");
    check("a delete and a reopen").await;
    let all = summarize(String::new()).await;
    assert_eq!(all.assessment_count, 3);
    assert_eq!(all.indicator_progress.unwrap().total, 12);
    server.stop().await;
}
