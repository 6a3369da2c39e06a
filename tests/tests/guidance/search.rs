//! Search: language-aware matching (stemming, stop words, diacritics), only
//! current published editions, filters, snippets and pages, and the same
//! documents on both databases.

use super::*;

innolab_tests::on_both_backends!(
    search_romanian_cedilla_and_comma_below_match,
    search_swedish_far_is_not_far,
    search_finnish_inflected_form_finds_base_form,
    search_english_stemming_and_stop_words,
    search_covers_only_current_published_editions,
    search_filters_snippets_and_pages,
    search_bad_input_is_invalid,
    imported_documents_read_and_search_as_published_ones,
);

async fn search_romanian_cedilla_and_comma_below_match(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let (cedilla, _) = published(
        &mut client,
        document("Cedilla"),
        vec![translation(
            "ro",
            "Ghid pentru instituţii",
            "Instituţiile publice şi şcolile pot testa idei noi.",
            true,
        )],
    )
    .await;
    let (comma, _) = published(
        &mut client,
        document("Comma"),
        vec![translation(
            "ro",
            "Ghid de științe comportamentale",
            "Științele comportamentale ajută administrația.",
            true,
        )],
    )
    .await;
    let found = search(&mut client, "instituțiile", "language = \"ro\"").await;
    assert_eq!(documents_of(&found), BTreeSet::from([cedilla.name.clone()]));
    assert!(found[0].snippet.contains("<b>"), "{}", found[0].snippet);
    let found = search(&mut client, "şcoli", "").await;
    assert_eq!(documents_of(&found), BTreeSet::from([cedilla.name.clone()]));
    let found = search(&mut client, "ştiinţele", "").await;
    assert_eq!(documents_of(&found), BTreeSet::from([comma.name.clone()]));
    // Romanian stop words alone match nothing.
    assert!(search(&mut client, "și pentru de", "").await.is_empty());
    server.stop().await;
}

async fn search_swedish_far_is_not_far(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let (far, _) = published(
        &mut client,
        document("Far"),
        vec![translation(
            "sv",
            "Föräldraledighet",
            "Min far tog ut föräldraledighet.",
            true,
        )],
    )
    .await;
    let (far_ring, _) = published(
        &mut client,
        document("Får"),
        vec![translation(
            "sv",
            "Bidrag",
            "Kommunen får statligt bidrag för innovation.",
            true,
        )],
    )
    .await;
    assert_eq!(
        documents_of(&search(&mut client, "får", "").await),
        BTreeSet::from([far_ring.name.clone()])
    );
    assert_eq!(
        documents_of(&search(&mut client, "far", "").await),
        BTreeSet::from([far.name.clone()])
    );
    server.stop().await;
}

async fn search_finnish_inflected_form_finds_base_form(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let (d, _) = published(
        &mut client,
        document("Talo"),
        vec![translation(
            "fi",
            "Kokeilu",
            "Kunta rakensi uuden talo kokeiluna.",
            true,
        )],
    )
    .await;
    let found = search(&mut client, "talossa", "language = \"fi\"").await;
    assert_eq!(documents_of(&found), BTreeSet::from([d.name.clone()]));
    assert_eq!(found[0].language_code, "fi");
    server.stop().await;
}

async fn search_english_stemming_and_stop_words(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let (d, _) = published(
        &mut client,
        document("Design"),
        vec![translation(
            "en",
            "Designing services",
            "How teams design public services with citizens.",
            true,
        )],
    )
    .await;
    for query in ["design", "designed services", "the service", "CITIZEN"] {
        assert_eq!(
            documents_of(&search(&mut client, query, "").await),
            BTreeSet::from([d.name.clone()]),
            "{query}"
        );
    }
    assert!(search(&mut client, "design banana", "").await.is_empty());
    assert!(search(&mut client, "the and of", "").await.is_empty());
    server.stop().await;
}

async fn search_covers_only_current_published_editions(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let d = create_document(&mut client, document("Only published")).await;
    let e1 = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "Pilot", "Alpha pilot report", true)]),
    )
    .await;
    assert!(search(&mut client, "alpha", "").await.is_empty(), "draft");
    submit(&mut client, &e1.name).await;
    assert!(
        search(&mut client, "alpha", "").await.is_empty(),
        "submitted"
    );
    publish(&mut client, &e1.name).await;
    assert_eq!(search(&mut client, "alpha", "").await.len(), 1);
    let e2 = create_edition(
        &mut client,
        &d.name,
        edition(vec![translation("en", "Pilot", "Beta pilot report", true)]),
    )
    .await;
    submit(&mut client, &e2.name).await;
    publish(&mut client, &e2.name).await;
    assert!(
        search(&mut client, "alpha", "").await.is_empty(),
        "superseded"
    );
    let found = search(&mut client, "beta", "").await;
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].edition, e2.name);
    // The index holds the current edition's postings and nothing else.
    let postings = || async {
        let db = innolab_kit::db::Database::connect_lazy(&server.db.settings).unwrap();
        let counted: (i64, i64) = sqlx::query_as(
            "SELECT (SELECT count(*) FROM search_terms), (SELECT count(*) FROM search_terms \
             WHERE entry_id NOT IN (SELECT id FROM search_entries))",
        )
        .fetch_one(db.pool())
        .await
        .unwrap();
        db.pool().close().await;
        counted
    };
    let (all, orphaned) = postings().await;
    assert!(all > 0);
    assert_eq!(orphaned, 0, "postings of the superseded edition");
    client
        .withdraw_edition(pb::WithdrawEditionRequest {
            name: e2.name.clone(),
            etag: String::new(),
            reason: "Out of date".into(),
        })
        .await
        .accepted("withdraw");
    assert!(
        search(&mut client, "beta", "").await.is_empty(),
        "withdrawn"
    );
    assert_eq!(
        postings().await,
        (0, 0),
        "postings of the withdrawn edition"
    );
    server.stop().await;
}

async fn search_filters_snippets_and_pages(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    let mut toolkit = document("Toolkit");
    toolkit.r#type = pb::DocumentType::Toolkit as i32;
    toolkit.topics = vec!["Participation".into()];
    toolkit.lifecycle_stages = vec![pb::LifecycleStage::GeneratingIdeas as i32];
    toolkit.license = "CC-BY-SA-4.0".into();
    let (t, _) = published(
        &mut client,
        toolkit,
        vec![
            translation(
                "en",
                "Participation toolkit",
                "Workshops where citizens and civil servants prototype ideas together.",
                true,
            ),
            translation(
                "da",
                "Værktøjskasse",
                "Workshops hvor borgere og embedsmænd afprøver ideer.",
                false,
            ),
        ],
    )
    .await;
    let mut names = BTreeSet::from([t.name.clone()]);
    for i in 0..4 {
        let (d, _) = published(
            &mut client,
            document(&format!("Guide {i}")),
            vec![translation(
                "en",
                &format!("Workshop guide {i}"),
                "A guide to running workshops.",
                true,
            )],
        )
        .await;
        names.insert(d.name);
    }
    let all = search(&mut client, "workshops", "").await;
    // Five English texts and one Danish.
    assert_eq!(all.len(), 6);
    assert_eq!(documents_of(&all), names);
    assert!(all.windows(2).all(|w| w[0].score >= w[1].score));
    for r in &all {
        assert!(r.snippet.contains("<b>"), "snippet {:?}", r.snippet);
    }
    for filter in [
        "type = TOOLKIT",
        "topic = \"participation\"",
        "lifecycle_stage = GENERATING_IDEAS",
        "license = \"CC-BY-SA-4.0\"",
    ] {
        let found = search(&mut client, "workshops", filter).await;
        assert_eq!(found.len(), 2, "{filter}");
        assert_eq!(documents_of(&found), BTreeSet::from([t.name.clone()]));
    }
    let danish = search(&mut client, "borgere", "language = \"da\"").await;
    assert_eq!(danish.len(), 1);
    assert_eq!(danish[0].title, "Værktøjskasse");
    assert!(
        search(&mut client, "borgere", "language = \"en\"")
            .await
            .is_empty()
    );
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .search_documents(pb::SearchDocumentsRequest {
                query: "workshops".into(),
                filter: String::new(),
                page_size: 4,
                page_token: token.clone(),
            })
            .await
            .accepted("page");
        seen.extend(
            page.results
                .into_iter()
                .map(|r| (r.document, r.language_code)),
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(seen.iter().collect::<BTreeSet<_>>().len(), 6);
    server.stop().await;
}

async fn search_bad_input_is_invalid(backend: Backend) {
    let (server, mut client) = start(&backend).await;
    for (query, filter, field) in [
        ("", "", "query"),
        ("  ", "", "query"),
        ("...", "", "query"),
        ("x", "colour = RED", "filter"),
        ("x", "loose words", "filter"),
        ("x", "type = POEM", "filter"),
        ("x", "language = \"!!\"", "filter"),
    ] {
        let status = client
            .search_documents(pb::SearchDocumentsRequest {
                query: query.into(),
                filter: filter.into(),
                page_size: 0,
                page_token: String::new(),
            })
            .await
            .refused(field);
        assert_invalid(&status, field);
    }
    let status = client
        .search_documents(pb::SearchDocumentsRequest {
            query: "x".into(),
            filter: String::new(),
            page_size: -3,
            page_token: String::new(),
        })
        .await
        .refused("negative page size");
    assert_invalid(&status, "page_size");
    server.stop().await;
}

/// The same corpus and queries give the same documents on SQLite and on
/// PostgreSQL (runs only when PostgreSQL is configured).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_gives_the_same_documents_on_sqlite_and_postgres() {
    let Some(postgres) = Backend::postgres() else {
        return;
    };
    let sqlite = corpus_results(Backend::Sqlite).await;
    let postgres = corpus_results(postgres).await;
    assert_eq!(sqlite, postgres);
    // The comparison is not vacuous: most queries find something.
    let found = sqlite.iter().filter(|(_, hits)| !hits.is_empty()).count();
    assert!(found >= 10, "{sqlite:#?}");
}

/// For each query, the titles (stable across databases) of the hits.
async fn corpus_results(backend: Backend) -> Vec<(String, BTreeSet<(String, String)>)> {
    let (server, mut client) = start(&backend).await;
    let corpus: &[(&str, &str, &str)] = &[
        (
            "ro",
            "Ghid de inovare în administrația publică",
            "Instituţiile publice pot testa servicii noi împreună cu cetăţenii.",
        ),
        (
            "ro",
            "Laborator de politici",
            "Științele comportamentale ajută la proiectarea politicilor publice.",
        ),
        (
            "sv",
            "Innovationsguide för kommuner",
            "Kommunen får stöd när medborgare deltar i utvecklingen av tjänster.",
        ),
        (
            "sv",
            "Föräldraledighet",
            "Min far berättar om digitala tjänster för familjer.",
        ),
        (
            "fi",
            "Kokeilukulttuuri",
            "Kunnat kokeilevat uusia palveluja talossa ja kaupungissa.",
        ),
        (
            "da",
            "Borgerinddragelse",
            "Borgerne deltager i udviklingen af offentlige tjenester.",
        ),
        (
            "nb",
            "Tjenestedesign",
            "Tjenestene utvikles sammen med innbyggerne i kommunene.",
        ),
        (
            "en",
            "Designing public services",
            "Teams designed services with citizens and tested prototypes.",
        ),
        (
            "de",
            "Leitfaden",
            "Öffentliche Dienste werden gemeinsam mit Bürgern gestaltet.",
        ),
    ];
    for (language, title, body) in corpus {
        published(
            &mut client,
            document(title),
            vec![translation(language, title, body, true)],
        )
        .await;
    }
    let queries = [
        "instituțiile",
        "cetățenii",
        "ştiinţele",
        "politici publice",
        "får",
        "far",
        "tjänster",
        "kokeilu",
        "palvelu",
        "borger",
        "tjenester",
        "design",
        "citizens services",
        "bürgern",
        "the",
    ];
    let mut out = Vec::new();
    for q in queries {
        let hits = search(&mut client, q, "").await;
        out.push((
            q.to_string(),
            hits.into_iter()
                .map(|h| (h.title, h.language_code))
                .collect(),
        ));
    }
    server.stop().await;
    out
}

/// The store's bulk path (what the benchmarks load their corpora with)
/// leaves what create, submit and publish through the API leave: the same
/// document, a current PUBLISHED edition, the same search postings.
async fn imported_documents_read_and_search_as_published_ones(backend: Backend) {
    use innolab_guidance::domain::{DocumentFields, DocumentType, LifecycleStage, Translation};
    let (server, mut client) = start(&backend).await;
    let title = "Ghid pentru instituţii";
    let body = "Instituţiile publice şi şcolile pot testa idei noi.";
    let mut doc = document("Through the API");
    doc.topics = vec!["schools".into()];
    let (through_api, edition) =
        published(&mut client, doc, vec![translation("ro", title, body, true)]).await;
    let db = innolab_kit::db::Database::connect_lazy(&server.db.settings).unwrap();
    let store = innolab_guidance::store::Store::new(db.clone());
    let fields = |title: &str| DocumentFields {
        doc_type: Some(DocumentType::Guide),
        title: title.into(),
        license: "CC-BY-4.0".into(),
        topics: vec!["schools".into()],
        lifecycle_stages: vec![LifecycleStage::ALL[0]],
        ..DocumentFields::default()
    };
    let texts = |language: &str, title: &str, body: &str| {
        vec![Translation {
            language_code: language.into(),
            title: title.into(),
            summary: String::new(),
            body: body.into(),
            original: true,
        }]
    };
    let ids = store
        .import_published(&[
            (fields("Imported"), texts("ro", title, body)),
            (
                fields("Imported too"),
                texts("sv", "Skolor", "Skolorna testar nya idéer."),
            ),
        ])
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    let imported = format!("documents/{}", ids[0]);

    let read = client
        .get_document(pb::GetDocumentRequest {
            name: imported.clone(),
        })
        .await
        .accepted("GetDocument");
    assert_eq!(read.title, "Imported");
    assert_eq!(read.topics, vec!["schools".to_string()]);
    assert_eq!(read.current_edition, format!("{imported}/editions/1"));
    assert!(read.issue_date.is_some() && read.modify_date.is_some());
    let first = get_edition(&mut client, &read.current_edition).await;
    assert_eq!(state(&first), pb::EditionState::Published);
    assert!(first.publish_time.is_some());
    assert_eq!(first.translations, edition.translations);

    // Found as the API's document is, with the same score.
    let found = search(&mut client, "instituțiile", "language = \"ro\"").await;
    assert_eq!(
        documents_of(&found),
        BTreeSet::from([through_api.name.clone(), imported.clone()])
    );
    assert_eq!(found[0].score, found[1].score);
    let found = search(&mut client, "skolor", "").await;
    assert_eq!(
        documents_of(&found),
        BTreeSet::from([format!("documents/{}", ids[1])])
    );
    // Filters by facet see them too.
    let listed = client
        .list_documents(pb::ListDocumentsRequest {
            filter: "topic = \"schools\"".into(),
            page_size: 10,
            ..Default::default()
        })
        .await
        .accepted("ListDocuments");
    assert_eq!(listed.documents.len(), 3);
    db.close().await;
    server.stop().await;
}
