//! The ready-made isolation check of a tenant table: given how a row is
//! made, it asserts what DESIGN.md's tenancy invariants promise, acting as
//! `authenticated` (never as a superuser) on a `tenantry_app` login, against
//! two fresh fixture organizations A and B whose rows the owner seeds.
//!
//! - [`Property::Reads`]: A sees exactly A's rows, B exactly B's, `count(*)`
//!   too.
//! - [`Property::InsertWithCheck`]: inserting a row with B's
//!   `organization_id` while acting as A is refused by row-level security.
//! - [`Property::UpdateWithCheck`]: moving A's rows to B is refused.
//! - [`Property::ForeignUpdate`] and [`Property::ForeignDelete`]: as A, an
//!   UPDATE or DELETE aimed at B's row by its key affects no row, B's row is
//!   unchanged afterwards (read by the owner, the probe committed), and an
//!   unqualified UPDATE or DELETE affects A's rows only.
//! - [`Property::EmptyContext`]: with no tenant set, or an empty one, a
//!   select sees no row and an insert is refused.
//! - [`Property::UniqueValueOracle`] (with [`TenantTable::unique_column`]):
//!   A can insert a value B already holds, so a unique violation cannot
//!   reveal B's values; A inserting its own value twice is a violation, so
//!   the column is unique at all.
//! - [`Property::ForeignKeyOracle`] (with [`TenantTable::references`]): as
//!   A, a child row referencing B's row is refused with the same error as
//!   one referencing a row that does not exist, so A cannot tell that B's
//!   row exists; one referencing A's own row is accepted.
//!
//! ```no_run
//! use tenantry_testkit::TestDb;
//! use tenantry_testkit::isolation::TenantTable;
//!
//! # async fn example(test: TestDb) {
//! TenantTable::new("ticket")
//!     .insert("insert into ticket (organization_id, subject) values ($1, $2)")
//!     .unique_column("subject")
//!     .references(
//!         "ticket_comment",
//!         "insert into ticket_comment (organization_id, ticket_id, body) values ($1, $2, 'hi')",
//!     )
//!     .assert_isolated(&test)
//!     .await;
//! # }
//! ```
//!
//! What it cannot see from `authenticated`: whether RLS is *forced* (that
//! only binds the table's owner) and whether a policy is written in the
//! form the engine wants. `tenantry audit` checks those from the catalog;
//! the two complement each other.

use std::collections::BTreeSet;
use std::fmt;

use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Statement, Transaction};
use uuid::Uuid;

use crate::{TenantContext, TestDb, as_authenticated_tenant, begin_as_authenticated};

/// Rows the owner seeds in each of the two organizations.
const ROWS_PER_ORGANIZATION: usize = 2;

/// A tenant table to check, and how to make its rows. From
/// [`TenantTable::new`]; [`TenantTable::insert`] is required, the rest
/// optional.
#[derive(Clone, Debug)]
#[must_use = "a TenantTable does nothing until `check` or `assert_isolated` is awaited"]
pub struct TenantTable {
    table: String,
    key: String,
    insert: Option<String>,
    fixtures: Vec<String>,
    unique_column: Option<String>,
    references: Vec<Reference>,
}

/// A table whose foreign key points at the table under test.
#[derive(Clone, Debug)]
struct Reference {
    table: String,
    insert: String,
}

/// A property of tenant isolation the check asserts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Property {
    /// The check could not run as described: the insert failed, wrote no
    /// row for the organization it was given, or took parameters it was not
    /// given.
    Setup,
    /// A tenant sees exactly its own rows.
    Reads,
    /// A row with another organization's id cannot be inserted.
    InsertWithCheck,
    /// A row cannot be moved to another organization.
    UpdateWithCheck,
    /// Another organization's rows cannot be updated.
    ForeignUpdate,
    /// Another organization's rows cannot be deleted.
    ForeignDelete,
    /// With no tenant set, nothing is seen and nothing written.
    EmptyContext,
    /// A unique violation does not reveal another organization's values.
    UniqueValueOracle,
    /// A foreign-key violation does not reveal another organization's rows.
    ForeignKeyOracle,
}

impl fmt::Display for Property {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Property::Setup => "setup",
            Property::Reads => "reads",
            Property::InsertWithCheck => "WITH CHECK on insert",
            Property::UpdateWithCheck => "WITH CHECK on update",
            Property::ForeignUpdate => "foreign update",
            Property::ForeignDelete => "foreign delete",
            Property::EmptyContext => "empty context",
            Property::UniqueValueOracle => "unique-value oracle",
            Property::ForeignKeyOracle => "foreign-key oracle",
        })
    }
}

/// One property that does not hold, with what was run and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The property.
    pub property: Property,
    /// The statement, its parameters, and the outcome that breaks the
    /// property.
    pub detail: String,
}

/// A table that is not isolated: every property that broke.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IsolationFailure {
    /// The table checked.
    pub table: String,
    /// What broke, in the order checked.
    pub violations: Vec<Violation>,
}

impl IsolationFailure {
    /// Whether `property` is among those that broke.
    pub fn broke(&self, property: Property) -> bool {
        self.violations.iter().any(|v| v.property == property)
    }

    /// The properties that broke, each once.
    pub fn properties(&self) -> BTreeSet<Property> {
        self.violations.iter().map(|v| v.property).collect()
    }
}

impl fmt::Display for IsolationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tenant table {} is not isolated:", self.table)?;
        for violation in &self.violations {
            write!(f, "\n  - {}: {}", violation.property, violation.detail)?;
        }
        Ok(())
    }
}

impl std::error::Error for IsolationFailure {}

/// What a passing check covered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The table checked.
    pub table: String,
    /// The properties asserted (the oracles only when asked for).
    pub checked: Vec<Property>,
    /// Rows seeded in each of the two organizations.
    pub rows_per_organization: usize,
}

impl TenantTable {
    /// The tenant table `table`, as SQL names it (`ticket`,
    /// `helpdesk.ticket`). Its tenant column is `organization_id`; its key
    /// `id` unless [`TenantTable::key`] says otherwise.
    pub fn new(table: impl Into<String>) -> Self {
        TenantTable {
            table: table.into(),
            key: "id".to_owned(),
            insert: None,
            fixtures: Vec::new(),
            unique_column: None,
            references: Vec::new(),
        }
    }

    /// The column that identifies a row within its organization (`id`
    /// by default); uuid, integer or text.
    pub fn key(mut self, column: impl Into<String>) -> Self {
        self.key = column.into();
        self
    }

    /// How one row is made: an INSERT of one row into the table, `$1` its
    /// `organization_id` (uuid) and, if it uses one, `$2` a text unique to
    /// each call (for a name, a subject). Acting as A, the check runs it with
    /// B's id and expects a refusal, so it must write into this table only.
    ///
    /// No RETURNING: it makes PostgreSQL check the new row against the
    /// SELECT policy too, which would hide a missing WITH CHECK.
    pub fn insert(mut self, sql: impl Into<String>) -> Self {
        self.insert = Some(sql.into());
        self
    }

    /// A statement the owner runs for each organization before its rows are
    /// seeded, `$1` the organization and optionally `$2` a unique text: the
    /// parent rows a child table's insert needs, found there with a
    /// subquery such as `(select id from ticket where organization_id = $1
    /// limit 1)`. Several apply in order.
    pub fn fixture(mut self, sql: impl Into<String>) -> Self {
        self.fixtures.push(sql.into());
        self
    }

    /// The column [`TenantTable::insert`]'s `$2` fills, unique within an
    /// organization: checks the unique-value oracle.
    pub fn unique_column(mut self, column: impl Into<String>) -> Self {
        self.unique_column = Some(column.into());
        self
    }

    /// A table `child` whose foreign key references this one, and an INSERT
    /// of one child row: `$1` its `organization_id`, `$2` the referenced
    /// row's key (of the key's type), optionally `$3` a unique text. Checks
    /// the foreign-key oracle; several may be given.
    pub fn references(mut self, child: impl Into<String>, insert: impl Into<String>) -> Self {
        self.references.push(Reference {
            table: child.into(),
            insert: insert.into(),
        });
        self
    }

    /// Run the check in `test`'s database: two new organizations, rows
    /// seeded by the owner, every property probed as `authenticated`. The
    /// probes roll back, except the foreign update and delete, which commit
    /// so that the owner can see what they did. Panics only when the
    /// database itself cannot be reached.
    pub async fn check(&self, test: &TestDb) -> Result<Report, IsolationFailure> {
        let mut run = Run {
            spec: self,
            violations: Vec::new(),
        };
        let checked = run.all(test).await;
        if run.violations.is_empty() {
            Ok(Report {
                table: self.table.clone(),
                checked,
                rows_per_organization: ROWS_PER_ORGANIZATION,
            })
        } else {
            Err(IsolationFailure {
                table: self.table.clone(),
                violations: run.violations,
            })
        }
    }

    /// [`TenantTable::check`], panicking with the failure's description
    /// (each broken property, the SQL and values) for a test.
    pub async fn assert_isolated(&self, test: &TestDb) -> Report {
        match self.check(test).await {
            Ok(report) => report,
            Err(failure) => panic!("{failure}"),
        }
    }
}

/// One organization's part of the fixture.
struct Org {
    label: &'static str,
    id: Uuid,
    /// The `$2` values its rows were inserted with.
    values: Vec<String>,
    /// Its rows' keys, as text, sorted.
    keys: Vec<String>,
}

struct Run<'s> {
    spec: &'s TenantTable,
    violations: Vec<Violation>,
}

impl Run<'_> {
    fn violation(&mut self, property: Property, detail: impl Into<String>) {
        self.violations.push(Violation {
            property,
            detail: detail.into(),
        });
    }

    async fn all(&mut self, test: &TestDb) -> Vec<Property> {
        let owner = test.owner().await;
        let Some((a, b)) = self.seed(&owner).await else {
            return vec![Property::Setup];
        };
        let mut app = test.app_login().await;
        self.reads(&mut app, &a).await;
        self.reads(&mut app, &b).await;
        self.insert_with_check(&mut app, &a, &b).await;
        self.update_with_check(&mut app, &a, &b).await;
        self.foreign_writes(&mut app, &owner, &a, &b).await;
        self.empty_context(&mut app, &a).await;
        let mut checked = vec![
            Property::Reads,
            Property::InsertWithCheck,
            Property::UpdateWithCheck,
            Property::ForeignUpdate,
            Property::ForeignDelete,
            Property::EmptyContext,
        ];
        if let Some(column) = &self.spec.unique_column {
            self.unique_value_oracle(&mut app, column, &a, &b).await;
            checked.push(Property::UniqueValueOracle);
        }
        for reference in &self.spec.references {
            self.foreign_key_oracle(&mut app, reference, &a, &b).await;
        }
        if !self.spec.references.is_empty() {
            checked.push(Property::ForeignKeyOracle);
        }
        checked
    }

    /// Organizations A and B and their rows, as the owner.
    async fn seed(&mut self, owner: &Client) -> Option<(Org, Org)> {
        let table = &self.spec.table;
        let Some(insert) = &self.spec.insert else {
            self.violation(
                Property::Setup,
                format!("no insert: say how a row of {table} is made with .insert(sql)"),
            );
            return None;
        };
        let statement = match owner.prepare(insert).await {
            Ok(statement) => statement,
            Err(e) => {
                self.violation(
                    Property::Setup,
                    format!("the insert `{insert}` does not prepare: {}", describe(&e)),
                );
                return None;
            }
        };
        if !statement.columns().is_empty() {
            self.violation(
                Property::Setup,
                format!(
                    "the insert `{insert}` returns columns: drop its RETURNING, which makes \
                     PostgreSQL check the new row against the SELECT policy and so hides a \
                     missing WITH CHECK"
                ),
            );
            return None;
        }
        if !(1..=2).contains(&statement.params().len()) {
            self.violation(
                Property::Setup,
                format!(
                    "the insert `{insert}` takes {} parameters: it gets $1 (the organization) \
                     and optionally $2 (a unique text)",
                    statement.params().len()
                ),
            );
            return None;
        }
        let tag = Uuid::new_v4().simple().to_string();
        let mut orgs = Vec::new();
        for label in ["A", "B"] {
            let slug = format!("isolation-{}-{tag}", label.to_lowercase());
            let id = TestDb::insert_organization(owner, &slug).await;
            let mut org = Org {
                label,
                id,
                values: Vec::new(),
                keys: Vec::new(),
            };
            for (n, fixture) in self.spec.fixtures.iter().enumerate() {
                let value = format!("{table}-fixture-{n}-{label}-{tag}");
                if let Err(e) = execute_with(owner, fixture, &[&id, &value]).await {
                    self.violation(
                        Property::Setup,
                        format!(
                            "the fixture `{fixture}` failed for {label} ($1 = {id}): {}",
                            describe(&e)
                        ),
                    );
                    return None;
                }
            }
            for n in 0..ROWS_PER_ORGANIZATION {
                let value = format!("{table}-{n}-{label}-{tag}");
                match execute_with(owner, insert, &[&id, &value]).await {
                    Ok(1) => org.values.push(value),
                    outcome => {
                        self.violation(
                            Property::Setup,
                            format!(
                                "as the owner, `{insert}` with $1 = {id}, $2 = '{value}' should \
                                 insert one row: {}",
                                outcome_text(&outcome)
                            ),
                        );
                        return None;
                    }
                }
            }
            let sql = format!(
                "select {key}::text from {table} where organization_id = $1 order by 1",
                key = self.spec.key
            );
            match owner.query(&sql, &[&id]).await {
                Ok(rows) => org.keys = rows.iter().map(|r| r.get(0)).collect(),
                Err(e) => {
                    self.violation(
                        Property::Setup,
                        format!("as the owner, `{sql}` failed: {}", describe(&e)),
                    );
                    return None;
                }
            }
            if org.keys.len() != ROWS_PER_ORGANIZATION {
                self.violation(
                    Property::Setup,
                    format!(
                        "after {ROWS_PER_ORGANIZATION} inserts for {label}, the owner finds {} \
                         rows with organization_id = {id}: the insert must write $1 into \
                         organization_id",
                        org.keys.len()
                    ),
                );
                return None;
            }
            orgs.push(org);
        }
        let b = orgs.pop()?;
        let a = orgs.pop()?;
        Some((a, b))
    }

    async fn reads(&mut self, app: &mut Client, org: &Org) {
        let table = &self.spec.table;
        let keys_sql = format!("select {}::text from {table} order by 1", self.spec.key);
        let count_sql = format!("select count(*) from {table}");
        let seen = as_authenticated_tenant(app, org.id, async |tx| {
            let keys: Vec<String> = tx
                .query(&keys_sql, &[])
                .await?
                .iter()
                .map(|r| r.get(0))
                .collect();
            let count: i64 = tx.query_one(&count_sql, &[]).await?.get(0);
            Ok::<_, tokio_postgres::Error>((keys, count))
        })
        .await;
        let label = org.label;
        match seen {
            Err(e) => self.violation(
                Property::Reads,
                format!("as {label}, `{keys_sql}` failed: {}", describe(&e)),
            ),
            Ok((keys, count)) => {
                if keys != org.keys {
                    let foreign: Vec<_> = keys.iter().filter(|k| !org.keys.contains(k)).collect();
                    let missing: Vec<_> = org.keys.iter().filter(|k| !keys.contains(k)).collect();
                    let mut seen = Vec::new();
                    if !foreign.is_empty() {
                        seen.push(format!("sees rows that are not {label}'s {foreign:?}"));
                    }
                    if !missing.is_empty() {
                        seen.push(format!("misses {label}'s own {missing:?}"));
                    }
                    if seen.is_empty() {
                        seen.push(format!("sees {label}'s rows more than once: {keys:?}"));
                    }
                    self.violation(
                        Property::Reads,
                        format!("as {label}, `{keys_sql}` {}", seen.join(" and ")),
                    );
                }
                if count != org.keys.len() as i64 {
                    self.violation(
                        Property::Reads,
                        format!(
                            "as {label}, `{count_sql}` counts {count} where {label} has {}",
                            org.keys.len()
                        ),
                    );
                }
            }
        }
    }

    async fn insert_with_check(&mut self, app: &mut Client, a: &Org, b: &Org) {
        let insert = self.insert_sql();
        // The control: A may insert its own row, so a refusal of B's below
        // is row-level security at work, not a privilege the insert lacks.
        let own = format!("{}-own-{}", self.spec.table, Uuid::new_v4().simple());
        let control = as_authenticated_tenant(app, a.id, async |tx| {
            execute_with(tx, &insert, &[&a.id, &own]).await
        })
        .await;
        if !matches!(control, Ok(1)) {
            self.violation(
                Property::InsertWithCheck,
                format!(
                    "as A, `{insert}` with A's own id ($1 = {}, $2 = '{own}') should insert one                      row, or nothing shows that B's is refused by row-level security: {}",
                    a.id,
                    outcome_text(&control)
                ),
            );
            return;
        }
        let value = format!("{}-with-check-{}", self.spec.table, Uuid::new_v4().simple());
        let outcome = as_authenticated_tenant(app, a.id, async |tx| {
            execute_with(tx, &insert, &[&b.id, &value]).await
        })
        .await;
        if !is_rls_refusal(&outcome) {
            self.violation(
                Property::InsertWithCheck,
                format!(
                    "as A, `{insert}` with B's id ($1 = {}, $2 = '{value}') should be refused by \
                     row-level security: {}; the policy needs WITH CHECK (organization_id = \
                     (select app.current_tenant()))",
                    b.id,
                    outcome_text(&outcome)
                ),
            );
        }
    }

    async fn update_with_check(&mut self, app: &mut Client, a: &Org, b: &Org) {
        // No WHERE: one that reads a column makes PostgreSQL check the new
        // row against the SELECT policy, hiding a missing WITH CHECK.
        let sql = format!("update {} set organization_id = $1", self.spec.table);
        let outcome =
            as_authenticated_tenant(app, a.id, async |tx| tx.execute(&sql, &[&b.id]).await).await;
        if !is_rls_refusal(&outcome) {
            let why = match &outcome {
                Ok(0) => "it touched no row, so A cannot update its own rows".to_owned(),
                _ => outcome_text(&outcome),
            };
            self.violation(
                Property::UpdateWithCheck,
                format!(
                    "as A, `{sql}` with B's id ($1 = {}) should be refused by row-level \
                     security: {why}",
                    b.id
                ),
            );
        }
    }

    async fn foreign_writes(&mut self, app: &mut Client, owner: &Client, a: &Org, b: &Org) {
        let table = &self.spec.table;
        let key = &self.spec.key;
        // Not the row the foreign-key oracle points at, should a broken
        // table let this one go.
        let target = &b.keys[1];
        let before = snapshot(owner, table, key, b.id).await;
        let probes = [
            (
                Property::ForeignUpdate,
                format!(
                    "update {table} set organization_id = organization_id where {key}::text = $1"
                ),
                // Reads no column, as a WHERE or `set x = x` would: that
                // brings in the SELECT policy, hiding a loose UPDATE policy.
                format!("update {table} set organization_id = $1"),
            ),
            (
                Property::ForeignDelete,
                format!("delete from {table} where {key}::text = $1"),
                format!("delete from {table}"),
            ),
        ];
        for (property, aimed, unqualified) in probes {
            let outcome = committed_as_authenticated_tenant(app, a.id, async |tx| {
                tx.execute(&aimed, &[target]).await
            })
            .await;
            if !matches!(outcome, Ok(0)) && !is_permission_denied(&outcome) {
                self.violation(
                    property,
                    format!(
                        "as A, `{aimed}` with B's key ($1 = '{target}') should affect no row: {}",
                        outcome_text(&outcome)
                    ),
                );
            }
            let after = snapshot(owner, table, key, b.id).await;
            if after != before {
                self.violation(
                    property,
                    format!(
                        "after A's `{aimed}` ($1 = '{target}'), B's rows as the owner sees them \
                         changed from {before:?} to {after:?}"
                    ),
                );
            }
            // Without a WHERE, only the UPDATE or DELETE policy's USING
            // stands between A and B's rows.
            let outcome = as_authenticated_tenant(app, a.id, async |tx| {
                execute_with(tx, &unqualified, &[&a.id]).await
            })
            .await;
            let own = a.keys.len() as u64;
            if !matches!(outcome, Ok(n) if n == own) && !is_permission_denied(&outcome) {
                self.violation(
                    property,
                    format!(
                        "as A, `{unqualified}` should affect A's {own} rows only: {}",
                        outcome_text(&outcome)
                    ),
                );
            }
        }
    }

    async fn empty_context(&mut self, app: &mut Client, a: &Org) {
        let table = &self.spec.table;
        let insert = self.insert_sql();
        let count_sql = format!("select count(*) from {table}");
        for context in [TenantContext::NoTenant, TenantContext::Raw(String::new())] {
            let shown = match &context {
                TenantContext::NoTenant => "with no tenant set",
                _ => "with app.tenant_id = ''",
            };
            let seen = as_authenticated_tenant(app, context.clone(), async |tx| {
                tx.query_one(&count_sql, &[])
                    .await
                    .map(|r| r.get::<_, i64>(0))
            })
            .await;
            match seen {
                Ok(0) => {}
                Ok(n) => self.violation(
                    Property::EmptyContext,
                    format!("{shown}, `{count_sql}` counts {n} rows where it must see none"),
                ),
                Err(e) => self.violation(
                    Property::EmptyContext,
                    format!("{shown}, `{count_sql}` failed: {}", describe(&e)),
                ),
            }
            let value = format!("{table}-empty-{}", Uuid::new_v4().simple());
            let outcome = as_authenticated_tenant(app, context, async |tx| {
                execute_with(tx, &insert, &[&a.id, &value]).await
            })
            .await;
            if !is_rls_refusal(&outcome) {
                self.violation(
                    Property::EmptyContext,
                    format!(
                        "{shown}, `{insert}` ($1 = {}, $2 = '{value}') should be refused by \
                         row-level security: {}; a policy must not fail open on a missing tenant",
                        a.id,
                        outcome_text(&outcome)
                    ),
                );
            }
        }
    }

    async fn unique_value_oracle(&mut self, app: &mut Client, column: &str, a: &Org, b: &Org) {
        let insert = self.insert_sql();
        let own = &a.values[0];
        let outcome = as_authenticated_tenant(app, a.id, async |tx| {
            execute_with(tx, &insert, &[&a.id, own]).await
        })
        .await;
        if !is_code(&outcome, &SqlState::UNIQUE_VIOLATION) {
            self.violation(
                Property::UniqueValueOracle,
                format!(
                    "as A, `{insert}` with A's own existing {column} ($2 = '{own}') should be a \
                     unique violation, else {column} is not unique within an organization and \
                     the oracle check proves nothing: {}",
                    outcome_text(&outcome)
                ),
            );
        }
        let theirs = &b.values[0];
        let outcome = as_authenticated_tenant(app, a.id, async |tx| {
            execute_with(tx, &insert, &[&a.id, theirs]).await
        })
        .await;
        if !matches!(outcome, Ok(1)) {
            self.violation(
                Property::UniqueValueOracle,
                format!(
                    "as A, `{insert}` with the {column} B holds ($2 = '{theirs}') should succeed, \
                     so that a conflict cannot reveal B's values: {}; make the unique key \
                     (organization_id, {column})",
                    outcome_text(&outcome)
                ),
            );
        }
    }

    async fn foreign_key_oracle(
        &mut self,
        app: &mut Client,
        reference: &Reference,
        a: &Org,
        b: &Org,
    ) {
        let child = &reference.table;
        let insert = &reference.insert;
        let mut outcomes = Vec::new();
        for (whose, parent) in [
            ("A's own", Parent::Key(&a.keys[0])),
            ("no", Parent::Missing),
            ("B's", Parent::Key(&b.keys[0])),
        ] {
            let value = format!("{child}-{}", Uuid::new_v4().simple());
            let outcome = as_authenticated_tenant(app, a.id, async |tx| {
                let statement = tx.prepare(insert).await.map_err(Probe::Db)?;
                let parent = parent.value_for(&statement)?;
                let params: [&(dyn ToSql + Sync); 3] = [&a.id, parent.as_ref(), &value];
                let n = statement.params().len();
                if !(2..=3).contains(&n) {
                    return Err(Probe::Setup(format!(
                        "takes {n} parameters: it gets $1 (the organization), $2 (the parent's \
                         key) and optionally $3 (a unique text)"
                    )));
                }
                tx.execute(&statement, &params[..n])
                    .await
                    .map_err(Probe::Db)
            })
            .await;
            let shown = format!("as A, `{insert}` referencing {whose} row ($2 = {parent})");
            match outcome {
                Err(Probe::Setup(why)) => {
                    self.violation(
                        Property::Setup,
                        format!("the insert into {child} `{insert}` {why}"),
                    );
                    return;
                }
                Err(Probe::Db(e)) => outcomes.push((shown, Err(e))),
                Ok(n) => outcomes.push((shown, Ok(n))),
            }
        }
        let [
            (own_shown, own),
            (missing_shown, missing),
            (foreign_shown, foreign),
        ] = <[_; 3]>::try_from(outcomes).expect("three probes");
        if !matches!(own, Ok(1)) {
            self.violation(
                Property::ForeignKeyOracle,
                format!(
                    "{own_shown} should insert one row of {child}: {}",
                    outcome_text(&own)
                ),
            );
            return;
        }
        if !is_code(&missing, &SqlState::FOREIGN_KEY_VIOLATION) {
            self.violation(
                Property::ForeignKeyOracle,
                format!(
                    "{missing_shown} should be a foreign-key violation: {}; {child} needs a \
                     foreign key (organization_id, ...) to {}",
                    outcome_text(&missing),
                    self.spec.table
                ),
            );
            return;
        }
        if error_identity(&foreign) != error_identity(&missing) {
            self.violation(
                Property::ForeignKeyOracle,
                format!(
                    "{foreign_shown} should fail exactly as referencing a missing row does \
                     ({}), so that A cannot tell B's row exists: {}; the foreign key must \
                     include organization_id",
                    outcome_text(&missing),
                    outcome_text(&foreign)
                ),
            );
        }
    }

    fn insert_sql(&self) -> String {
        self.spec.insert.clone().unwrap_or_default()
    }
}

/// What a child's `$2` points at.
#[derive(Clone, Copy)]
enum Parent<'k> {
    Key(&'k str),
    Missing,
}

impl fmt::Display for Parent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Parent::Key(key) => write!(f, "'{key}'"),
            Parent::Missing => f.write_str("a key no row has"),
        }
    }
}

impl Parent<'_> {
    /// The key as the statement's `$2` wants it.
    fn value_for(&self, statement: &Statement) -> Result<Box<dyn ToSql + Sync>, Probe> {
        let Some(ty) = statement.params().get(1) else {
            return Err(Probe::Setup("has no $2 for the referenced key".to_owned()));
        };
        let bad = |key: &str| Probe::Setup(format!("gets a key '{key}' its $2 ({ty}) cannot take"));
        let value: Box<dyn ToSql + Sync> = match (*self, ty) {
            (Parent::Missing, &Type::UUID) => Box::new(Uuid::new_v4()),
            (Parent::Missing, &Type::INT8) => Box::new(i64::MAX),
            (Parent::Missing, &Type::INT4) => Box::new(i32::MAX),
            (Parent::Missing, &Type::TEXT | &Type::VARCHAR) => Box::new(Uuid::new_v4().to_string()),
            (Parent::Key(key), &Type::UUID) => {
                Box::new(Uuid::parse_str(key).map_err(|_| bad(key))?)
            }
            (Parent::Key(key), &Type::INT8) => Box::new(key.parse::<i64>().map_err(|_| bad(key))?),
            (Parent::Key(key), &Type::INT4) => Box::new(key.parse::<i32>().map_err(|_| bad(key))?),
            (Parent::Key(key), &Type::TEXT | &Type::VARCHAR) => Box::new(key.to_owned()),
            (_, other) => {
                return Err(Probe::Setup(format!(
                    "takes the referenced key as {other}: uuid, bigint, integer or text"
                )));
            }
        };
        Ok(value)
    }
}

enum Probe {
    Db(tokio_postgres::Error),
    Setup(String),
}

/// Like [`as_authenticated_tenant`], but committed, so that the owner can
/// see afterwards what the work did (a refused statement commits nothing).
async fn committed_as_authenticated_tenant<T>(
    client: &mut Client,
    tenant: impl Into<TenantContext>,
    work: impl AsyncFnOnce(&Transaction<'_>) -> T,
) -> T {
    let tx = begin_as_authenticated(client, &tenant.into()).await;
    let result = work(&tx).await;
    // COMMIT of a transaction an error aborted rolls it back, as wanted.
    let _ = tx.commit().await;
    result
}

/// Execute `sql` with as many of `params` as it declares, so that a
/// statement may leave out the trailing ones it has no use for.
async fn execute_with<C: tokio_postgres::GenericClient>(
    client: &C,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, tokio_postgres::Error> {
    let statement = client.prepare(sql).await?;
    let n = statement.params().len().min(params.len());
    client.execute(&statement, &params[..n]).await
}

/// B's rows as the owner sees them, whole.
async fn snapshot(owner: &Client, table: &str, key: &str, org: Uuid) -> Vec<String> {
    let sql = format!(
        "select row_to_json(t)::text from {table} t where organization_id = $1 order by {key}::text"
    );
    owner
        .query(&sql, &[&org])
        .await
        .unwrap_or_else(|e| panic!("as the owner, {sql}: {}", describe(&e)))
        .iter()
        .map(|r| r.get(0))
        .collect()
}

/// The server's code, message and detail: tokio-postgres's Display says
/// only "db error".
fn describe(error: &tokio_postgres::Error) -> String {
    match error.as_db_error() {
        Some(db) => {
            let mut text = format!("{} ({})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                text.push_str(&format!(": {detail}"));
            }
            text
        }
        None => error.to_string(),
    }
}

fn outcome_text(outcome: &Result<u64, tokio_postgres::Error>) -> String {
    match outcome {
        Ok(1) => "it affected 1 row".to_owned(),
        Ok(n) => format!("it affected {n} rows"),
        Err(e) => format!("it failed with {}", describe(e)),
    }
}

fn is_code(outcome: &Result<u64, tokio_postgres::Error>, code: &SqlState) -> bool {
    matches!(outcome, Err(e) if e.code() == Some(code))
}

/// Refused by a policy, or for want of the privilege at all (an append-only
/// table): either way the row was not written.
/// 42501: a row-level security refusal, or a privilege the role lacks
/// (an append-only table's UPDATE). Either keeps the row where it is; that
/// the insert itself is allowed, the control of `insert_with_check` shows.
fn is_rls_refusal(outcome: &Result<u64, tokio_postgres::Error>) -> bool {
    is_code(outcome, &SqlState::INSUFFICIENT_PRIVILEGE)
}

/// Refused for want of the privilege, before any row was looked at; not a
/// new-row policy violation, which means a row was reached.
fn is_permission_denied(outcome: &Result<u64, tokio_postgres::Error>) -> bool {
    matches!(outcome, Err(e) if e.code() == Some(&SqlState::INSUFFICIENT_PRIVILEGE)
        && e.as_db_error().is_some_and(|db| db.message().starts_with("permission denied")))
}

/// What a caller can tell two failures apart by: their code and constraint.
fn error_identity(
    outcome: &Result<u64, tokio_postgres::Error>,
) -> Option<(String, Option<String>)> {
    let db = outcome.as_ref().err()?.as_db_error()?;
    Some((
        db.code().code().to_owned(),
        db.constraint().map(str::to_owned),
    ))
}
