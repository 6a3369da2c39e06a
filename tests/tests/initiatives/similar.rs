//! FindSimilar across languages (a corpus in ro, fi, sv, da, nb and en),
//! the reasons of each match, and the likely duplicates of new challenges
//! and submissions.

use innolab_kit::text::Config;
use pb::match_reason::Kind;

use super::*;

innolab_tests::on_both_backends!(
    a_romanian_challenge_finds_a_finnish_case_through_its_translation,
    structured_vocabularies_match_whatever_the_language,
    new_challenges_and_submissions_carry_likely_duplicates,
    find_similar_refuses_bad_requests,
    initiatives_stored_before_the_index_are_indexed_at_start,
    imported_initiatives_are_found_by_their_words_once_indexed,
);

/// A Romanian challenge written with cedilla letters (ş, ţ), as many
/// Romanian keyboards still type them: title and description.
const CEDILLA: (&str, &str) = (
    "Cozi la ghişeele primăriei pentru certificatele de urbanism",
    "Cetăţenii aşteaptă ore întregi.",
);

/// The corpus: one case per language of the network, three about building
/// permits.
struct Corpus {
    finnish: pb::Initiative,
    swedish: pb::Initiative,
    danish: pb::Initiative,
    norwegian: pb::Initiative,
    english: pb::Initiative,
}

async fn corpus(w: &mut World) -> Corpus {
    let case = |w: &World, titles: Vec<pb::LocalizedText>, problem: Vec<pb::LocalizedText>| {
        pb::Initiative {
            titles,
            localized_problem: problem,
            lead_organization: w.university.clone(),
            country_code: "FI".into(),
            ..Default::default()
        }
    };
    let mut finnish = case(
        w,
        vec![
            text("fi", "Sähköinen rakennuslupa"),
            text("ro", "Ghișeele digitale pentru certificatele de urbanism"),
        ],
        vec![
            text("fi", "Kansalaiset jonottavat rakennuslupia."),
            text(
                "en",
                "Citizens queue at counters for building permits and urbanism certificates.",
            ),
        ],
    );
    finnish.sector = pb::GovernmentFunction::HousingAndCommunityAmenities as i32;
    finnish.sdgs = vec![11, 16];
    finnish.tags = vec!["building-permits".into()];
    let mut swedish = case(
        w,
        vec![text("sv", "Digitala bygglov")],
        vec![text("sv", "Medborgare köar för bygglov på kommunen.")],
    );
    swedish.country_code = "SE".into();
    swedish.sector = pb::GovernmentFunction::HousingAndCommunityAmenities as i32;
    swedish.tags = vec!["building-permits".into()];
    let mut danish = case(
        w,
        vec![text("da", "Digital selvbetjening for byggetilladelser")],
        vec![text("da", "Borgerne venter længe på byggetilladelser.")],
    );
    danish.country_code = "DK".into();
    let mut norwegian = case(
        w,
        vec![text("nb", "Digitale byggesøknader")],
        vec![text("nb", "Innbyggerne venter lenge på byggesøknader.")],
    );
    norwegian.country_code = "NO".into();
    let mut english = case(
        w,
        vec![text("en", "Forest inventory from the air")],
        vec![text("en", "Forest owners lack data on their stands.")],
    );
    english.sdgs = vec![15];
    Corpus {
        finnish: w.create(finnish).await,
        swedish: w.create(swedish).await,
        danish: w.create(danish).await,
        norwegian: w.create(norwegian).await,
        english: w.create(english).await,
    }
}

async fn challenge(w: &mut World, title: &str, description: &str) -> pb::Challenge {
    w.client
        .create_challenge(pb::CreateChallengeRequest {
            challenge: Some(pb::Challenge {
                title: title.into(),
                description: description.into(),
                process: "certificat de urbanism".into(),
                raised_by: w.ministry.clone(),
                country_code: "RO".into(),
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await
        .accepted("create challenge")
}

async fn similar(w: &mut World, request: pb::FindSimilarRequest) -> pb::FindSimilarResponse {
    w.client
        .find_similar(request)
        .await
        .accepted("find similar")
}

async fn similar_text(w: &mut World, text: &str, language: &str) -> pb::FindSimilarResponse {
    let request = pb::FindSimilarRequest {
        text: text.into(),
        language_code: language.into(),
        ..Default::default()
    };
    similar(w, request).await
}

fn reason(m: &pb::SimilarRecord, kind: Kind) -> Option<&pb::MatchReason> {
    m.reasons.iter().find(|r| r.kind == kind as i32)
}

fn names(found: &pb::FindSimilarResponse) -> Vec<&str> {
    found.matches.iter().map(|m| m.name.as_str()).collect()
}

async fn a_romanian_challenge_finds_a_finnish_case_through_its_translation(backend: Backend) {
    let mut w = World::new(backend).await;
    let c = corpus(&mut w).await;
    let bottleneck = challenge(&mut w, CEDILLA.0, CEDILLA.1).await;
    let found = similar(
        &mut w,
        pb::FindSimilarRequest {
            challenge: bottleneck.name.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(names(&found)[0], c.finnish.name, "{found:#?}");
    assert!(!names(&found).contains(&bottleneck.name.as_str()));
    assert!(!names(&found).contains(&c.english.name.as_str()));
    let best = &found.matches[0];
    // The comma-below text of the translation matched the cedilla query.
    let ghisee = Config::Romanian.terms("ghișeele").remove(0);
    let words = reason(best, Kind::Words).expect("words in common");
    assert!(words.values.contains(&ghisee), "{words:?}");
    let urbanism = Config::Romanian.terms("urbanism").remove(0);
    assert!(words.values.contains(&urbanism), "{words:?}");
    assert!(best.score > 0.0);
    assert_eq!(best.organization, w.university);
    assert_eq!(best.country_code, "FI");
    // Its title in the query's language is not known for a challenge: the first.
    assert_eq!(best.title, "Sähköinen rakennuslupa");

    // Free text in English meets the case's English problem statement; in
    // Romanian, its Romanian title.
    for (language, query) in [
        ("en", "People queue for building permits"),
        ("ro", "Certificatele de urbanism la ghişeu"),
        ("", "certificatele de urbanism"),
    ] {
        let found = similar_text(&mut w, query, language).await;
        // (The challenge above is found too, as it should be.)
        let case = found
            .matches
            .iter()
            .find(|m| m.name == c.finnish.name)
            .unwrap_or_else(|| panic!("{query}: {found:#?}"));
        assert_eq!(found.query_text, query);
        if language == "ro" {
            assert_eq!(case.title, c.finnish.titles[1].text);
        }
    }
    // Each Nordic case is found in its own language.
    for (query, language, case) in [
        ("bygglov", "sv", &c.swedish),
        ("byggetilladelser", "da", &c.danish),
        ("byggesøknader", "nb", &c.norwegian),
        ("rakennuslupia", "fi", &c.finnish),
    ] {
        let found = similar_text(&mut w, query, language).await;
        assert_eq!(names(&found), [case.name.as_str()], "{query}");
    }
    w.stop().await;
}

async fn structured_vocabularies_match_whatever_the_language(backend: Backend) {
    let mut w = World::new(backend).await;
    let c = corpus(&mut w).await;
    let found = similar(
        &mut w,
        pb::FindSimilarRequest {
            initiative: c.finnish.name.clone(),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(found.query_language_code, "fi");
    assert!(!names(&found).contains(&c.finnish.name.as_str()));
    // No word in common with the Swedish case: its tag and sector match.
    let swedish = found
        .matches
        .iter()
        .find(|m| m.name == c.swedish.name)
        .expect("the Swedish case");
    assert!(reason(swedish, Kind::Words).is_none());
    assert_eq!(
        reason(swedish, Kind::Tag).unwrap().values,
        ["building-permits"]
    );
    assert_eq!(
        reason(swedish, Kind::Sector).unwrap().values,
        ["HOUSING_AND_COMMUNITY_AMENITIES"]
    );
    let stage = reason(swedish, Kind::Stage).unwrap();
    assert_eq!(stage.values, ["IDENTIFYING_PROBLEMS"]);
    let weights: f64 = swedish.reasons.iter().map(|r| r.weight).sum();
    assert!((weights - swedish.score).abs() < 1e-9);
    // Free text with an SDG finds the forest case by it alone.
    let found = similar(
        &mut w,
        pb::FindSimilarRequest {
            text: "Skogsbruk".into(),
            sdgs: vec![15],
            page_size: 3,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(names(&found), [c.english.name.as_str()]);
    assert_eq!(reason(&found.matches[0], Kind::Sdg).unwrap().values, ["15"]);
    w.stop().await;
}

async fn new_challenges_and_submissions_carry_likely_duplicates(backend: Backend) {
    let mut w = World::new(backend).await;
    let c = corpus(&mut w).await;
    let first = challenge(
        &mut w,
        "Cozi la ghișeele primăriei pentru certificatele de urbanism",
        "Cetățenii așteaptă ore întregi la ghișeu.",
    )
    .await;
    assert!(first.likely_duplicates.is_empty());
    // The same bottleneck, typed with cedilla letters by another member.
    let again = challenge(&mut w, CEDILLA.0, CEDILLA.1).await;
    let duplicates: Vec<&str> = again
        .likely_duplicates
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(duplicates, [first.name.as_str()]);
    assert!(reason(&again.likely_duplicates[0], Kind::Words).is_some());
    // Stored all the same; a read carries no warning.
    let read = w
        .client
        .get_challenge(pb::GetChallengeRequest {
            name: again.name.clone(),
        })
        .await
        .accepted("get challenge");
    assert!(read.likely_duplicates.is_empty());
    let other = challenge(&mut w, "Scrisori necitite", "Corespondența se pierde.").await;
    assert!(other.likely_duplicates.is_empty());

    // A submission of a case the library already has.
    let call = create_call(&mut w, Some(date(2000, 1, 1)), Some(date(2999, 12, 31))).await;
    let mut draft = c.finnish.clone();
    for field in [&mut draft.name, &mut draft.etag] {
        field.clear();
    }
    draft.timeline.clear();
    draft.create_time = None;
    draft.update_time = None;
    let submitted = w.submit(&call.name, draft).await.unwrap();
    let duplicates: Vec<&str> = submitted
        .likely_duplicates
        .iter()
        .map(|d| d.name.as_str())
        .collect();
    assert_eq!(duplicates, [c.finnish.name.as_str()]);
    let fresh = w
        .submit(&call.name, w.initiative("Un caz nou"))
        .await
        .unwrap();
    assert!(fresh.likely_duplicates.is_empty());
    w.stop().await;
}

async fn find_similar_refuses_bad_requests(backend: Backend) {
    let mut w = World::new(backend).await;
    let bad = |r: pb::FindSimilarRequest| r;
    for (request, fields) in [
        (
            bad(pb::FindSimilarRequest::default()),
            vec!["challenge", "initiative", "text"],
        ),
        (
            bad(pb::FindSimilarRequest {
                text: "x".into(),
                challenge: "challenges/1".into(),
                ..Default::default()
            }),
            vec!["challenge", "initiative", "text"],
        ),
        (
            bad(pb::FindSimilarRequest {
                text: "x".into(),
                language_code: "not a tag".into(),
                page_size: -1,
                sdgs: vec![18],
                ..Default::default()
            }),
            vec!["language_code", "page_size", "sdgs[0]"],
        ),
        (
            bad(pb::FindSimilarRequest {
                initiative: "cases/1".into(),
                ..Default::default()
            }),
            vec!["initiative"],
        ),
    ] {
        let err = w.client.find_similar(request).await.unwrap_err();
        assert_eq!(violations(&err), fields);
    }
    let err = w
        .client
        .find_similar(pb::FindSimilarRequest {
            initiative: "initiatives/missing".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_code(&err, Code::NotFound);
    w.stop().await;
}

async fn initiatives_stored_before_the_index_are_indexed_at_start(backend: Backend) {
    let mut w = World::new(backend).await;
    let c = corpus(&mut w).await;
    let by_case = pb::FindSimilarRequest {
        initiative: c.finnish.name.clone(),
        ..Default::default()
    };
    let indexed = similar(&mut w, by_case.clone()).await;
    assert!(names(&indexed).contains(&c.swedish.name.as_str()));
    // As a library from before the index: no word terms and no stored
    // profiles (migration 8), the backfill's row.
    w.initiatives
        .db
        .run(
            "DELETE FROM initiative_terms WHERE term = 'word'; \
             UPDATE initiatives SET similar_profile = NULL; \
             DELETE FROM word_backfill; INSERT INTO word_backfill (after) VALUES ('')",
        )
        .await;
    let found = similar_text(&mut w, "bygglov", "sv").await;
    assert!(found.matches.is_empty());
    // A case found by its tag alone is scored from its body meanwhile,
    // words included, as when indexed.
    let unindexed = similar(&mut w, by_case.clone()).await;
    assert!(!unindexed.matches.is_empty());
    for m in &unindexed.matches {
        assert!(indexed.matches.contains(m), "{m:?} not in {indexed:?}");
    }
    // A server starting on it indexes them in the background.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let restarted = tokio::spawn(innolab_tests::initiatives(
        listener,
        innolab_kit::config::Settings::new(w.initiatives.db.settings.clone()),
        format!("http://{}", w.membership.addr),
        stopped,
    ));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let found = similar_text(&mut w, "bygglov", "sv").await;
        if names(&found) == [c.swedish.name.as_str()] {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never indexed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    indexer_done(&w, deadline).await;
    let unprofiled = "SELECT COUNT(*) FROM initiatives WHERE similar_profile IS NULL";
    assert_eq!(w.initiatives.db.count(unprofiled).await, 0);
    assert_eq!(similar(&mut w, by_case).await, indexed);
    let _ = stop.send(());
    restarted.await.unwrap().unwrap();
    w.stop().await;
}

/// An import stores what filters and structured matches need at once and
/// leaves its `word` terms to the background indexer, rung by the import:
/// the imported cases are found by their words moments later, and the
/// indexer's cursor is gone once it is done.
async fn imported_initiatives_are_found_by_their_words_once_indexed(backend: Backend) {
    let mut w = World::new(backend).await;
    let mut case = w.initiative("Digitalt bygglov");
    case.summaries = vec![pb::LocalizedText {
        language_code: "sv".into(),
        text: "Ansökan om bygglov helt digitalt, med kartunderlag.".into(),
    }];
    let imported = w
        .client
        .import_initiatives(tokio_stream::iter(
            innolab_tests::fixtures::import_messages("words-later", vec![case]),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(imported.imported, 1);
    let name = imported.rows[0].initiative.clone();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let found = similar_text(&mut w, "kartunderlag bygglov", "sv").await;
        if names(&found) == [name.as_str()] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never indexed: {found:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    indexer_done(&w, deadline).await;
    let words = format!(
        "SELECT COUNT(*) FROM initiative_terms WHERE term = 'word' AND initiative_id = '{}'",
        name.trim_start_matches("initiatives/")
    );
    assert!(w.initiatives.db.count(&words).await > 3);
    w.stop().await;
}

/// Waits until the word indexer has no cursor left, failing at `deadline`.
async fn indexer_done(w: &World, deadline: std::time::Instant) {
    let pending = "SELECT COUNT(*) FROM word_backfill";
    while w.initiatives.db.count(pending).await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the indexer never finished"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
