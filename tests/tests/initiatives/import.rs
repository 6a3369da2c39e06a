//! Bulk import: bad rows reported, good rows stored, retries, batches, concurrency.

use super::*;

innolab_tests::on_both_backends!(
    bulk_import_reports_bad_rows_and_stores_good_ones,
    retried_import_stores_nothing_twice,
    concurrent_retries_of_an_import_store_each_row_once,
    large_import_spans_batches,
    import_with_membership_unreachable_is_unavailable,
);

impl World {
    /// Five rows: 1 and 5 good, 2 bad country, 3 unknown partner, 4 unknown challenge.
    fn register(&self) -> Vec<pb::Initiative> {
        let mut bad_country = self.initiative("Row 2");
        bad_country.country_code = "XX".into();
        let mut unknown_partner = self.initiative("Row 3");
        unknown_partner.partners = vec![pb::Partner {
            organization: "organizations/ghost".into(),
            role: pb::PartnerRole::Funding as i32,
        }];
        let mut unknown_challenge = self.initiative("Row 4");
        unknown_challenge.challenges = vec!["challenges/ghost".into()];
        let mut good = self.initiative("Row 5");
        good.stage = pb::InitiativeStage::DiffusingLessons as i32;
        vec![
            self.initiative("Row 1"),
            bad_country,
            unknown_partner,
            unknown_challenge,
            good,
        ]
    }
}

fn row_errors(response: &pb::ImportInitiativesResponse) -> Vec<(i64, Vec<String>)> {
    response
        .errors
        .iter()
        .map(|e| {
            (
                e.position,
                e.violations.iter().map(|v| v.field.clone()).collect(),
            )
        })
        .collect()
}

async fn bulk_import_reports_bad_rows_and_stores_good_ones(backend: Backend) {
    let mut w = World::new(backend).await;
    let rows = w.register();
    let response = w.import("register-2026", rows).await.unwrap();
    assert_eq!(response.received, 5);
    assert_eq!(response.imported, 2);
    assert_eq!(response.already_imported, 0);
    assert_eq!(
        row_errors(&response),
        vec![
            (2, vec!["initiative.country_code".to_string()]),
            (3, vec!["initiative.partners[0].organization".to_string()]),
            (4, vec!["initiative.challenges[0]".to_string()]),
        ]
    );
    assert!(response.errors[0].message.contains("XX"));
    let positions: Vec<i64> = response.rows.iter().map(|r| r.position).collect();
    assert_eq!(positions, vec![1, 5]);
    assert_eq!(w.titles("").await, vec!["Row 1", "Row 5"]);
    let row5 = w.get(&response.rows[1].initiative).await;
    assert_eq!(row5.stage, pb::InitiativeStage::DiffusingLessons as i32);
    assert_eq!(row5.timeline[0].actor, "organizations/register-loader");
    assert_eq!(row5.timeline[0].note, "imported (row 5)");
    assert_eq!(w.list("stage = DIFFUSING_LESSONS").await.len(), 1);
    // Without a request_id it works too; a differing request_id in a later row is that row's error.
    let response = w.import("", vec![w.initiative("No key")]).await.unwrap();
    assert_eq!(response.imported, 1);
    let messages = vec![
        pb::ImportInitiativesRequest {
            request_id: "a".into(),
            initiative: Some(w.initiative("Key a")),
            actor: String::new(),
        },
        pb::ImportInitiativesRequest {
            request_id: "b".into(),
            initiative: Some(w.initiative("Key b")),
            actor: String::new(),
        },
        pb::ImportInitiativesRequest {
            request_id: String::new(),
            initiative: None,
            actor: String::new(),
        },
    ];
    let response = w
        .client
        .import_initiatives(tokio_stream::iter(messages))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(response.imported, 1);
    assert_eq!(
        row_errors(&response),
        vec![
            (2, vec!["request_id".to_string()]),
            (3, vec!["initiative".to_string()])
        ]
    );
    // A bad request_id on the first message refuses the whole import.
    let err = w
        .import("has spaces", vec![w.initiative("x")])
        .await
        .unwrap_err();
    assert_eq!(violations(&err), vec!["request_id"]);
    assert_eq!(w.list("").await.len(), 4);
    w.stop().await;
}

async fn retried_import_stores_nothing_twice(backend: Backend) {
    let mut w = World::new(backend).await;
    let first = w.import("register-retry", w.register()).await.unwrap();
    let again = w.import("register-retry", w.register()).await.unwrap();
    assert_eq!(again.imported, 0);
    assert_eq!(again.already_imported, 2);
    assert_eq!(row_errors(&again), row_errors(&first));
    let names = |r: &pb::ImportInitiativesResponse| -> Vec<String> {
        r.rows.iter().map(|r| r.initiative.clone()).collect()
    };
    assert_eq!(names(&again), names(&first));
    assert!(again.rows.iter().all(|r| r.already_imported));
    assert_eq!(w.list("").await.len(), 2);
    // The retry of an import that was cut short completes it.
    let mut longer = w.register();
    longer.push(w.initiative("Row 6"));
    let completed = w.import("register-retry", longer).await.unwrap();
    assert_eq!(completed.imported, 1);
    assert_eq!(completed.already_imported, 2);
    assert_eq!(w.list("").await.len(), 3);
    // Another request_id is another import.
    let other = w.import("register-other", w.register()).await.unwrap();
    assert_eq!(other.imported, 2);
    assert_eq!(w.list("").await.len(), 5);
    w.stop().await;
}

/// Two copies of one import (same request_id) sent at once, as a client that
/// retries without waiting might: each row is stored once, and both answers
/// name the same initiative for it.
async fn concurrent_retries_of_an_import_store_each_row_once(backend: Backend) {
    let w = World::new(backend).await;
    let rows: Vec<pb::Initiative> = (0..2500)
        .map(|n| w.initiative(&format!("Twice {n}")))
        .collect();
    let (mut a, mut b) = (w.client.clone(), w.client.clone());
    let (first, second) = tokio::join!(
        a.import_initiatives(tokio_stream::iter(import_messages("twice", rows.clone()))),
        b.import_initiatives(tokio_stream::iter(import_messages("twice", rows)))
    );
    let (first, second) = (first.unwrap().into_inner(), second.unwrap().into_inner());
    assert_eq!(first.imported + second.imported, 2500, "{first:?}");
    assert_eq!(first.already_imported + second.already_imported, 2500);
    let names = |r: &pb::ImportInitiativesResponse| -> Vec<String> {
        r.rows.iter().map(|r| r.initiative.clone()).collect()
    };
    assert_eq!(names(&first), names(&second));
    let summary = w
        .client
        .clone()
        .get_portfolio_summary(pb::GetPortfolioSummaryRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.total, 2500);
    w.stop().await;
}

async fn large_import_spans_batches(backend: Backend) {
    let mut w = World::new(backend).await;
    let rows: Vec<pb::Initiative> = (0..2500)
        .map(|n| {
            let mut i = w.initiative(&format!("Bulk {n}"));
            i.sdgs = vec![n % 17 + 1];
            i.tags = vec![format!("t{}", n % 3)];
            if n % 500 == 7 {
                i.country_code = "XX".into();
            }
            i
        })
        .collect();
    let response = w.import("bulk", rows.clone()).await.unwrap();
    assert_eq!(response.received, 2500);
    assert_eq!(response.imported, 2495);
    assert_eq!(
        response
            .errors
            .iter()
            .map(|e| e.position)
            .collect::<Vec<_>>(),
        vec![8, 508, 1008, 1508, 2008]
    );
    let summary = w
        .client
        .get_portfolio_summary(pb::GetPortfolioSummaryRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(summary.total, 2495);
    assert_eq!(summary.by_sdg.iter().map(|c| c.count).sum::<i64>(), 2495);
    // 833 rows have tag t1; two of them (7 and 1507) were refused.
    assert_eq!(w.list("tag = \"t1\"").await.len(), 831);
    let again = w.import("bulk", rows).await.unwrap();
    assert_eq!(again.imported, 0);
    assert_eq!(again.already_imported, 2495);
    w.stop().await;
}

async fn import_with_membership_unreachable_is_unavailable(backend: Backend) {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let initiatives = TestServer::initiatives(&backend, &format!("http://{closed}")).await;
    let mut client = InitiativesServiceClient::new(initiatives.channel().await);
    let message = pb::ImportInitiativesRequest {
        request_id: "k".into(),
        initiative: Some(pb::Initiative {
            titles: vec![text("en", "Orphan")],
            lead_organization: "organizations/abc".into(),
            country_code: "RO".into(),
            ..Default::default()
        }),
        actor: String::new(),
    };
    let err = client
        .import_initiatives(tokio_stream::iter(vec![message]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::Unavailable, "{err:?}");
    let listed = client
        .list_initiatives(pb::ListInitiativesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.initiatives.is_empty());
    initiatives.stop().await;
}
