//! The ready-made isolation check, shown able to fail: a correct tenant
//! table passes, and each deliberately broken one fails with the property
//! its break gives away. tenantry's own tenant tables pass too.

use tenantry_testkit::TestDb;
use tenantry_testkit::isolation::{Property, TenantTable};

/// A ticket and its comments, the way invariant 1 wants them. Each broken
/// variant below replaces one piece of it.
const CORRECT: &str = "
create table ticket (
  organization_id uuid not null references organization (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  subject text not null,
  primary key (organization_id, id),
  constraint ticket_organization_id_subject_key unique (organization_id, subject)
);
alter table ticket enable row level security;
alter table ticket force row level security;
create policy ticket_tenant_isolation on ticket for all to authenticated
  using (organization_id = (select app.current_tenant()))
  with check (organization_id = (select app.current_tenant()));
grant select, insert, update, delete on ticket to authenticated;

create table ticket_comment (
  organization_id uuid not null references organization (id) on delete cascade,
  id uuid not null default gen_random_uuid(),
  ticket_id uuid not null,
  body text not null,
  primary key (organization_id, id),
  constraint ticket_comment_ticket_fkey foreign key (organization_id, ticket_id)
    references ticket (organization_id, id) on delete cascade
);
alter table ticket_comment enable row level security;
alter table ticket_comment force row level security;
create policy ticket_comment_tenant_isolation on ticket_comment for all to authenticated
  using (organization_id = (select app.current_tenant()))
  with check (organization_id = (select app.current_tenant()));
grant select, insert, update, delete on ticket_comment to authenticated;
";

const POLICY: &str = "create policy ticket_tenant_isolation on ticket for all to authenticated
  using (organization_id = (select app.current_tenant()))
  with check (organization_id = (select app.current_tenant()));";

fn ticket() -> TenantTable {
    TenantTable::new("ticket")
        .insert("insert into ticket (organization_id, subject) values ($1, $2)")
        .unique_column("subject")
        .references(
            "ticket_comment",
            "insert into ticket_comment (organization_id, ticket_id, body) values ($1, $2, $3)",
        )
}

/// A database holding `CORRECT` with `from` replaced by `to`.
async fn schema(from: &str, to: &str) -> TestDb {
    schema_with(&[(from, to)]).await
}

async fn schema_with(replacements: &[(&str, &str)]) -> TestDb {
    let mut sql = CORRECT.to_owned();
    for (from, to) in replacements {
        assert!(sql.contains(from), "the variant names a piece of CORRECT");
        sql = sql.replace(from, to);
    }
    let test = TestDb::new().await;
    test.owner()
        .await
        .batch_execute(&sql)
        .await
        .expect("create the tables");
    test
}

/// The check on a broken variant: it fails, with `expected` among the
/// properties, and the message names the table and the property.
async fn broken(from: &str, to: &str, expected: Property) -> Vec<Property> {
    broken_with(&[(from, to)], expected).await
}

async fn broken_with(replacements: &[(&str, &str)], expected: Property) -> Vec<Property> {
    let test = schema_with(replacements).await;
    let failure = ticket()
        .check(&test)
        .await
        .expect_err("a broken table must fail the check");
    let message = failure.to_string();
    assert!(
        failure.broke(expected),
        "expected {expected} to break: {message}"
    );
    assert!(!failure.broke(Property::Setup), "{message}");
    assert!(message.contains("ticket"), "{message}");
    assert!(message.contains(&expected.to_string()), "{message}");
    failure.properties().into_iter().collect()
}

#[tokio::test]
async fn a_correct_tenant_table_passes_every_property() {
    let test = schema("", "").await;
    assert_eq!(audit_findings(&test).await, [], "the audit agrees");
    let report = ticket().assert_isolated(&test).await;
    assert_eq!(
        report.checked,
        [
            Property::Reads,
            Property::InsertWithCheck,
            Property::UpdateWithCheck,
            Property::ForeignUpdate,
            Property::ForeignDelete,
            Property::EmptyContext,
            Property::UniqueValueOracle,
            Property::ForeignKeyOracle,
        ]
    );
    // The child table is a tenant table too: its rows need a ticket of
    // their own organization, which a fixture makes.
    TenantTable::new("ticket_comment")
        .fixture("insert into ticket (organization_id, subject) values ($1, $2)")
        .insert(
            "insert into ticket_comment (organization_id, ticket_id, body)
             values ($1, (select id from ticket where organization_id = $1 limit 1), $2)",
        )
        .assert_isolated(&test)
        .await;
}

#[tokio::test]
async fn a_policy_using_true_fails_reads() {
    let broke = broken(
        "using (organization_id = (select app.current_tenant()))
  with check (organization_id = (select app.current_tenant()));
grant select, insert, update, delete on ticket ",
        "using (true)
  with check (organization_id = (select app.current_tenant()));
grant select, insert, update, delete on ticket ",
        Property::Reads,
    )
    .await;
    assert!(broke.contains(&Property::ForeignDelete), "{broke:?}");
}

#[tokio::test]
async fn a_with_check_true_policy_fails_with_check_on_insert_and_update() {
    let broke = broken(
        POLICY,
        "create policy ticket_tenant_isolation on ticket for all to authenticated
  using (organization_id = (select app.current_tenant()))
  with check (true);",
        Property::InsertWithCheck,
    )
    .await;
    assert!(broke.contains(&Property::UpdateWithCheck), "{broke:?}");
    assert!(!broke.contains(&Property::Reads), "{broke:?}");
}

#[tokio::test]
async fn rls_not_enabled_fails_reads_and_the_empty_context() {
    let broke = broken(
        "alter table ticket enable row level security;
alter table ticket force row level security;",
        "",
        Property::Reads,
    )
    .await;
    assert!(broke.contains(&Property::EmptyContext), "{broke:?}");
    assert!(broke.contains(&Property::InsertWithCheck), "{broke:?}");
}

#[tokio::test]
async fn a_policy_that_fails_open_without_a_tenant_fails_the_empty_context() {
    let fail_open = "(organization_id = (select app.current_tenant()) or (select app.current_tenant()) is null)";
    let broke = broken(
        POLICY,
        &format!(
            "create policy ticket_tenant_isolation on ticket for all to authenticated
  using {fail_open} with check {fail_open};"
        ),
        Property::EmptyContext,
    )
    .await;
    assert_eq!(broke, [Property::EmptyContext]);
}

#[tokio::test]
async fn a_delete_policy_using_true_fails_foreign_delete_only() {
    // SELECT policies still hide B's rows from a DELETE with a WHERE; only
    // the unqualified DELETE shows the break.
    let broke = broken(
        POLICY,
        "create policy ticket_read on ticket for select to authenticated
  using (organization_id = (select app.current_tenant()));
create policy ticket_insert on ticket for insert to authenticated
  with check (organization_id = (select app.current_tenant()));
create policy ticket_update on ticket for update to authenticated
  using (organization_id = (select app.current_tenant()))
  with check (organization_id = (select app.current_tenant()));
create policy ticket_delete on ticket for delete to authenticated using (true);",
        Property::ForeignDelete,
    )
    .await;
    assert_eq!(broke, [Property::ForeignDelete]);
}

#[tokio::test]
async fn an_update_policy_using_true_fails_foreign_update() {
    let broke = broken(
        POLICY,
        "create policy ticket_read on ticket for select to authenticated
  using (organization_id = (select app.current_tenant()));
create policy ticket_insert on ticket for insert to authenticated
  with check (organization_id = (select app.current_tenant()));
create policy ticket_update on ticket for update to authenticated
  using (true)
  with check (organization_id = (select app.current_tenant()));
create policy ticket_delete on ticket for delete to authenticated
  using (organization_id = (select app.current_tenant()));",
        Property::ForeignUpdate,
    )
    .await;
    assert_eq!(broke, [Property::ForeignUpdate]);
}

#[tokio::test]
async fn a_global_unique_key_fails_the_unique_value_oracle() {
    let broke = broken(
        "constraint ticket_organization_id_subject_key unique (organization_id, subject)",
        "constraint ticket_subject_key unique (subject)",
        Property::UniqueValueOracle,
    )
    .await;
    assert_eq!(broke, [Property::UniqueValueOracle]);
}

#[tokio::test]
async fn a_unique_column_that_is_not_unique_fails_the_oracle_as_proving_nothing() {
    let broke = broken(
        ",
  constraint ticket_organization_id_subject_key unique (organization_id, subject)",
        "",
        Property::UniqueValueOracle,
    )
    .await;
    assert_eq!(broke, [Property::UniqueValueOracle]);
}

#[tokio::test]
async fn a_foreign_key_without_organization_id_fails_the_foreign_key_oracle() {
    let broke = broken_with(
        &[
            // A key on `id` alone, for the foreign key to point at.
            (
                "primary key (organization_id, id),\n  constraint ticket_organization",
                "primary key (organization_id, id),\n  unique (id),\n  constraint ticket_organization",
            ),
            (
                "constraint ticket_comment_ticket_fkey foreign key (organization_id, ticket_id)
    references ticket (organization_id, id) on delete cascade",
                "constraint ticket_comment_ticket_fkey foreign key (ticket_id)
    references ticket (id) on delete cascade",
            ),
        ],
        Property::ForeignKeyOracle,
    )
    .await;
    assert_eq!(broke, [Property::ForeignKeyOracle]);
}

/// A break `authenticated` cannot see: FORCE binds only the table's owner,
/// and `authenticated` is not it. `tenantry audit` reports this one from
/// the catalog.
#[tokio::test]
async fn rls_not_forced_is_invisible_to_authenticated_and_left_to_the_audit() {
    let test = schema("alter table ticket force row level security;", "").await;
    ticket().assert_isolated(&test).await;
    assert_eq!(
        audit_findings(&test).await,
        [("rls_not_forced", "public.ticket".to_owned())]
    );
}

/// What `tenantry audit` reports about the two test tables: (lint, object).
async fn audit_findings(test: &TestDb) -> Vec<(&'static str, String)> {
    tenantry_lint::audit(&test.db, &tenantry_lint::LintConfig::default())
        .await
        .expect("audit")
        .into_iter()
        .filter(|f| f.object.contains("ticket"))
        .map(|f| (f.lint, f.object))
        .collect()
}

/// PostgreSQL applies a `for all` policy's USING as its WITH CHECK when it
/// has none, so rows still cannot be written into another tenant; the audit
/// asks for the WITH CHECK to be written out all the same.
#[tokio::test]
async fn a_for_all_policy_without_with_check_still_checks_new_rows() {
    let test = schema(
        POLICY,
        "create policy ticket_tenant_isolation on ticket for all to authenticated
  using (organization_id = (select app.current_tenant()));",
    )
    .await;
    ticket().assert_isolated(&test).await;
    let findings = audit_findings(&test).await;
    assert!(
        findings
            .iter()
            .any(|(lint, _)| *lint == "policy_missing_with_check"),
        "{findings:?}"
    );
}

#[tokio::test]
async fn an_insert_with_returning_is_refused_as_hiding_a_missing_with_check() {
    let test = schema("", "").await;
    let failure = TenantTable::new("ticket")
        .insert("insert into ticket (organization_id, subject) values ($1, $2) returning id")
        .check(&test)
        .await
        .unwrap_err();
    assert_eq!(
        failure.properties().into_iter().collect::<Vec<_>>(),
        [Property::Setup]
    );
    assert!(failure.to_string().contains("RETURNING"), "{failure}");
}

#[tokio::test]
async fn an_insert_that_ignores_its_organization_is_a_setup_failure() {
    let test = schema("", "").await;
    let other = TestDb::insert_organization(&test.owner().await, "elsewhere").await;
    let failure = TenantTable::new("ticket")
        .insert(format!(
            "insert into ticket (organization_id, subject) select '{other}', $2 where $1::uuid is not null"
        ))
        .check(&test)
        .await
        .unwrap_err();
    assert!(failure.broke(Property::Setup), "{failure}");
    assert!(failure.to_string().contains("organization_id"), "{failure}");
}

#[tokio::test]
#[should_panic(expected = "WITH CHECK on insert")]
async fn assert_isolated_panics_with_the_broken_property() {
    let test = schema(
        POLICY,
        "create policy ticket_tenant_isolation on ticket for all to authenticated
  using (organization_id = (select app.current_tenant()))
  with check (true);",
    )
    .await;
    ticket().assert_isolated(&test).await;
}

#[tokio::test]
async fn tenantrys_own_tenant_tables_pass() {
    let test = TestDb::new().await;
    test.owner()
        .await
        .batch_execute(
            "insert into ai_model (provider, name, display_name) values ('test', 'model', 'Model')",
        )
        .await
        .unwrap();
    let model = "(select id from ai_model where provider = 'test')";
    TenantTable::new("project")
        .insert("insert into project (organization_id, name) values ($1, $2)")
        .unique_column("name")
        .references(
            "usage_event",
            format!(
                "insert into usage_event (organization_id, project_id, model_id, input_tokens, output_tokens)
                 values ($1, $2, {model}, 1, 1)"
            ),
        )
        .assert_isolated(&test)
        .await;
    TenantTable::new("usage_event")
        .insert(format!(
            "insert into usage_event (organization_id, model_id, input_tokens, output_tokens)
             values ($1, {model}, 1, 1)"
        ))
        .assert_isolated(&test)
        .await;
    // Append-only: its UPDATE and DELETE are refused outright; a bigint key.
    TenantTable::new("audit_log")
        .insert("insert into audit_log (organization_id, action) values ($1, 'isolation.check')")
        .assert_isolated(&test)
        .await;
}

/// An insert the role may not run at all (a column without the privilege)
/// is refused with 42501 too: without the control it would pass for
/// row-level security refusing B's row, hiding a missing WITH CHECK.
#[tokio::test]
async fn an_insert_authenticated_may_not_run_at_all_is_no_proof_of_with_check() {
    broken_with(
        &[
            (
                POLICY,
                "create policy ticket_tenant_isolation on ticket for all to authenticated
  using (organization_id = (select app.current_tenant()))
  with check (true);",
            ),
            (
                "grant select, insert, update, delete on ticket to authenticated;",
                "revoke insert on ticket from authenticated;
grant select, update, delete on ticket to authenticated;
grant insert (organization_id, id) on ticket to authenticated;",
            ),
        ],
        Property::InsertWithCheck,
    )
    .await;
}
