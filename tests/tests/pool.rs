//! The database pool (`innolab_kit::db`): a connection goes back to it as it
//! is, without sqlx's round trip on release, so whatever a cut-off statement
//! or a transaction dropped open left on it must be dealt with before its
//! next statement. A pool of one connection shows it: every step below runs
//! on the same connection.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::{Duration, Instant};

use innolab_kit::db::{Backend as Kind, Database};
use innolab_tests::{Backend, TestDb};
use sqlx::Row as _;

/// Enough work for the database that it is still at it when the caller
/// gives up after a few milliseconds.
const SLOW_COUNT: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n \
                          WHERE i < 1000000) SELECT COUNT(*) AS c FROM n";

async fn one_connection(test: &TestDb) -> Database {
    let mut settings = test.settings.clone();
    settings.max_connections = 1;
    let db = Database::connect_lazy(&settings).unwrap();
    if settings.backend == Kind::Postgres {
        sqlx::query(&format!("CREATE SCHEMA \"{}\"", settings.schema))
            .execute(db.pool())
            .await
            .unwrap();
    }
    sqlx::query("CREATE TABLE pool_probe (id BIGINT PRIMARY KEY, v TEXT NOT NULL)")
        .execute(db.pool())
        .await
        .unwrap();
    db
}

async fn value(db: &Database, id: i64) -> Option<String> {
    sqlx::query("SELECT v FROM pool_probe WHERE id = $1")
        .bind(id)
        .fetch_optional(db.pool())
        .await
        .unwrap()
        .map(|row| row.try_get("v").unwrap())
}

async fn a_transaction_dropped_open_is_rolled_back_before_the_next_statement(backend: Backend) {
    let test = TestDb::new(&backend, "pool");
    let db = one_connection(&test).await;

    let mut tx = db.begin().await.unwrap();
    sqlx::query("INSERT INTO pool_probe (id, v) VALUES (1, 'never committed')")
        .execute(&mut *tx)
        .await
        .unwrap();
    drop(tx);

    // Rolled back at once, not when the connection is next used: another
    // connection can write the same key (on PostgreSQL it would wait on
    // the open transaction's row, and the write lock with it).
    tokio::time::timeout(
        Duration::from_secs(10),
        test.run("INSERT INTO pool_probe (id, v) VALUES (1, 'one'); DELETE FROM pool_probe WHERE id = 1;"),
    )
    .await
    .expect("the dropped transaction let go of its locks");

    // The same connection, next: the insert is gone, and what runs now is
    // not inside the dropped transaction (another connection sees it).
    assert_eq!(value(&db, 1).await, None);
    sqlx::query("INSERT INTO pool_probe (id, v) VALUES (2, 'two')")
        .execute(db.pool())
        .await
        .unwrap();
    assert_eq!(
        test.count("SELECT COUNT(*) FROM pool_probe").await,
        1,
        "a statement after the dropped transaction is committed on its own"
    );

    // A committed transaction stays.
    let mut tx = db.begin().await.unwrap();
    sqlx::query("INSERT INTO pool_probe (id, v) VALUES (3, 'three')")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(test.count("SELECT COUNT(*) FROM pool_probe").await, 2);

    db.close().await;
    test.drop_schema().await;
}

async fn a_statement_cut_off_midway_leaves_its_connection_answering_the_next(backend: Backend) {
    let test = TestDb::new(&backend, "pool");
    let db = one_connection(&test).await;
    sqlx::query("INSERT INTO pool_probe (id, v) VALUES (2, 'two')")
        .execute(db.pool())
        .await
        .unwrap();

    for _ in 0..3 {
        let cut = tokio::time::timeout(
            Duration::from_millis(5),
            sqlx::query(SLOW_COUNT).fetch_one(db.pool()),
        )
        .await;
        assert!(cut.is_err(), "the slow count was cut off");
        // The next statement gets its own answer, not the cut-off one's.
        assert_eq!(value(&db, 2).await.as_deref(), Some("two"));
    }
    // And the slow statement itself still works when waited for.
    let count: i64 = sqlx::query(SLOW_COUNT)
        .fetch_one(db.pool())
        .await
        .unwrap()
        .try_get("c")
        .unwrap();
    assert_eq!(count, 1_000_000);

    db.close().await;
    test.drop_schema().await;
}

async fn a_full_pool_is_unavailable_after_the_acquire_timeout(backend: Backend) {
    let test = TestDb::new(&backend, "pool");
    let db = one_connection(&test).await;

    let held = db.pool().acquire().await.unwrap();
    let started = Instant::now();
    let error = sqlx::query("SELECT 1")
        .execute(db.pool())
        .await
        .expect_err("no connection is free");
    assert!(
        matches!(error, sqlx::Error::PoolTimedOut),
        "a full pool times out: {error}"
    );
    assert!(started.elapsed() >= innolab_kit::db::ACQUIRE_TIMEOUT);
    assert!(matches!(
        innolab_kit::Error::from(error),
        innolab_kit::Error::Unavailable(_)
    ));
    drop(held);
    assert_eq!(
        value(&db, 9).await,
        None,
        "the connection given back serves"
    );

    db.close().await;
    test.drop_schema().await;
}

innolab_tests::on_both_backends!(
    a_transaction_dropped_open_is_rolled_back_before_the_next_statement,
    a_statement_cut_off_midway_leaves_its_connection_answering_the_next,
    a_full_pool_is_unavailable_after_the_acquire_timeout,
);
