//! Indicators of an assessment: progress derived from measurements, and their chart.

use super::*;

on_both_backends!(
    indicator_round_trip_with_derived_progress,
    indicator_bad_input_names_the_field,
    indicator_create_is_idempotent_and_update_checks_etag,
    indicators_of_unknown_assessments_are_not_found,
    list_indicators_filters_and_pages,
    indicator_chart_is_svg_with_a_dot_per_measurement,
);

async fn indicator_round_trip_with_derived_progress(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "t")).await;

    // No measurements: no data.
    let empty = add_indicator(&mut client, &a.name, waiting_days(vec![])).await;
    assert!(empty.name.starts_with(&format!("{}/indicators/", a.name)));
    assert_eq!(status(&empty), pb::ProgressStatus::NoData);
    assert_eq!(empty.progress.as_ref().unwrap().fraction, None);

    // Lower is better: 60 -> 45 a quarter of the way through the year is
    // half-way to 30, ahead of the line. Measurements come back by date.
    let on_track = add_indicator(
        &mut client,
        &a.name,
        waiting_days(vec![
            measurement(date(2024, 4, 1), 45.0),
            measurement(date(2024, 2, 1), 55.0),
        ]),
    )
    .await;
    assert_eq!(status(&on_track), pb::ProgressStatus::OnTrack);
    let progress = on_track.progress.clone().unwrap();
    assert_eq!(progress.fraction, Some(0.5));
    assert_eq!(progress.latest.unwrap().value, 45.0);
    assert_eq!(on_track.measurements[0].value, 55.0);
    assert_eq!(on_track.measurements[0].source, "Permit register");

    // Record a new measurement: the target is reached.
    let mut more = on_track.clone();
    more.measurements.push(measurement(date(2024, 11, 1), 28.0));
    let achieved = client
        .update_indicator(pb::UpdateIndicatorRequest {
            indicator: Some(more),
            update_mask: mask(&["measurements"]),
        })
        .await
        .accepted("UpdateIndicator");
    assert_eq!(status(&achieved), pb::ProgressStatus::Achieved);
    assert_eq!(achieved.measurements.len(), 3);
    assert_eq!(achieved.etag, "r2");

    // Higher is better, target equal to the baseline: hold the level.
    let mut hold = waiting_days(vec![measurement(date(2024, 6, 1), 89.0)]);
    hold.title = "Satisfaction".into();
    hold.direction = pb::Direction::HigherIsBetter as i32;
    hold.measure = "% satisfied".into();
    hold.baseline = point(90.0, date(2024, 1, 1));
    hold.target = point(90.0, date(2025, 1, 1));
    let slipping = add_indicator(&mut client, &a.name, hold).await;
    assert_eq!(status(&slipping), pb::ProgressStatus::OffTrack);
    assert_eq!(slipping.progress.as_ref().unwrap().fraction, Some(0.0));

    let got = client
        .get_indicator(pb::GetIndicatorRequest {
            name: achieved.name.clone(),
        })
        .await
        .accepted("GetIndicator");
    assert_eq!(got, achieved);
    let listed = client
        .list_indicators(pb::ListIndicatorsRequest {
            parent: a.name.clone(),
            ..Default::default()
        })
        .await
        .accepted("ListIndicators");
    assert_eq!(listed.indicators.len(), 3);

    client
        .delete_indicator(pb::DeleteIndicatorRequest {
            name: empty.name.clone(),
            etag: empty.etag.clone(),
        })
        .await
        .accepted("DeleteIndicator");
    let status = client
        .get_indicator(pb::GetIndicatorRequest {
            name: empty.name.clone(),
        })
        .await
        .refused("GetIndicator deleted");
    assert_code(&status, Code::NotFound);
    server.stop().await;
}

async fn indicator_bad_input_names_the_field(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "t")).await;
    let refuse = |i: pb::Indicator| {
        let mut c = client.clone();
        let parent = a.name.clone();
        async move {
            c.create_indicator(pb::CreateIndicatorRequest {
                parent,
                indicator: Some(i),
                request_id: String::new(),
            })
            .await
            .refused("CreateIndicator")
        }
    };

    // Lower is better, but the target is above the baseline.
    let mut wrong_side = waiting_days(vec![]);
    wrong_side.target = point(70.0, date(2025, 1, 1));
    assert_invalid(&refuse(wrong_side).await, "indicator.target.value");
    // Higher is better, but the target is below the baseline.
    let mut wrong_side = waiting_days(vec![]);
    wrong_side.direction = pb::Direction::HigherIsBetter as i32;
    assert_invalid(&refuse(wrong_side).await, "indicator.target.value");
    // A measurement before the baseline needs a note.
    let early = waiting_days(vec![
        measurement(date(2024, 3, 1), 50.0),
        measurement(date(2023, 12, 1), 61.0),
    ]);
    assert_invalid(&refuse(early).await, "indicator.measurements[1].note");
    // The target must come after the baseline.
    let mut backwards = waiting_days(vec![]);
    backwards.target = point(30.0, date(2023, 1, 1));
    assert_invalid(&refuse(backwards).await, "indicator.target.date");
    // Required fields, and impossible dates, are named.
    let status = refuse(pb::Indicator {
        measurements: vec![pb::Measurement {
            date: Some(date(2024, 2, 30)),
            ..Default::default()
        }],
        ..Default::default()
    })
    .await;
    for field in [
        "indicator.title",
        "indicator.measure",
        "indicator.result_type",
        "indicator.direction",
        "indicator.baseline",
        "indicator.target",
        "indicator.measurements[0].date",
    ] {
        assert_invalid(&status, field);
    }
    let mut no_date = waiting_days(vec![]);
    no_date.baseline = Some(pb::Point {
        value: 1.0,
        date: None,
    });
    assert_invalid(&refuse(no_date).await, "indicator.baseline.date");
    let mut nan = waiting_days(vec![measurement(date(2024, 3, 1), f64::NAN)]);
    nan.result_type = 9;
    let status = refuse(nan).await;
    assert_invalid(&status, "indicator.result_type");

    // Nothing was stored; with a note the early measurement is accepted.
    let listed = client
        .list_indicators(pb::ListIndicatorsRequest {
            parent: a.name.clone(),
            ..Default::default()
        })
        .await
        .accepted("ListIndicators");
    assert!(listed.indicators.is_empty());
    let mut explained = waiting_days(vec![measurement(date(2023, 12, 1), 61.0)]);
    explained.measurements[0].note = "Pilot data before the official baseline".into();
    add_indicator(&mut client, &a.name, explained).await;

    // Updates are validated the same way.
    let i = add_indicator(&mut client, &a.name, waiting_days(vec![])).await;
    let mut bad = i.clone();
    bad.target = point(99.0, date(2025, 1, 1));
    let status = client
        .update_indicator(pb::UpdateIndicatorRequest {
            indicator: Some(bad),
            update_mask: mask(&["target"]),
        })
        .await
        .refused("UpdateIndicator");
    assert_invalid(&status, "indicator.target.value");
    server.stop().await;
}

async fn indicator_create_is_idempotent_and_update_checks_etag(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "t")).await;
    let request = pb::CreateIndicatorRequest {
        parent: a.name.clone(),
        indicator: Some(waiting_days(vec![])),
        request_id: "ind-1".into(),
    };
    let first = client
        .create_indicator(request.clone())
        .await
        .accepted("CreateIndicator");
    let again = client
        .create_indicator(request)
        .await
        .accepted("CreateIndicator retry");
    assert_eq!(first, again);

    let mut one = first.clone();
    one.title = "One".into();
    client
        .update_indicator(pb::UpdateIndicatorRequest {
            indicator: Some(one),
            update_mask: mask(&["title"]),
        })
        .await
        .accepted("UpdateIndicator");
    let mut two = first.clone();
    two.title = "Two".into();
    let status = client
        .update_indicator(pb::UpdateIndicatorRequest {
            indicator: Some(two),
            update_mask: mask(&["title"]),
        })
        .await
        .refused("UpdateIndicator stale");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    let status = client
        .delete_indicator(pb::DeleteIndicatorRequest {
            name: first.name.clone(),
            etag: first.etag.clone(),
        })
        .await
        .refused("DeleteIndicator stale");
    assert_reason(&status, Code::Aborted, "ETAG_MISMATCH");
    let now = client
        .get_indicator(pb::GetIndicatorRequest {
            name: first.name.clone(),
        })
        .await
        .accepted("GetIndicator");
    assert_eq!(now.title, "One");
    let status = client
        .update_indicator(pb::UpdateIndicatorRequest {
            indicator: Some(now),
            update_mask: mask(&["progress"]),
        })
        .await
        .refused("UpdateIndicator of an output field");
    assert_invalid(&status, "update_mask");
    server.stop().await;
}

async fn indicators_of_unknown_assessments_are_not_found(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let status = client
        .create_indicator(pb::CreateIndicatorRequest {
            parent: "assessments/nope".into(),
            indicator: Some(waiting_days(vec![])),
            request_id: String::new(),
        })
        .await
        .refused("CreateIndicator");
    assert_code(&status, Code::NotFound);
    let status = client
        .list_indicators(pb::ListIndicatorsRequest {
            parent: "assessments/nope".into(),
            ..Default::default()
        })
        .await
        .refused("ListIndicators");
    assert_code(&status, Code::NotFound);
    let status = client
        .create_indicator(pb::CreateIndicatorRequest {
            parent: "initiatives/x".into(),
            indicator: Some(waiting_days(vec![])),
            request_id: String::new(),
        })
        .await
        .refused("CreateIndicator");
    assert_invalid(&status, "parent");
    // An indicator is only found under its own assessment.
    let a = create(&mut client, assessment("initiatives/a", "a")).await;
    let b = create(&mut client, assessment("initiatives/a", "b")).await;
    let i = add_indicator(&mut client, &a.name, waiting_days(vec![])).await;
    let id = i.name.rsplit('/').next().unwrap();
    let status = client
        .get_indicator(pb::GetIndicatorRequest {
            name: format!("{}/indicators/{id}", b.name),
        })
        .await
        .refused("GetIndicator under another assessment");
    assert_code(&status, Code::NotFound);
    server.stop().await;
}

async fn list_indicators_filters_and_pages(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "t")).await;
    let mut made = Vec::new();
    for n in 0..5 {
        let mut i = waiting_days(vec![]);
        i.title = format!("Indicator {n}");
        if n % 2 == 0 {
            i.result_type = pb::ResultType::Output as i32;
        }
        made.push(add_indicator(&mut client, &a.name, i).await.name);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_indicators(pb::ListIndicatorsRequest {
                parent: a.name.clone(),
                page_size: 2,
                page_token: token,
                filter: String::new(),
            })
            .await
            .accepted("ListIndicators");
        seen.extend(page.indicators.into_iter().map(|i| i.name));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, made);
    let outputs = client
        .list_indicators(pb::ListIndicatorsRequest {
            parent: a.name.clone(),
            filter: "result_type = OUTPUT".into(),
            ..Default::default()
        })
        .await
        .accepted("ListIndicators");
    assert_eq!(outputs.indicators.len(), 3);
    let status = client
        .list_indicators(pb::ListIndicatorsRequest {
            parent: a.name.clone(),
            filter: "result_type = RESULT".into(),
            ..Default::default()
        })
        .await
        .refused("bad filter");
    assert_invalid(&status, "filter");
    server.stop().await;
}

// --------------------------------------------------------------- pictures --

async fn indicator_chart_is_svg_with_a_dot_per_measurement(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let a = create(&mut client, assessment("initiatives/a", "t")).await;
    let measurements: Vec<pb::Measurement> = (1..=7)
        .map(|m| measurement(date(2024, m, 15), 60.0 - 3.0 * f64::from(m)))
        .collect();
    let i = add_indicator(&mut client, &a.name, waiting_days(measurements)).await;
    let chart = client
        .render_indicator_chart(pb::RenderIndicatorChartRequest {
            name: i.name.clone(),
        })
        .await
        .accepted("RenderIndicatorChart");
    assert_eq!(chart.content_type, "image/svg+xml");
    let doc = roxmltree::Document::parse(&chart.svg).expect("well-formed SVG");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let dots = doc
        .descendants()
        .filter(|n| n.tag_name().name() == "circle")
        .count();
    assert_eq!(dots, 7, "one dot per measurement");
    let text: String = doc
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect();
    assert!(text.contains("Days to a building permit"), "title shown");
    assert!(text.contains("days"), "measure shown");

    // Without measurements the chart still draws baseline and target.
    let empty = add_indicator(&mut client, &a.name, waiting_days(vec![])).await;
    let chart = client
        .render_indicator_chart(pb::RenderIndicatorChartRequest {
            name: empty.name.clone(),
        })
        .await
        .accepted("RenderIndicatorChart");
    let doc = roxmltree::Document::parse(&chart.svg).expect("well-formed SVG");
    assert_eq!(
        doc.descendants()
            .filter(|n| n.tag_name().name() == "circle")
            .count(),
        0
    );
    let status = client
        .render_indicator_chart(pb::RenderIndicatorChartRequest {
            name: format!("{}/indicators/nope", a.name),
        })
        .await
        .refused("RenderIndicatorChart unknown");
    assert_code(&status, Code::NotFound);
    server.stop().await;
}
