//! Listing: filters, free text, pages, and the portfolio summary.

use super::*;

innolab_tests::on_both_backends!(
    list_filters_by_every_field,
    free_text_search_folds_case_and_romanian_diacritics,
    pagination_walks_every_page_once,
    bad_filters_and_page_sizes_are_invalid,
    portfolio_summary_counts_by_dimension,
);

async fn list_filters_by_every_field(backend: Backend) {
    let mut w = World::new(backend).await;
    portfolio(&mut w).await;
    let ministry = w.ministry.clone();
    let university = w.university.clone();
    let cases: Vec<(String, Vec<&str>)> = vec![
        ("".into(), vec!["Alfa", "Beta", "Delta", "Gamma"]),
        ("country_code = \"RO\"".into(), vec!["Alfa", "Gamma"]),
        ("country_code = \"ro\"".into(), vec!["Alfa", "Gamma"]),
        (
            "(country_code = \"FI\" OR country_code = \"SE\")".into(),
            vec!["Beta", "Delta"],
        ),
        ("nuts_code = \"FI1B\"".into(), vec!["Beta"]),
        (
            "stage = IMPLEMENTING_PROJECTS".into(),
            vec!["Beta", "Gamma"],
        ),
        (
            "country_code = \"RO\" AND stage = IMPLEMENTING_PROJECTS".into(),
            vec!["Gamma"],
        ),
        ("status = PILOT".into(), vec!["Gamma"]),
        ("facet = ANTICIPATORY".into(), vec!["Beta"]),
        ("government_level = LOCAL".into(), vec!["Beta"]),
        ("sector = GENERAL_PUBLIC_SERVICES".into(), vec!["Alfa"]),
        (
            format!("lead_organization = \"{university}\""),
            vec!["Beta"],
        ),
        (
            format!("lead_organization = \"{ministry}\""),
            vec!["Alfa", "Delta", "Gamma"],
        ),
        (format!("partner = \"{university}\""), vec!["Alfa", "Gamma"]),
        ("tag = \"foresight\"".into(), vec!["Beta", "Delta"]),
        ("tag = \"E-Government\"".into(), vec!["Alfa", "Delta"]),
        ("sdg = 4".into(), vec!["Beta", "Gamma"]),
        ("sdg = 16 AND tag = \"foresight\"".into(), vec!["Beta"]),
        ("principle = SUPPORT_EXPLORATION".into(), vec!["Beta"]),
        ("principle = DIFFUSE_LESSONS".into(), vec!["Alfa"]),
        ("language = \"sv\"".into(), vec!["Delta"]),
        ("language = \"SV\"".into(), vec!["Delta"]),
        ("nuts_code = \"fi1b\"".into(), vec!["Beta"]),
        ("language = \"ro\"".into(), vec!["Alfa"]),
    ];
    for (filter, expected) in cases {
        assert_eq!(w.titles(&filter).await, expected, "{filter}");
    }
    w.stop().await;
}

async fn free_text_search_folds_case_and_romanian_diacritics(backend: Backend) {
    let mut w = World::new(backend).await;
    let mut ro = w.initiative("x");
    ro.titles = vec![text("ro", "Ghișeul digital pentru cetățeni")];
    ro.summaries = vec![text("ro", "Şcoala de inovaţie")];
    w.create(ro).await;
    let mut sv = w.initiative("y");
    sv.titles = vec![text("sv", "Öppna data för kommuner")];
    w.create(sv).await;
    for (query, hits) in [
        ("ghişeul", 1), // cedilla finds comma-below
        ("GHIȘEUL", 1), // case
        ("școala", 1),  // comma-below finds cedilla
        ("inovație", 1),
        ("\"digital pentru\"", 1),
        ("öppna", 1),
        ("oppna", 0), // Nordic letters are not stripped
        ("digital cetățeni", 1),
        ("digital kommuner", 0),
        ("\"100%\"", 0),
    ] {
        assert_eq!(w.list(query).await.len(), hits, "{query}");
    }
    assert_eq!(w.list("country_code = \"RO\" ghișeul").await.len(), 1);
    w.stop().await;
}

async fn pagination_walks_every_page_once(backend: Backend) {
    let mut w = World::new(backend).await;
    let mut created = Vec::new();
    for n in 0..7 {
        let mut i = w.initiative(&format!("Page {n}"));
        if n % 2 == 0 {
            i.tags = vec!["even".into()];
        }
        created.push(w.create(i).await.name);
    }
    for (filter, expected) in [
        ("", created.clone()),
        (
            "tag = \"even\"",
            created.iter().step_by(2).cloned().collect(),
        ),
    ] {
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut pages = 0;
        loop {
            let page = w
                .client
                .list_initiatives(pb::ListInitiativesRequest {
                    page_size: 2,
                    page_token: token.clone(),
                    filter: filter.into(),
                })
                .await
                .unwrap()
                .into_inner();
            pages += 1;
            assert!(page.initiatives.len() <= 2);
            seen.extend(page.initiatives.into_iter().map(|i| i.name));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(seen, expected, "{filter}");
        assert_eq!(pages, expected.len().div_ceil(2), "{filter}");
    }
    w.stop().await;
}

async fn bad_filters_and_page_sizes_are_invalid(backend: Backend) {
    let mut w = World::new(backend).await;
    for filter in [
        "colour = \"red\"",
        "stage = FLYING",
        "sdg = 18",
        "sdg = x",
        "country_code = \"XX\"",
        "lead_organization = \"people/1\"",
        "country_code != \"RO\"",
        "stage = GENERATING_IDEAS AND stage = DIFFUSING_LESSONS",
        "(stage = A",
        "language = \"not a tag\"",
    ] {
        let err = w
            .client
            .list_initiatives(pb::ListInitiativesRequest {
                filter: filter.into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(violations(&err), vec!["filter"], "{filter}");
        let err = w
            .client
            .get_portfolio_summary(pb::GetPortfolioSummaryRequest {
                filter: filter.into(),
            })
            .await
            .unwrap_err();
        assert_eq!(violations(&err), vec!["filter"], "{filter}");
    }
    let err = w
        .client
        .list_initiatives(pb::ListInitiativesRequest {
            page_size: -1,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["page_size"]);
    let err = w
        .client
        .list_initiatives(pb::ListInitiativesRequest {
            page_token: "forged".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["page_token"]);
    w.stop().await;
}

fn counts(list: &[pb::PortfolioCount]) -> Vec<(&str, i64)> {
    list.iter().map(|c| (c.value.as_str(), c.count)).collect()
}

async fn portfolio_summary_counts_by_dimension(backend: Backend) {
    let mut w = World::new(backend).await;
    let empty = w
        .client
        .get_portfolio_summary(pb::GetPortfolioSummaryRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(empty.total, 0);
    assert!(empty.by_stage.is_empty());
    portfolio(&mut w).await;
    let all = w
        .client
        .get_portfolio_summary(pb::GetPortfolioSummaryRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.total, 4);
    assert_eq!(
        counts(&all.by_stage),
        vec![("IDENTIFYING_PROBLEMS", 2), ("IMPLEMENTING_PROJECTS", 2)]
    );
    assert_eq!(
        counts(&all.by_facet),
        vec![
            ("ENHANCEMENT_ORIENTED", 1),
            ("MISSION_ORIENTED", 1),
            ("ANTICIPATORY", 1),
            ("UNSPECIFIED", 1)
        ]
    );
    assert_eq!(
        counts(&all.by_status),
        vec![("IN_DEVELOPMENT", 3), ("PILOT", 1)]
    );
    assert_eq!(
        counts(&all.by_principle),
        vec![
            ("EMBRACE_INNOVATION", 1),
            ("SUPPORT_EXPLORATION", 1),
            ("DIFFUSE_LESSONS", 1)
        ]
    );
    assert_eq!(
        counts(&all.by_country),
        vec![("FI", 1), ("RO", 2), ("SE", 1)]
    );
    assert_eq!(counts(&all.by_sdg), vec![("4", 2), ("9", 1), ("16", 2)]);
    let ro = w
        .client
        .get_portfolio_summary(pb::GetPortfolioSummaryRequest {
            filter: "country_code = \"RO\"".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(ro.total, 2);
    assert_eq!(counts(&ro.by_country), vec![("RO", 2)]);
    assert_eq!(counts(&ro.by_sdg), vec![("4", 1), ("9", 1), ("16", 1)]);
    assert_eq!(
        counts(&ro.by_stage),
        vec![("IDENTIFYING_PROBLEMS", 1), ("IMPLEMENTING_PROJECTS", 1)]
    );
    let text = w
        .client
        .get_portfolio_summary(pb::GetPortfolioSummaryRequest {
            filter: "alfa".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(text.total, 1);

    // The whole-library summary is kept by every write; it always agrees with
    // counting the rows (a filter matching everything takes that path).
    let every_status = "(status = IN_DEVELOPMENT OR status = PILOT OR status = IMPLEMENTED \
        OR status = PAUSED OR status = DISCONTINUED OR status = NOT_IN_USE_ANYMORE)";
    let beta = w.list("facet = ANTICIPATORY").await.remove(0);
    w.client
        .update_initiative(pb::UpdateInitiativeRequest {
            initiative: Some(pb::Initiative {
                name: beta.name.clone(),
                sdgs: vec![1, 2, 3],
                facet: pb::InnovationFacet::Adaptive as i32,
                country_code: "DK".into(),
                principles: vec![],
                ..Default::default()
            }),
            update_mask: mask(&["sdgs", "facet", "country_code", "principles", "nuts_code"]),
        })
        .await
        .unwrap();
    w.move_stage(&beta.name, pb::InitiativeStage::EvaluatingProjects, "")
        .await
        .unwrap();
    w.change_status(&beta.name, pb::InitiativeStatus::Pilot)
        .await
        .unwrap();
    // A rejected update changes nothing.
    w.client
        .update_initiative(pb::UpdateInitiativeRequest {
            initiative: Some(pb::Initiative {
                name: beta.name.clone(),
                etag: "r1".into(),
                sdgs: vec![17],
                ..Default::default()
            }),
            update_mask: mask(&["sdgs"]),
        })
        .await
        .unwrap_err();
    w.import("summary-import", vec![w.initiative("Imported")])
        .await
        .unwrap();
    let call = create_call(&mut w, Some(date(2020, 1, 1)), Some(date(2999, 1, 1))).await;
    let mut draft = w.initiative("Accepted");
    draft.sdgs = vec![5];
    let sub = w.submit(&call.name, draft).await.unwrap();
    screen(
        &mut w,
        &sub.name,
        "",
        screening(pb::ScreeningDecision::Accept, true),
    )
    .await
    .unwrap();
    let summary = |filter: &str| pb::GetPortfolioSummaryRequest {
        filter: filter.into(),
    };
    let kept = w
        .client
        .get_portfolio_summary(summary(""))
        .await
        .unwrap()
        .into_inner();
    let counted = w
        .client
        .get_portfolio_summary(summary(every_status))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(kept, counted);
    assert_eq!(kept.total, 6);
    assert_eq!(
        counts(&kept.by_sdg),
        vec![
            ("1", 1),
            ("2", 1),
            ("3", 1),
            ("4", 1),
            ("5", 1),
            ("9", 1),
            ("16", 1)
        ]
    );
    assert_eq!(
        counts(&kept.by_country),
        vec![("DK", 1), ("RO", 4), ("SE", 1)]
    );
    w.stop().await;
}
