//! `tenantry new`: write an application's next migration with the tenancy
//! shape already in it, so a new table audits clean by construction.
//!
//! The generators are pure: a validated spec ([`TenantTable`],
//! [`ReferenceTable`]) becomes SQL text. Validation happens while the spec
//! is built, so bad input is refused before anything is written, and
//! [`new`] is the thin command that picks the file name and writes it.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use tenantry_db::catalog::REFERENCE_TABLE_MARKER;

/// Options of `tenantry new`.
#[derive(clap::Args, Debug)]
pub struct NewArgs {
    #[command(subcommand)]
    kind: NewKind,
}

/// What `tenantry new` writes.
#[derive(clap::Subcommand, Debug)]
enum NewKind {
    /// Write the next migration creating a tenant table: organization_id
    /// leading its keys, RLS enabled and forced, tenant policies, grants.
    TenantTable {
        /// The table's name: lowercase, [a-z][a-z0-9_]*, at most 48 characters.
        name: String,
        /// A column as NAME:TYPE (NOT NULL) or NAME:TYPE:null; TYPE is one of
        /// text, integer, bigint, boolean, numeric, date, timestamptz, jsonb, uuid.
        #[arg(long = "column", value_name = "NAME:TYPE[:null]")]
        columns: Vec<String>,
        /// Another tenant table this one belongs to: adds TABLE_id, a foreign
        /// key (organization_id, TABLE_id) and an index on them. A reference
        /// table written by `tenantry new reference-table` into the same
        /// directory (or ai_model, ai_model_pricing) gets TABLE_id
        /// referencing its id instead.
        #[arg(long = "references", value_name = "TABLE")]
        references: Vec<String>,
        /// A column (or comma-separated columns) unique within an organization.
        #[arg(long = "unique", value_name = "COLUMN[,COLUMN...]")]
        unique: Vec<String>,
        /// The engine whose policy form to write.
        #[arg(long, value_enum, default_value_t = Engine::Postgres)]
        engine: Engine,
        #[command(flatten)]
        dir: MigrationsDir,
    },
    /// Write the next migration creating a reference table: no tenant data,
    /// read-only for tenants, declared so (with its reason) to `tenantry audit`.
    ReferenceTable {
        /// The table's name: lowercase, [a-z][a-z0-9_]*, at most 48 characters.
        name: String,
        /// Why the table holds no tenant data (written into the table's
        /// comment, where `tenantry audit` reads it).
        #[arg(long)]
        reason: String,
        /// A column as NAME:TYPE (NOT NULL) or NAME:TYPE:null; TYPE is one of
        /// text, integer, bigint, boolean, numeric, date, timestamptz, jsonb, uuid.
        #[arg(long = "column", value_name = "NAME:TYPE[:null]")]
        columns: Vec<String>,
        /// The engine to write the table for.
        #[arg(long, value_enum, default_value_t = Engine::Postgres)]
        engine: Engine,
        #[command(flatten)]
        dir: MigrationsDir,
    },
}

/// Where the application's migrations live.
#[derive(clap::Args, Debug)]
struct MigrationsDir {
    /// The application's migrations directory (created when missing).
    #[arg(
        long = "migrations",
        value_name = "DIR",
        env = "TENANTRY_MIGRATIONS_DIR",
        default_value = "migrations"
    )]
    migrations: PathBuf,
}

/// `tenantry new ...`: validate, write the next migration, print its path.
pub fn new(args: NewArgs) -> anyhow::Result<()> {
    let (name, sql, dir) = match args.kind {
        NewKind::TenantTable {
            name,
            columns,
            references,
            unique,
            engine,
            dir,
        } => {
            let known = reference_tables_in(&dir.migrations)?;
            let spec = TenantTable::parse(&name, &columns, &references, &unique, engine, &known)?;
            (spec.name.clone(), tenant_table_sql(&spec), dir.migrations)
        }
        NewKind::ReferenceTable {
            name,
            reason,
            columns,
            engine,
            dir,
        } => {
            let spec = ReferenceTable::parse(&name, &reason, &columns, engine)?;
            (
                spec.name.clone(),
                reference_table_sql(&spec),
                dir.migrations,
            )
        }
    };
    let path = write_next_migration(&dir, &name, &sql)?;
    println!("{}", path.display());
    Ok(())
}

/// A spec that cannot become a migration; the message names the problem.
#[derive(Debug, PartialEq, Eq)]
pub struct SpecError(String);

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

fn refuse<T>(message: impl Into<String>) -> Result<T, SpecError> {
    Err(SpecError(message.into()))
}

/// The engine a migration is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    /// A single PostgreSQL: policies call the tenant function as an initPlan.
    Postgres,
    /// Citus: policies call it directly (Citus refuses subqueries in
    /// policies on distributed tables), and the table is distributed.
    Citus,
}

/// The column types `--column` accepts, each spelled as in SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// `text`
    Text,
    /// `integer`
    Integer,
    /// `bigint`
    Bigint,
    /// `boolean`
    Boolean,
    /// `numeric`
    Numeric,
    /// `date`
    Date,
    /// `timestamptz`
    Timestamptz,
    /// `jsonb`
    Jsonb,
    /// `uuid`
    Uuid,
}

impl ColumnType {
    const ALL: [ColumnType; 9] = [
        ColumnType::Text,
        ColumnType::Integer,
        ColumnType::Bigint,
        ColumnType::Boolean,
        ColumnType::Numeric,
        ColumnType::Date,
        ColumnType::Timestamptz,
        ColumnType::Jsonb,
        ColumnType::Uuid,
    ];

    fn sql(self) -> &'static str {
        match self {
            ColumnType::Text => "text",
            ColumnType::Integer => "integer",
            ColumnType::Bigint => "bigint",
            ColumnType::Boolean => "boolean",
            ColumnType::Numeric => "numeric",
            ColumnType::Date => "date",
            ColumnType::Timestamptz => "timestamptz",
            ColumnType::Jsonb => "jsonb",
            ColumnType::Uuid => "uuid",
        }
    }

    fn parse(text: &str) -> Option<ColumnType> {
        Self::ALL.into_iter().find(|t| t.sql() == text)
    }
}

/// One `--column`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Column {
    /// A valid identifier ([`identifier`]).
    pub name: String,
    /// Its type.
    pub ty: ColumnType,
    /// `NAME:TYPE:null`; columns are NOT NULL otherwise.
    pub nullable: bool,
}

impl Column {
    /// `NAME:TYPE` or `NAME:TYPE:null`.
    pub fn parse(spec: &str) -> Result<Column, SpecError> {
        let parts: Vec<&str> = spec.split(':').collect();
        let (name, ty, nullable) = match parts.as_slice() {
            [name, ty] => (*name, *ty, false),
            [name, ty, "null"] => (*name, *ty, true),
            [_, _, other] => {
                return refuse(format!(
                    "--column {spec:?}: the third part may only be `null` (making the column nullable), not {other:?}"
                ));
            }
            _ => {
                return refuse(format!(
                    "--column {spec:?}: expected NAME:TYPE or NAME:TYPE:null"
                ));
            }
        };
        let name =
            identifier("column", name).map_err(|e| SpecError(format!("--column {spec:?}: {e}")))?;
        let Some(ty) = ColumnType::parse(ty) else {
            let known: Vec<&str> = ColumnType::ALL.iter().map(|t| t.sql()).collect();
            return refuse(format!(
                "--column {spec:?}: unknown type {ty:?}; use one of {}",
                known.join(", ")
            ));
        };
        Ok(Column { name, ty, nullable })
    }

    fn sql(&self) -> String {
        let null = if self.nullable { "" } else { " not null" };
        format!("{} {}{null}", self.name, self.ty.sql())
    }
}

/// `tenantry new tenant-table`, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantTable {
    /// A valid identifier, not one of tenantry's tables.
    pub name: String,
    /// Its own columns, after the generated ones.
    pub columns: Vec<Column>,
    /// Tenant tables it references through `(organization_id, TABLE_id)`.
    pub references: Vec<String>,
    /// Reference tables it references through `TABLE_id`.
    pub reference_data: Vec<String>,
    /// Column sets unique within an organization.
    pub unique: Vec<Vec<String>>,
    /// The engine whose policy form to write.
    pub engine: Engine,
}

/// Columns every generated table has; `--column` may not name them.
const GENERATED_COLUMNS: &[&str] = &["organization_id", "id", "created_at", "updated_at"];

/// The longest table name accepted: the names derived from it
/// (`NAME_tenant_isolation`, `NAME_organization_id_created_at_idx`) must
/// stay within PostgreSQL's 63 bytes.
const MAX_NAME: usize = 48;

impl TenantTable {
    /// Validate the command line's values.
    pub fn parse(
        name: &str,
        columns: &[String],
        references: &[String],
        unique: &[String],
        engine: Engine,
        reference_tables: &[String],
    ) -> Result<TenantTable, SpecError> {
        let name = table_name(name)?;
        let mut refs = Vec::new();
        let mut reference_data = Vec::new();
        for target in references {
            // Before the identifier check, so `user` is named as tenantry's
            // table rather than as a reserved word.
            if !reference_tables.contains(target)
                && (TENANTRY_NON_TENANT_TABLES.contains(&target.as_str())
                    || target.starts_with("tenantry_"))
            {
                return refuse(format!(
                    "--references {target}: {target} is neither a tenant table nor reference data; --references takes a tenant table, keyed by (organization_id, id), or a reference table (organization_id already references organization)"
                ));
            }
            let target = identifier("referenced table", target)
                .map_err(|e| SpecError(format!("--references {target:?}: {e}")))?;
            if target == name {
                return refuse(format!(
                    "--references {target}: a table cannot reference itself with a NOT NULL key (its first row could never be inserted)"
                ));
            }
            if refs.contains(&target) || reference_data.contains(&target) {
                return refuse(format!("--references {target}: given twice"));
            }
            if reference_tables.contains(&target) {
                reference_data.push(target);
            } else {
                refs.push(target);
            }
        }
        let ref_columns: Vec<String> = refs
            .iter()
            .chain(&reference_data)
            .map(|t| format!("{t}_id"))
            .collect();
        let columns = parse_columns(columns, &ref_columns)?;
        let mut sets = Vec::new();
        for spec in unique {
            let mut set = Vec::new();
            for column in spec.split(',').map(str::trim) {
                let known = columns.iter().any(|c| c.name == column)
                    || ref_columns.iter().any(|c| c == column)
                    || column == "created_at"
                    || column == "updated_at";
                if !known {
                    return refuse(format!(
                        "--unique {spec:?}: {column:?} is not a column of {name} (declare it with --column)"
                    ));
                }
                if set.iter().any(|c| c == column) {
                    return refuse(format!("--unique {spec:?}: {column} is named twice"));
                }
                set.push(column.to_owned());
            }
            if sets.contains(&set) {
                return refuse(format!("--unique {spec:?}: given twice"));
            }
            sets.push(set);
        }
        let spec = TenantTable {
            name,
            columns,
            references: refs,
            reference_data,
            unique: sets,
            engine,
        };
        for derived in spec.derived_names() {
            check_length(&derived)?;
        }
        Ok(spec)
    }

    fn fk_name(&self, target: &str) -> String {
        format!("{}_{target}_id_fkey", self.name)
    }

    fn ref_index_name(&self, target: &str) -> String {
        format!("{}_organization_id_{target}_id_idx", self.name)
    }

    fn unique_name(&self, set: &[String]) -> String {
        format!("{}_organization_id_{}_key", self.name, set.join("_"))
    }

    fn derived_names(&self) -> Vec<String> {
        let mut names = vec![
            format!("{}_pkey", self.name),
            format!("{}_tenant_isolation", self.name),
            format!("{}_organization_id_created_at_idx", self.name),
        ];
        for target in self.references.iter().chain(&self.reference_data) {
            names.push(self.fk_name(target));
            names.push(self.ref_index_name(target));
        }
        for set in &self.unique {
            names.push(self.unique_name(set));
        }
        names
    }
}

/// `tenantry new reference-table`, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReferenceTable {
    /// A valid identifier, not one of tenantry's tables.
    pub name: String,
    /// Why it holds no tenant data: one line, not blank.
    pub reason: String,
    /// Its own columns, after `id`.
    pub columns: Vec<Column>,
    /// The engine to write it for.
    pub engine: Engine,
}

/// The longest reason accepted: it is a sentence for a reviewer, not a
/// document.
const MAX_REASON: usize = 300;

impl ReferenceTable {
    /// Validate the command line's values.
    pub fn parse(
        name: &str,
        reason: &str,
        columns: &[String],
        engine: Engine,
    ) -> Result<ReferenceTable, SpecError> {
        let name = table_name(name)?;
        let reason = reason.trim();
        if reason.is_empty() {
            return refuse(
                "--reason is empty: say why the table holds no tenant data (the audit does not accept a reference table without a reason)",
            );
        }
        // The reason goes into a `--` comment line and a string literal: a
        // line break would end the comment and turn the rest into SQL.
        if reason.chars().any(char::is_control) {
            return refuse("--reason must be one line, without control characters");
        }
        if reason.chars().count() > MAX_REASON {
            return refuse(format!("--reason is longer than {MAX_REASON} characters"));
        }
        let columns = parse_columns(columns, &[])?;
        check_length(&format!("{name}_pkey"))?;
        Ok(ReferenceTable {
            name,
            reason: reason.to_owned(),
            columns,
            engine,
        })
    }
}

fn parse_columns(specs: &[String], ref_columns: &[String]) -> Result<Vec<Column>, SpecError> {
    let mut columns: Vec<Column> = Vec::new();
    for spec in specs {
        let column = Column::parse(spec)?;
        if GENERATED_COLUMNS.contains(&column.name.as_str()) {
            return refuse(format!(
                "--column {spec:?}: {} is generated for every table ({})",
                column.name,
                GENERATED_COLUMNS.join(", ")
            ));
        }
        if ref_columns.contains(&column.name) {
            return refuse(format!(
                "--column {spec:?}: {} is generated by --references",
                column.name
            ));
        }
        if columns.iter().any(|c| c.name == column.name) {
            return refuse(format!(
                "--column {spec:?}: {} is declared twice",
                column.name
            ));
        }
        columns.push(column);
    }
    Ok(columns)
}

/// tenantry's own tables: a new table of the same name would collide with
/// (or be mistaken for) one of them.
const TENANTRY_TABLES: &[&str] = &[
    "user",
    "session",
    "account",
    "verification",
    "organization",
    "member",
    "invitation",
    "project",
    "usage_event",
    "ai_model",
    "ai_model_pricing",
    "personal_access_token",
    "audit_log",
];

/// tenantry's tables without a tenant key: a tenant table cannot reference
/// them through `(organization_id, id)`.
const TENANTRY_NON_TENANT_TABLES: &[&str] = &[
    "user",
    "session",
    "account",
    "verification",
    "organization",
    "ai_model",
    "ai_model_pricing",
    "personal_access_token",
];

fn table_name(name: &str) -> Result<String, SpecError> {
    // Before the identifier check, so `user` is named as tenantry's table
    // rather than as a reserved word.
    if TENANTRY_TABLES.contains(&name) || name.starts_with("tenantry_") {
        return refuse(format!(
            "{name} is one of tenantry's own tables (or its tenantry_ prefix); choose another name"
        ));
    }
    let name = identifier("table", name)?;
    if name.len() > MAX_NAME {
        return refuse(format!(
            "table name {name:?} is longer than {MAX_NAME} characters (the names derived from it must fit PostgreSQL's 63)"
        ));
    }
    Ok(name)
}

/// A lowercase SQL identifier that needs no quoting: `[a-z][a-z0-9_]*`, at
/// most 63 bytes, not a reserved word.
pub fn identifier(what: &str, name: &str) -> Result<String, SpecError> {
    let well_formed = name.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !well_formed {
        return refuse(format!(
            "{what} name {name:?} is not a lowercase SQL identifier ([a-z][a-z0-9_]*)"
        ));
    }
    if name.len() > 63 {
        return refuse(format!(
            "{what} name {name:?} is longer than PostgreSQL's 63 characters"
        ));
    }
    if RESERVED.contains(&name) {
        return refuse(format!(
            "{what} name {name:?} is a reserved word in PostgreSQL; choose another"
        ));
    }
    Ok(name.to_owned())
}

fn check_length(derived: &str) -> Result<(), SpecError> {
    if derived.len() > 63 {
        return refuse(format!(
            "the generated name {derived} is longer than PostgreSQL's 63 characters and would be truncated; use shorter table or column names"
        ));
    }
    Ok(())
}

/// PostgreSQL's reserved key words, and those reserved except as function or
/// type names: neither may name a table or column unquoted (PostgreSQL 15,
/// appendix C; `system_user` from 16).
const RESERVED: &[&str] = &[
    "all",
    "analyse",
    "analyze",
    "and",
    "any",
    "array",
    "as",
    "asc",
    "asymmetric",
    "authorization",
    "binary",
    "both",
    "case",
    "cast",
    "check",
    "collate",
    "collation",
    "column",
    "concurrently",
    "constraint",
    "create",
    "cross",
    "current_catalog",
    "current_date",
    "current_role",
    "current_schema",
    "current_time",
    "current_timestamp",
    "current_user",
    "default",
    "deferrable",
    "desc",
    "distinct",
    "do",
    "else",
    "end",
    "except",
    "false",
    "fetch",
    "for",
    "foreign",
    "freeze",
    "from",
    "full",
    "grant",
    "group",
    "having",
    "ilike",
    "in",
    "initially",
    "inner",
    "intersect",
    "into",
    "is",
    "isnull",
    "join",
    "lateral",
    "leading",
    "left",
    "like",
    "limit",
    "localtime",
    "localtimestamp",
    "natural",
    "not",
    "notnull",
    "null",
    "offset",
    "on",
    "only",
    "or",
    "order",
    "outer",
    "overlaps",
    "placing",
    "primary",
    "references",
    "returning",
    "right",
    "select",
    "session_user",
    "similar",
    "some",
    "symmetric",
    "system_user",
    "table",
    "tablesample",
    "then",
    "to",
    "trailing",
    "true",
    "union",
    "unique",
    "user",
    "using",
    "variadic",
    "verbose",
    "when",
    "where",
    "window",
    "with",
];

/// The tenant predicate of every policy, in the form `engine` needs.
fn tenant_predicate(engine: Engine) -> &'static str {
    match engine {
        Engine::Postgres => "organization_id = (select app.current_tenant())",
        Engine::Citus => "organization_id = app.current_tenant()",
    }
}

/// The migration creating `spec`'s tenant table.
pub fn tenant_table_sql(spec: &TenantTable) -> String {
    let t = &spec.name;
    let engine = match spec.engine {
        Engine::Postgres => "postgres",
        Engine::Citus => "citus",
    };
    let mut out = format!(
        "-- {t}: a tenant table, written by `tenantry new tenant-table --engine {engine}`.
-- Edit it before it is first applied; after that, change the table with a
-- new migration.
--
-- Each part of the shape is checked by `tenantry audit` (docs/audit.md):
--   * organization_id leads the primary key, every index, every unique key
--     and every foreign key to another tenant table: constraint checks
--     bypass RLS, so a key without it would tell one tenant what another
--     holds (unique_without_tenant, foreign_key_without_tenant,
--     no_tenant_leading_index);
--   * RLS is enabled and forced, so even the owner's queries are filtered
--     (rls_disabled, rls_not_forced);
--   * one policy for all commands, to authenticated only, pins
--     organization_id to the current tenant in USING and in WITH CHECK, so a
--     tenant can neither read nor write another's rows, and a connection
--     with no tenant sees and writes nothing (policy_missing_with_check,
--     policy_not_pinned_to_tenant, policy_to_public, policy_fails_open,
--     multiple_permissive_policies);
"
    );
    match spec.engine {
        Engine::Postgres => out.push_str(
            "--   * the policy calls the tenant function as `(select app.current_tenant())`,
--     an initPlan run once per statement that lets the planner use the
--     indexes on organization_id (policy_per_row_tenant_call);
--   * organization_id defaults to the current tenant, so an insert inside a
--     tenant transaction need not name it.
",
        ),
        Engine::Citus => out.push_str(
            "--
-- Written for Citus, where this differs from the single-PostgreSQL form:
--   * the policy calls `app.current_tenant()` directly: Citus refuses a
--     subquery in a policy on a distributed table (\"Subqueries are not
--     supported in policies on distributed tables\"). On a single PostgreSQL
--     this form runs once per row, which `tenantry audit` reports there
--     (not on a distributed table) as the warning policy_per_row_tenant_call;
--   * organization_id has no default: Citus evaluates the default on the
--     coordinator before routing and refuses a NULL distribution column, so
--     inserts name the tenant, which also sends them to one shard;
--   * the table is distributed by organization_id, colocated with tenantry's
--     own tenant tables, after its policy exists (distributing copies RLS
--     and policies to every shard; docs/scale-out.md).
",
        ),
    }
    out.push_str(
        "--
-- updated_at is not maintained by a trigger (tenantry has none): set it in
-- the UPDATE statement.
",
    );
    let default = match spec.engine {
        Engine::Postgres => " default app.current_tenant()",
        Engine::Citus => "",
    };
    out.push_str(&format!(
        "\ncreate table {t} (\n  organization_id uuid not null{default}\n    references organization (id) on delete cascade,\n  id uuid not null default gen_random_uuid(),\n"
    ));
    for target in spec.references.iter().chain(&spec.reference_data) {
        out.push_str(&format!("  {target}_id uuid not null,\n"));
    }
    for column in &spec.columns {
        out.push_str(&format!("  {},\n", column.sql()));
    }
    out.push_str(
        "  created_at timestamptz not null default now(),\n  updated_at timestamptz not null default now(),\n  primary key (organization_id, id)",
    );
    for target in &spec.references {
        out.push_str(&format!(
            ",\n  -- Composite: a row can only belong to a {target} of its own organization;\n  -- another tenant's {target} fails exactly like a missing one.\n  constraint {} foreign key (organization_id, {target}_id)\n    references {target} (organization_id, id) on delete cascade",
            spec.fk_name(target)
        ));
    }
    for target in &spec.reference_data {
        out.push_str(&format!(
            ",\n  -- Reference data, the same for every tenant: a plain key to its id.\n  constraint {} foreign key ({target}_id)\n    references {target} (id)",
            spec.fk_name(target)
        ));
    }
    for set in &spec.unique {
        out.push_str(&format!(
            ",\n  constraint {} unique (organization_id, {})",
            spec.unique_name(set),
            set.join(", ")
        ));
    }
    out.push_str("\n);\n");
    out.push_str(&format!(
        "create index {t}_organization_id_created_at_idx on {t} (organization_id, created_at, id);\n"
    ));
    for target in spec.references.iter().chain(&spec.reference_data) {
        out.push_str(&format!(
            "create index {} on {t} (organization_id, {target}_id);\n",
            spec.ref_index_name(target)
        ));
    }
    let pinned = tenant_predicate(spec.engine);
    out.push_str(&format!(
        "
alter table {t} enable row level security;
alter table {t} force row level security;
create policy {t}_tenant_isolation on {t} for all to authenticated
  using ({pinned})
  with check ({pinned});

grant select, insert, update, delete on {t} to authenticated;
"
    ));
    if spec.engine == Engine::Citus {
        out.push_str(&format!(
            "\nselect create_distributed_table('{t}', 'organization_id', colocate_with => 'member');\n"
        ));
    }
    out
}

/// The migration creating `spec`'s reference table.
pub fn reference_table_sql(spec: &ReferenceTable) -> String {
    let t = &spec.name;
    let reason = &spec.reason;
    let mut out = format!(
        "-- {t}: a reference table, written by `tenantry new reference-table`.
-- Why it holds no tenant data: {reason}
--
-- No organization_id and no RLS: every tenant reads the same rows. The table
-- comment declares it a reference table, with the reason, to `tenantry
-- audit`, which reads the catalog and not the application's code
-- (unlisted_non_tenant_table in docs/audit.md). Tenant tables may reference
-- it by id. `authenticated` may only read it; rows are written by the owner,
-- in migrations or seeds, as for tenantry's own ai_model. updated_at is not
-- maintained by a trigger (tenantry has none): set it in the UPDATE.

create table {t} (
  id uuid primary key default gen_random_uuid(),
"
    );
    for column in &spec.columns {
        out.push_str(&format!("  {},\n", column.sql()));
    }
    out.push_str(
        "  created_at timestamptz not null default now(),\n  updated_at timestamptz not null default now()\n);\n",
    );
    let literal = format!("{REFERENCE_TABLE_MARKER} {reason}").replace('\'', "''");
    out.push_str(&format!(
        "comment on table {t} is '{literal}';

revoke all on {t} from public, authenticated;
grant select on {t} to authenticated;
"
    ));
    if spec.engine == Engine::Citus {
        out.push_str(&format!(
            "
-- Citus: a copy on every node, so distributed tenant tables can reference it
-- and join it locally (docs/scale-out.md).
select create_reference_table('{t}');
"
        ));
    }
    out
}

/// tenantry's reference data, which tenant tables may reference by id.
const TENANTRY_REFERENCE_TABLES: &[&str] = &["ai_model", "ai_model_pricing"];

/// The reference tables a tenant table in `dir` may reference: tenantry's,
/// and those the migrations there mark as `tenantry new reference-table`
/// writes them (`comment on table NAME is 'tenantry:reference-table: ...'`).
fn reference_tables_in(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut tables: Vec<String> = TENANTRY_REFERENCE_TABLES
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
    if !dir.is_dir() {
        return Ok(tables);
    }
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("reading {}", dir.display()))?
            .path();
        let is_migration = path
            .file_name()
            .and_then(|f| f.to_str())
            .is_some_and(|f| tenantry_db::migrate::split_file_name(f).is_some());
        if !is_migration {
            continue;
        }
        let sql = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        tables.extend(marked_reference_tables(&sql));
    }
    Ok(tables)
}

/// The tables `sql` marks as reference tables, one `comment on table` line
/// each, as [`reference_table_sql`] writes them.
fn marked_reference_tables(sql: &str) -> Vec<String> {
    let marker = format!(" is '{REFERENCE_TABLE_MARKER}");
    sql.lines()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("comment on table ")?;
            let (table, _) = rest.split_once(&marker)?;
            let table = table.trim().strip_prefix("public.").unwrap_or(table.trim());
            identifier("table", table).ok()
        })
        .collect()
}

/// The number after the highest `NNNN_*.sql` in `dir` (1 when there is none).
/// Refuses when a migration for `name` is already there.
fn next_migration(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let mut highest = 0;
    if dir.exists() {
        let entries =
            std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", dir.display()))?;
            let file = entry.file_name();
            let Some(file) = file.to_str() else { continue };
            let Some((number, rest)) = tenantry_db::migrate::split_file_name(file) else {
                continue;
            };
            if rest == name {
                anyhow::bail!(
                    "{} already creates {name}: change the table with a migration of its own instead",
                    entry.path().display()
                );
            }
            highest = highest.max(number);
        }
    }
    if highest >= 9999 {
        anyhow::bail!(
            "{} already holds migration 9999, the last four-digit number",
            dir.display()
        );
    }
    Ok(dir.join(format!("{:04}_{name}.sql", highest + 1)))
}

fn write_next_migration(dir: &Path, name: &str, sql: &str) -> anyhow::Result<PathBuf> {
    if dir.exists() && !dir.is_dir() {
        anyhow::bail!("{} is not a directory", dir.display());
    }
    let path = next_migration(dir, name)?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // create_new: a file that appeared since the directory was read is
    // never overwritten.
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .with_context(|| format!("creating {} (nothing was overwritten)", path.display()))?;
    file.write_all(sql.as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn tenant(
        name: &str,
        columns: &[&str],
        refs: &[&str],
        unique: &[&str],
    ) -> Result<TenantTable, SpecError> {
        TenantTable::parse(
            name,
            &strings(columns),
            &strings(refs),
            &strings(unique),
            Engine::Postgres,
            &strings(&["ai_model", "ticket_category"]),
        )
    }

    fn error(result: Result<impl fmt::Debug, SpecError>) -> String {
        result.expect_err("refused").0
    }

    #[test]
    fn a_tenant_table_has_the_tenancy_shape() {
        let spec = tenant(
            "comment",
            &["body:text", "edited_at:timestamptz:null"],
            &["ticket"],
            &["body"],
        )
        .unwrap();
        let sql = tenant_table_sql(&spec);
        for part in [
            "create table comment (\n  organization_id uuid not null default app.current_tenant()\n    references organization (id) on delete cascade,\n  id uuid not null default gen_random_uuid(),\n  ticket_id uuid not null,\n  body text not null,\n  edited_at timestamptz,\n  created_at timestamptz not null default now(),\n  updated_at timestamptz not null default now(),\n  primary key (organization_id, id),",
            "constraint comment_ticket_id_fkey foreign key (organization_id, ticket_id)\n    references ticket (organization_id, id) on delete cascade",
            "constraint comment_organization_id_body_key unique (organization_id, body)\n);",
            "create index comment_organization_id_ticket_id_idx on comment (organization_id, ticket_id);",
            "alter table comment enable row level security;\nalter table comment force row level security;",
            "create policy comment_tenant_isolation on comment for all to authenticated\n  using (organization_id = (select app.current_tenant()))\n  with check (organization_id = (select app.current_tenant()));",
            "grant select, insert, update, delete on comment to authenticated;",
            "-- comment: a tenant table, written by `tenantry new tenant-table --engine postgres`.\n",
        ] {
            assert!(sql.contains(part), "missing:\n{part}\nin:\n{sql}");
        }
        assert!(!sql.contains("create_distributed_table"));
    }

    #[test]
    fn every_column_type_maps_to_its_sql_type() {
        let columns: Vec<String> = ColumnType::ALL
            .iter()
            .map(|t| format!("c_{0}:{0}", t.sql()))
            .collect();
        let spec =
            TenantTable::parse("everything", &columns, &[], &[], Engine::Postgres, &[]).unwrap();
        let sql = tenant_table_sql(&spec);
        for t in ColumnType::ALL {
            assert!(
                sql.contains(&format!("  c_{0} {0} not null,\n", t.sql())),
                "{sql}"
            );
        }
    }

    #[test]
    fn the_citus_form_calls_the_tenant_function_directly_and_distributes_the_table() {
        let spec = TenantTable::parse(
            "ticket",
            &strings(&["subject:text"]),
            &[],
            &[],
            Engine::Citus,
            &[],
        )
        .unwrap();
        let sql = tenant_table_sql(&spec);
        assert!(
            sql.contains("  using (organization_id = app.current_tenant())\n  with check (organization_id = app.current_tenant());"),
            "{sql}"
        );
        assert!(!sql.contains("(select app.current_tenant())"), "{sql}");
        assert!(
            sql.contains("organization_id uuid not null\n    references organization (id)"),
            "no default on the distribution column: {sql}"
        );
        let policy = sql.find("create policy").unwrap();
        let distribute = sql
            .find("select create_distributed_table('ticket', 'organization_id', colocate_with => 'member');")
            .unwrap();
        assert!(policy < distribute, "{sql}");
    }

    #[test]
    fn a_reference_table_is_marked_with_its_reason_and_read_only_for_tenants() {
        let spec = ReferenceTable::parse(
            "country",
            "ISO 3166 codes, the same for everyone's",
            &strings(&["code:text", "name:text:null"]),
            Engine::Postgres,
        )
        .unwrap();
        let sql = reference_table_sql(&spec);
        for part in [
            "create table country (\n  id uuid primary key default gen_random_uuid(),\n  code text not null,\n  name text,\n  created_at",
            "comment on table country is 'tenantry:reference-table: ISO 3166 codes, the same for everyone''s';",
            "revoke all on country from public, authenticated;\ngrant select on country to authenticated;",
            "-- Why it holds no tenant data: ISO 3166 codes, the same for everyone's\n",
        ] {
            assert!(sql.contains(part), "missing:\n{part}\nin:\n{sql}");
        }
        assert!(!sql.contains("organization_id uuid"), "{sql}");
        assert!(!sql.contains("create_reference_table"));
        let citus = ReferenceTable {
            engine: Engine::Citus,
            ..spec
        };
        assert!(reference_table_sql(&citus).contains("select create_reference_table('country');"));
    }

    #[test]
    fn malformed_names_are_refused() {
        for bad in [
            "Ticket",
            "1ticket",
            "tick-et",
            "ticket;drop",
            "",
            "_t",
            "tïcket",
        ] {
            let message = error(tenant(bad, &[], &[], &[]));
            assert!(
                message.contains("not a lowercase SQL identifier"),
                "{bad}: {message}"
            );
        }
        assert!(error(tenant("select", &[], &[], &[])).contains("reserved word"));
        assert!(error(tenant(&"t".repeat(49), &[], &[], &[])).contains("longer than 48"));
        for ours in ["project", "user", "audit_log", "tenantry_app_migration"] {
            assert!(
                error(tenant(ours, &[], &[], &[])).contains("tenantry's own tables"),
                "{ours}"
            );
        }
        assert!(
            error(ReferenceTable::parse("member", "x", &[], Engine::Postgres))
                .contains("tenantry's own")
        );
    }

    #[test]
    fn malformed_columns_are_refused() {
        for (column, says) in [
            ("title", "expected NAME:TYPE"),
            ("title:text:notnull", "may only be `null`"),
            ("title:varchar", "unknown type \"varchar\""),
            ("Title:text", "not a lowercase SQL identifier"),
            ("order:integer", "reserved word"),
            ("id:uuid", "generated for every table"),
            ("organization_id:uuid", "generated for every table"),
            ("updated_at:timestamptz", "generated for every table"),
            ("ticket_id:uuid", "generated by --references"),
            ("a:text:null:x", "expected NAME:TYPE"),
        ] {
            let message = error(tenant("comment", &[column], &["ticket"], &[]));
            assert!(message.contains(says), "{column}: {message}");
        }
        assert!(error(tenant("t", &["a:text", "a:integer"], &[], &[])).contains("declared twice"));
    }

    #[test]
    fn bad_references_and_unique_keys_are_refused() {
        assert!(error(tenant("comment", &[], &["Ticket"], &[])).contains("not a lowercase"));
        assert!(
            error(tenant("comment", &[], &["comment"], &[])).contains("cannot reference itself")
        );
        assert!(
            error(tenant("comment", &[], &["organization"], &[]))
                .contains("neither a tenant table nor reference data")
        );
        assert!(error(tenant("comment", &[], &["ticket", "ticket"], &[])).contains("given twice"));
        assert!(
            error(tenant("comment", &["a:text"], &[], &["b"])).contains("not a column of comment")
        );
        assert!(error(tenant("comment", &["a:text"], &[], &["a,a"])).contains("named twice"));
        // A composite key over a reference and a column is fine.
        let spec = tenant("comment", &["a:text"], &["ticket"], &["ticket_id,a"]).unwrap();
        assert!(
            tenant_table_sql(&spec)
                .contains("constraint comment_organization_id_ticket_id_a_key unique (organization_id, ticket_id, a)")
        );
    }

    #[test]
    fn reference_data_is_referenced_by_id() {
        let spec = tenant("ticket", &[], &["ticket_category", "ai_model"], &[]).unwrap();
        let sql = tenant_table_sql(&spec);
        for part in [
            "  ticket_category_id uuid not null,\n  ai_model_id uuid not null,\n",
            "constraint ticket_ticket_category_id_fkey foreign key (ticket_category_id)\n    references ticket_category (id)",
            "constraint ticket_ai_model_id_fkey foreign key (ai_model_id)\n    references ai_model (id)",
            "create index ticket_organization_id_ticket_category_id_idx on ticket (organization_id, ticket_category_id);",
        ] {
            assert!(sql.contains(part), "missing:\n{part}\nin:\n{sql}");
        }
        assert!(error(tenant("ticket", &[], &["user"], &[])).contains("neither a tenant table"));
    }

    #[test]
    fn marked_reference_tables_are_found_in_what_reference_table_writes() {
        let spec = ReferenceTable::parse("country", "codes", &[], Engine::Postgres).unwrap();
        let sql = format!(
            "{}\ncomment on table public.region is 'tenantry:reference-table: regions';\ncomment on table notes is 'free text';",
            reference_table_sql(&spec)
        );
        assert_eq!(marked_reference_tables(&sql), ["country", "region"]);
    }

    #[test]
    fn names_postgres_would_truncate_are_refused() {
        let long = "a".repeat(40);
        let message = error(tenant(&long, &[], &[&"b".repeat(30)], &[]));
        assert!(message.contains("longer than PostgreSQL's 63"), "{message}");
    }

    #[test]
    fn reasons_are_one_non_blank_line() {
        assert!(
            error(ReferenceTable::parse(
                "country",
                "  ",
                &[],
                Engine::Postgres
            ))
            .contains("empty")
        );
        assert!(
            error(ReferenceTable::parse(
                "country",
                "a\nselect 1",
                &[],
                Engine::Postgres
            ))
            .contains("one line")
        );
        assert!(
            error(ReferenceTable::parse(
                "country",
                &"x".repeat(301),
                &[],
                Engine::Postgres
            ))
            .contains("longer than")
        );
    }

    #[test]
    fn the_next_migration_follows_the_highest_number() {
        let dir =
            std::env::temp_dir().join(format!("tenantry-scaffold-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            next_migration(&dir, "ticket").unwrap(),
            dir.join("0001_ticket.sql")
        );
        std::fs::create_dir_all(&dir).unwrap();
        for file in [
            "0001_a.sql",
            "0007_b.sql",
            "README.md",
            "12_c.sql",
            "0009_notes.txt",
        ] {
            std::fs::write(dir.join(file), "").unwrap();
        }
        assert_eq!(
            next_migration(&dir, "ticket").unwrap(),
            dir.join("0008_ticket.sql")
        );
        let message = next_migration(&dir, "b").unwrap_err().to_string();
        assert!(
            message.contains("0007_b.sql already creates b"),
            "{message}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
