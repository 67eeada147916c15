//! The workspace's addition to tokio-postgres (vendor/tokio-postgres/PATCHES.md):
//! `Client::query_after` runs a prelude and a statement under one Sync, and
//! `Client::describe` learns a statement's types without naming it.
//!
//! The vendored crate is no workspace member, so these tests stand in for
//! unit tests of the patch. Each behaviour is checked with prepared and with
//! typed (unnamed) statements, on an owner connection to a fresh database.

use futures_util::TryStreamExt;
use tenantry_testkit::{RoundTripProxy, TestDb};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, PipelineStatement, Row, Statement};

/// A statement in the two shapes `query_after` takes.
enum Shape {
    Prepared,
    Typed,
}

const SHAPES: [Shape; 2] = [Shape::Prepared, Shape::Typed];

/// `sql` as the `shape` says: prepared on `client`, or its text with the
/// parameter types the server reports.
struct Piece {
    sql: &'static str,
    prepared: Option<Statement>,
    types: Vec<Type>,
}

impl Piece {
    async fn new(client: &Client, shape: &Shape, sql: &'static str) -> Piece {
        match shape {
            Shape::Prepared => Piece {
                sql,
                prepared: Some(client.prepare(sql).await.expect("prepare")),
                types: vec![],
            },
            Shape::Typed => Piece {
                sql,
                prepared: None,
                types: client
                    .describe(sql)
                    .await
                    .expect("describe")
                    .params()
                    .to_vec(),
            },
        }
    }

    fn pipeline(&self) -> PipelineStatement<'_> {
        match &self.prepared {
            Some(statement) => PipelineStatement::Prepared(statement),
            None => PipelineStatement::Typed(self.sql, &self.types),
        }
    }
}

async fn query_after(
    client: &Client,
    prelude: &Piece,
    prelude_params: &[&(dyn ToSql + Sync)],
    statement: &Piece,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, tokio_postgres::Error> {
    client
        .query_after(
            prelude.pipeline(),
            prelude_params,
            statement.pipeline(),
            params,
        )
        .await?
        .try_collect()
        .await
}

const SET_PROBE: &str = "select set_config('app.probe', $1, true)";
const READ_PROBE: &str = "select current_setting('app.probe', true) as probe";

async fn probe_outside_any_transaction(client: &Client) -> Option<String> {
    client
        .query_one(READ_PROBE, &[])
        .await
        .expect("read the probe")
        .get("probe")
}

#[tokio::test]
async fn settings_the_prelude_makes_local_reach_the_statement_and_end_with_it() {
    let test = TestDb::new().await;
    let client = test.owner().await;
    for shape in SHAPES {
        let set = Piece::new(&client, &shape, SET_PROBE).await;
        let read = Piece::new(&client, &shape, READ_PROBE).await;
        let rows = query_after(&client, &set, &[&"tenant-a"], &read, &[])
            .await
            .expect("query_after");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0].get::<_, Option<String>>("probe").as_deref(),
            Some("tenant-a")
        );
        assert_ne!(
            probe_outside_any_transaction(&client).await.as_deref(),
            Some("tenant-a"),
            "a transaction-local setting outlived the statement"
        );
    }
}

#[tokio::test]
async fn prelude_and_statement_cost_one_round_trip() {
    let test = TestDb::new().await;
    let proxy = RoundTripProxy::start(test.server_addr()).await;
    let via_proxy = test.owner_url().replace(
        &format!("@{}/", test.server_addr()),
        &format!("@127.0.0.1:{}/", proxy.port()),
    );
    let client = tenantry_testkit::connect(&via_proxy).await;
    for shape in SHAPES {
        let set = Piece::new(&client, &shape, SET_PROBE).await;
        let read = Piece::new(&client, &shape, READ_PROBE).await;
        let before = proxy.round_trips();
        query_after(&client, &set, &[&"x"], &read, &[])
            .await
            .expect("query_after");
        assert_eq!(proxy.round_trips() - before, 1);
    }
}

/// A fresh database and an owner connection on which `setup` has run (its
/// temporary objects last as long as the connection).
async fn owner_after(setup: &str) -> (TestDb, Client) {
    let test = TestDb::new().await;
    let client = test.owner().await;
    client.batch_execute(setup).await.expect("setup");
    (test, client)
}

/// A sequence's `nextval` survives a rolled-back transaction, so it tells
/// whether a statement ran at all.
const COUNTER: &str = "create temporary sequence counter";

/// The connection answers the next request with that request's answer.
async fn still_in_step(client: &Client) {
    let row = client
        .query_one("select 42", &[])
        .await
        .expect("next request");
    assert_eq!(row.get::<_, i32>(0), 42);
}

async fn counter_was_called(client: &Client) -> bool {
    client
        .query_one("select is_called from counter", &[])
        .await
        .expect("read the counter")
        .get(0)
}

#[tokio::test]
async fn a_failing_prelude_keeps_the_statement_from_running_and_its_error_surfaces() {
    let (_test, client) = owner_after(COUNTER).await;
    for shape in SHAPES {
        let failing = Piece::new(&client, &shape, "select 1 / $1::int4").await;
        let count = Piece::new(&client, &shape, "select nextval('counter')").await;
        let error = query_after(&client, &failing, &[&0i32], &count, &[])
            .await
            .expect_err("division by zero in the prelude");
        assert_eq!(error.code(), Some(&SqlState::DIVISION_BY_ZERO), "{error}");
        assert!(
            !counter_was_called(&client).await,
            "the statement ran after its prelude failed"
        );

        // The connection is still in step: the next pipeline works.
        let set = Piece::new(&client, &shape, SET_PROBE).await;
        let read = Piece::new(&client, &shape, READ_PROBE).await;
        let rows = query_after(&client, &set, &[&"after"], &read, &[])
            .await
            .expect("query_after after a failure");
        assert_eq!(
            rows[0].get::<_, Option<String>>("probe").as_deref(),
            Some("after")
        );
    }
}

#[tokio::test]
async fn a_prelude_the_server_cannot_parse_surfaces_as_a_syntax_error() {
    let (_test, client) = owner_after(COUNTER).await;
    let unparsable = PipelineStatement::Typed("selec 1", &[]);
    let count = PipelineStatement::Typed("select nextval('counter')", &[]);
    let error = match client.query_after(unparsable, &[], count, &[]).await {
        Ok(_) => panic!("an unparsable prelude was accepted"),
        Err(error) => error,
    };
    assert_eq!(error.code(), Some(&SqlState::SYNTAX_ERROR), "{error}");
    assert!(!counter_was_called(&client).await);
    still_in_step(&client).await;
}

#[tokio::test]
async fn a_failing_statement_undoes_its_prelude() {
    let (_test, client) = owner_after("create temporary table written (n int)").await;
    for shape in SHAPES {
        let write = Piece::new(&client, &shape, "insert into written values ($1)").await;
        let failing = Piece::new(&client, &shape, "select 1 / $1::int4").await;
        let error = query_after(&client, &write, &[&1i32], &failing, &[&0i32])
            .await
            .expect_err("division by zero in the statement");
        assert_eq!(error.code(), Some(&SqlState::DIVISION_BY_ZERO), "{error}");
        let written: i64 = client
            .query_one("select count(*) from written", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(
            written, 0,
            "the prelude's write survived its statement's failure"
        );
    }
}

#[tokio::test]
async fn typed_statements_bind_their_parameters_and_decode_their_columns() {
    let (_test, client) =
        owner_after("create temporary table item (id uuid, name text, size int8)").await;
    let id = uuid::Uuid::from_u128(7);
    let insert = PipelineStatement::Typed(
        "insert into item values ($1, $2, $3)",
        &[Type::UUID, Type::TEXT, Type::INT8],
    );
    let read = PipelineStatement::Typed(
        "select id, name, size, name || '!' as shout from item where id = $1",
        &[Type::UUID],
    );
    let rows: Vec<Row> = client
        .query_after(insert, &[&id, &"lamp", &42i64], read, &[&id])
        .await
        .expect("query_after")
        .try_collect()
        .await
        .expect("rows");
    assert_eq!(rows.len(), 1);
    let names: Vec<&str> = rows[0].columns().iter().map(|c| c.name()).collect();
    assert_eq!(names, ["id", "name", "size", "shout"]);
    assert_eq!(rows[0].columns()[2].type_(), &Type::INT8);
    assert_eq!(rows[0].get::<_, uuid::Uuid>("id"), id);
    assert_eq!(rows[0].get::<_, String>("name"), "lamp");
    assert_eq!(rows[0].get::<_, i64>("size"), 42);
    assert_eq!(rows[0].get::<_, String>("shout"), "lamp!");
}

#[tokio::test]
async fn a_typed_statement_without_rows_reports_what_it_did() {
    let (_test, client) = owner_after("create temporary table item (n int)").await;
    for shape in SHAPES {
        let set = Piece::new(&client, &shape, SET_PROBE).await;
        let insert = Piece::new(
            &client,
            &shape,
            "insert into item select generate_series(1, $1)",
        )
        .await;
        let stream = client
            .query_after(set.pipeline(), &[&"x"], insert.pipeline(), &[&3i32])
            .await
            .expect("query_after");
        let mut stream = std::pin::pin!(stream);
        assert!(stream.try_next().await.expect("no error").is_none());
        assert_eq!(stream.rows_affected(), Some(3));
    }
}

#[tokio::test]
async fn a_typed_statement_with_the_wrong_number_of_parameters_is_refused_before_it_is_sent() {
    let test = TestDb::new().await;
    let client = test.owner().await;
    let set = PipelineStatement::Typed(SET_PROBE, &[Type::TEXT]);
    let read = PipelineStatement::Typed(READ_PROBE, &[]);
    let error = match client.query_after(set, &[], read, &[]).await {
        Ok(_) => panic!("a missing parameter was accepted"),
        Err(error) => error,
    };
    assert!(error.code().is_none(), "the server saw it: {error}");
    assert!(
        error
            .to_string()
            .contains("expected 1 parameters but got 0"),
        "{error}"
    );

    // Nothing half-encoded is left for the next request.
    still_in_step(&client).await;
}

async fn prepared_statement_count(client: &Client) -> String {
    // The simple protocol, so that counting prepares nothing itself.
    let messages = client
        .simple_query("select count(*) from pg_prepared_statements")
        .await
        .unwrap();
    messages
        .iter()
        .find_map(|m| match m {
            tokio_postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .expect("a count")
}

#[tokio::test]
async fn describe_learns_types_and_columns_and_leaves_no_prepared_statement() {
    let test = TestDb::new().await;
    let client = test.owner().await;
    let sql = "select $1::int4 + 1 as next, $2::text as label";
    let described = client.describe(sql).await.expect("describe");
    assert_eq!(described.params(), [Type::INT4, Type::TEXT]);
    let columns: Vec<(&str, &Type)> = described
        .columns()
        .iter()
        .map(|c| (c.name(), c.type_()))
        .collect();
    assert_eq!(columns, [("next", &Type::INT4), ("label", &Type::TEXT)]);
    assert_eq!(prepared_statement_count(&client).await, "0");

    let rows = client
        .query_typed(sql, &[(&1i32, Type::INT4), (&"a", Type::TEXT)])
        .await
        .expect("run what was described");
    assert_eq!(rows[0].get::<_, i32>("next"), 2);

    // What a named statement leaves behind while it is alive, for contrast
    // (dropping it closes it).
    let _named = client.prepare(sql).await.unwrap();
    assert_eq!(prepared_statement_count(&client).await, "1");
}
