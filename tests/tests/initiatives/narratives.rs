//! The narrative per language (`localized_*`), the deprecated single texts
//! kept in sync with its original language, and the migration of records
//! stored before as single texts.

use super::*;

innolab_tests::on_both_backends!(
    single_texts_follow_the_original_language,
    single_texts_set_only_their_language_on_update,
    single_texts_stored_before_become_the_original_language,
);

async fn single_texts_follow_the_original_language(backend: Backend) {
    let mut w = World::new(backend).await;
    // An older client: single texts land in the first title's language.
    let old = w.create(full(&w)).await;
    assert_eq!(
        old.localized_problem,
        vec![text("ro", "Citizens queue for certificates.")]
    );
    assert_eq!(old.problem, "Citizens queue for certificates.");
    assert_eq!(old.localized_lessons_learned.len(), 1);
    // A newer one: lists per language; the single text reads the original
    // language's, empty when the list has none.
    let mut new = w.initiative("Queues");
    new.titles = vec![text("ro", "Cozi"), text("en", "Queues")];
    new.localized_problem = vec![
        text("en", "People queue."),
        text("fi", "Ihmiset jonottavat."),
    ];
    let new = w.create(new).await;
    assert_eq!(new.problem, "");
    assert_eq!(new.localized_problem.len(), 2);
    // Both, agreeing: one entry; disagreeing: refused, naming the single text.
    let mut both = w.initiative("Both");
    both.localized_solution = vec![text("en", "A counter.")];
    both.solution = "A counter.".into();
    assert_eq!(w.create(both.clone()).await.localized_solution.len(), 1);
    both.solution = "Another counter.".into();
    let err = w.try_create(both).await.unwrap_err();
    assert_eq!(violations(&err), vec!["initiative.solution"]);
    // Per-language rules hold for the lists as for titles.
    let mut twice = w.initiative("Twice");
    twice.localized_results = vec![text("en", "a"), text("EN", "b")];
    let err = w.try_create(twice).await.unwrap_err();
    assert_eq!(
        violations(&err),
        vec!["initiative.localized_results[1].language_code"]
    );
    w.stop().await;
}

async fn single_texts_set_only_their_language_on_update(backend: Backend) {
    let mut w = World::new(backend).await;
    let mut case = full(&w);
    case.localized_problem = vec![text("en", "Citizens queue.")];
    case.problem = "Cetățenii stau la coadă.".into();
    let created = w.create(case).await;
    assert_eq!(
        created.localized_problem,
        vec![
            text("ro", "Cetățenii stau la coadă."),
            text("en", "Citizens queue.")
        ]
    );
    let update = |problem: &str, paths: &[&str]| pb::UpdateInitiativeRequest {
        initiative: Some(pb::Initiative {
            name: created.name.clone(),
            problem: problem.into(),
            titles: vec![text("en", "Digital one-stop shop")],
            ..Default::default()
        }),
        update_mask: mask(paths),
    };
    // The single text named alone changes the original language's text.
    let changed = updated(&mut w, update("Coada a dispărut.", &["problem"])).await;
    assert_eq!(changed.problem, "Coada a dispărut.");
    assert_eq!(
        changed.localized_problem,
        vec![
            text("ro", "Coada a dispărut."),
            text("en", "Citizens queue.")
        ]
    );
    // Empty, it removes that language only.
    let cleared = updated(&mut w, update("", &["problem"])).await;
    assert_eq!(
        cleared.localized_problem,
        vec![text("en", "Citizens queue.")]
    );
    // A new first title changes the original language; nothing is carried
    // from one language to another.
    let english = updated(&mut w, update("", &["titles"])).await;
    assert_eq!(english.problem, "Citizens queue.");
    assert_eq!(english.localized_problem, cleared.localized_problem);
    // A client that reads and writes back everything stays consistent.
    let mut all = english.clone();
    all.localized_objectives = vec![text("en", "Fewer visits.")];
    let written = updated(
        &mut w,
        pb::UpdateInitiativeRequest {
            initiative: Some(all),
            update_mask: mask(&["*"]),
        },
    )
    .await;
    assert_eq!(written.objectives, "Fewer visits.");
    assert_eq!(written.localized_problem, english.localized_problem);
    w.stop().await;
}

async fn updated(w: &mut World, request: pb::UpdateInitiativeRequest) -> pb::Initiative {
    w.client
        .update_initiative(request)
        .await
        .accepted("update initiative")
}

async fn single_texts_stored_before_become_the_original_language(backend: Backend) {
    let postgres = matches!(backend, Backend::Postgres(_));
    let mut w = World::new(backend).await;
    let created = w.create(full(&w)).await;
    // What an earlier release stored: one text per narrative field.
    let old = r#"{"problem": "Cozi la ghișee.", "objectives": "", "solution": "", "results": "", "lessons_learned": "Începeți cu un certificat."}"#;
    let (write, migration) = if postgres {
        (
            format!("UPDATE initiatives SET body = (body::jsonb || '{old}'::jsonb)::text"),
            include_str!("../../../services/initiatives/migrations/postgres/0006_narratives.sql"),
        )
    } else {
        (
            format!("UPDATE initiatives SET body = json_patch(body, '{old}')"),
            include_str!("../../../services/initiatives/migrations/sqlite/0006_narratives.sql"),
        )
    };
    let db = &w.initiatives.db;
    db.run(&write).await;
    db.run(migration).await;
    db.run(migration).await; // running it again changes nothing
    let migrated = w.get(&created.name).await;
    assert_eq!(
        migrated.localized_problem,
        vec![text("ro", "Cozi la ghișee.")]
    );
    assert_eq!(migrated.problem, "Cozi la ghișee.");
    assert!(migrated.localized_objectives.is_empty());
    assert!(migrated.localized_solution.is_empty());
    assert_eq!(
        migrated.localized_lessons_learned,
        vec![text("ro", "Începeți cu un certificat.")]
    );
    assert_eq!(migrated.titles, created.titles);
    w.stop().await;
}
