//! The catalog as the RLS linter (`tenantry-lint`) reads it: one read of
//! `pg_catalog`, returned as plain data, so the lints are pure functions over
//! a [`Snapshot`] and each query here runs once per audit whatever the number
//! of lints.
//!
//! Only world-readable catalogs are used (`pg_class`, `pg_policy`,
//! `pg_roles`, `pg_proc`, ...): the snapshot can be taken by the owner
//! ([`read_as_owner`], for `tenantry audit`) or by the application login
//! itself ([`read_as_app_login`], the start-up check). Objects that belong to
//! an extension are left out: they are not ours to fix.
//!
//! Names are printed schema-qualified with `quote_ident`, so snapshots read
//! the same whatever the connection's `search_path`.

use tokio_postgres::GenericClient;

use crate::client::{self, BypassReason};
use crate::database::Database;
use crate::error::Result;
use crate::statements::Query;

/// What to read: which schemas, and which roles and tables the snapshot
/// describes in detail.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogScope {
    /// The schemas whose tables, policies, views and functions are read.
    pub schemas: Vec<String>,
    /// The application login whose attributes fill [`Snapshot::app_role`].
    /// [`read_as_app_login`] replaces it with the login it connects as.
    pub app_role: String,
    /// Unqualified names of the tables whose privileges fill
    /// [`Snapshot::secrets`].
    pub secret_tables: Vec<String>,
}

/// A table (`relkind` r or p) in one of the audited schemas.
#[derive(Clone, Debug)]
pub struct Table {
    /// `pg_class.oid`: what policies, constraints and indexes point at.
    pub oid: u32,
    /// Unqualified, unquoted: matched against the configured lists.
    pub name: String,
    /// `schema.table`, quoted where needed: used in findings and fixes.
    pub qualified: String,
    /// The schema, quoted where needed.
    pub schema: String,
    /// Row-level security is enabled (`relrowsecurity`).
    pub rls: bool,
    /// Row-level security applies to the owner too (`relforcerowsecurity`).
    pub forced: bool,
    /// The owning role's name.
    pub owner: String,
    /// The name of the role owning the table's schema.
    pub schema_owner: String,
    /// The `organization_id` column's number; `Some` makes a tenant table.
    pub tenant_attnum: Option<i16>,
    /// It has a column named `id`.
    pub has_id: bool,
    /// The table's comment (`comment on table`), if any: where a reference
    /// table gives its reason ([`REFERENCE_TABLE_MARKER`]).
    pub comment: Option<String>,
    /// Citus distributes it (a row of `pg_dist_partition` other than a
    /// reference table's): its policies must call the tenant function
    /// without a subquery, which Citus refuses there. Always false without
    /// Citus.
    pub citus_distributed: bool,
    /// What `authenticated` may write here (`INSERT`, `UPDATE` on any
    /// column, `DELETE`, `TRUNCATE`), through its grants or PUBLIC's.
    pub tenant_role_writes: Vec<String>,
}

/// How a table declares in the database itself that it holds no tenant data:
/// a comment `tenantry:reference-table: <reason>`. `tenantry audit` cannot
/// read an application's code, only its catalog, so the declaration and its
/// reason live where the audit sees them and where review of the migration
/// sees them.
pub const REFERENCE_TABLE_MARKER: &str = "tenantry:reference-table:";

impl Table {
    /// A tenant table is one with an `organization_id` column.
    pub fn is_tenant(&self) -> bool {
        self.tenant_attnum.is_some()
    }

    /// The reason given by a [`REFERENCE_TABLE_MARKER`] comment, when the
    /// comment starts with the marker and the reason is not blank.
    pub fn reference_table_reason(&self) -> Option<&str> {
        reference_table_reason(self.comment.as_deref()?)
    }

    /// The comment starts with [`REFERENCE_TABLE_MARKER`], whether or not
    /// it gives a reason.
    pub fn has_reference_table_marker(&self) -> bool {
        self.comment
            .as_deref()
            .is_some_and(|c| c.starts_with(REFERENCE_TABLE_MARKER))
    }
}

/// The reason in a table comment that starts with
/// [`REFERENCE_TABLE_MARKER`]; `None` without the marker or with a blank
/// reason, which declares nothing.
pub fn reference_table_reason(comment: &str) -> Option<&str> {
    let reason = comment.strip_prefix(REFERENCE_TABLE_MARKER)?.trim();
    (!reason.is_empty()).then_some(reason)
}

/// A row of `pg_policy`.
#[derive(Clone, Debug)]
pub struct Policy {
    /// The oid of the table it is on.
    pub table: u32,
    /// Quoted where needed.
    pub name: String,
    /// `r`, `a`, `w`, `d` or `*`, as in `pg_policy.polcmd`.
    pub command: String,
    /// Permissive (OR-ed) rather than restrictive (AND-ed).
    pub permissive: bool,
    /// Role names; `public` for PUBLIC.
    pub roles: Vec<String>,
    /// The USING expression as `pg_get_expr` prints it.
    pub using: Option<String>,
    /// The WITH CHECK expression as `pg_get_expr` prints it.
    pub with_check: Option<String>,
}

/// A primary key, unique or foreign key constraint.
#[derive(Clone, Debug)]
pub struct Constraint {
    /// The oid of the table it is on.
    pub table: u32,
    /// Quoted where needed.
    pub name: String,
    /// `p`, `u` or `f`.
    pub kind: String,
    /// Column numbers of its key, in key order.
    pub columns: Vec<i16>,
    /// The same columns by name, quoted where needed.
    pub column_names: Vec<String>,
    /// Foreign keys only: the referenced table's oid.
    pub referenced: Option<u32>,
    /// Foreign keys only: column numbers in the referenced table.
    pub referenced_columns: Vec<i16>,
    /// Foreign keys only: the referenced columns by name.
    pub referenced_column_names: Vec<String>,
}

/// An index, with its key columns (0 for an expression).
#[derive(Clone, Debug)]
pub struct Index {
    /// The oid of the table it indexes.
    pub table: u32,
    /// Quoted where needed.
    pub name: String,
    /// Key column numbers, in key order (0 for an expression).
    pub columns: Vec<i16>,
    /// The same columns by name; `(expression)` for an expression.
    pub column_names: Vec<String>,
    /// A unique index.
    pub unique: bool,
    /// True when a primary key, unique or exclusion constraint owns it
    /// (reported through the constraint instead).
    pub backs_constraint: bool,
}

/// A view or materialized view in an audited schema.
#[derive(Clone, Debug)]
pub struct View {
    /// `pg_class.oid`, as in [`Snapshot::view_edges`].
    pub oid: u32,
    /// `schema.view`, quoted where needed.
    pub qualified: String,
    /// A materialized view, which stores rows rather than reading them.
    pub materialized: bool,
    /// `security_invoker` is set: it reads with its caller's rights.
    pub security_invoker: bool,
}

/// A function or procedure in an audited schema.
#[derive(Clone, Debug)]
pub struct Function {
    /// `schema.name(argument types)`.
    pub signature: String,
    /// `SECURITY DEFINER`: it runs with its owner's rights.
    pub security_definer: bool,
    /// Its `SET` clauses as `name=value` (`pg_proc.proconfig`).
    pub config: Vec<String>,
    /// Its body's text (`pg_proc.prosrc`).
    pub source: String,
    /// `authenticated` may execute it, directly or through PUBLIC.
    pub executable_by_tenant_role: bool,
    /// Tables its body depends on (recorded for `BEGIN ATOMIC` bodies only).
    pub table_dependencies: Vec<u32>,
}

/// The application's login role.
#[derive(Clone, Debug)]
pub struct AppRole {
    /// `rolsuper`: RLS never applies to it.
    pub superuser: bool,
    /// `rolbypassrls`: policies do not apply to it.
    pub bypass_rls: bool,
    /// Roles whose privileges it has without `SET ROLE`.
    pub inherited: Vec<String>,
}

/// Privileges on one of the secrets tables.
#[derive(Clone, Debug)]
pub struct SecretGrants {
    /// `schema.table`, quoted where needed.
    pub qualified: String,
    /// What `authenticated` can do (through its own grants, PUBLIC or roles
    /// it inherits).
    pub tenant_role: Vec<String>,
    /// What is granted to PUBLIC (table or column level).
    pub public: Vec<String>,
}

/// Everything the lints need.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// Tables of the audited schemas, by qualified name.
    pub tables: Vec<Table>,
    /// Policies on those tables.
    pub policies: Vec<Policy>,
    /// Primary key, unique and foreign key constraints on those tables.
    pub constraints: Vec<Constraint>,
    /// Indexes on those tables.
    pub indexes: Vec<Index>,
    /// Views and materialized views of the audited schemas.
    pub views: Vec<View>,
    /// `(view, relation it reads)`, for every view of the database.
    pub view_edges: Vec<(u32, u32)>,
    /// Functions and procedures of the audited schemas, other than C and
    /// internal ones.
    pub functions: Vec<Function>,
    /// The login [`Snapshot::app_role`] describes: the scope's, or the one
    /// [`read_as_app_login`] connected as.
    pub app_login: String,
    /// `None` when that role does not exist.
    pub app_role: Option<AppRole>,
    /// Grants on the scope's secrets tables that exist in the audited schemas.
    pub secrets: Vec<SecretGrants>,
    /// The database's name.
    pub database: String,
    /// Which of the application login, the bare client's login and
    /// `authenticated` may create temporary tables in the database (a
    /// superuser login is reported as such, not again here).
    pub temp_roles: Vec<String>,
    /// `server_version_num`: role inheritance changed in PostgreSQL 16.
    pub server_version: i32,
    /// Tables (qualified) in schemas the scope does not audit, other than
    /// PostgreSQL's own and those extensions own: nothing reads their
    /// policies, so each is a finding of its own.
    pub unaudited_tables: Vec<String>,
}

impl Snapshot {
    /// The table with this oid, if it is in an audited schema.
    pub fn table(&self, oid: u32) -> Option<&Table> {
        self.tables.iter().find(|t| t.oid == oid)
    }
}

/// The role every policy names (docs/architecture.md invariant 3).
pub const TENANT_ROLE: &str = "authenticated";

/// The catalog through the owner connection (reason `Migration`: auditing
/// the schema is the migrator's business).
#[tracing::instrument(skip_all)]
pub async fn read_as_owner(db: &Database, scope: &CatalogScope) -> Result<Snapshot> {
    let conn = client::bare(db, BypassReason::Migration).await?;
    let client: &tokio_postgres::Client = conn.connection();
    read(client, scope).await
}

/// The catalog through the tenant pool's own login, as the server will run:
/// [`Snapshot::app_role`] describes the login the pool actually connects as,
/// whatever `scope.app_role` names, and no owner connection is needed.
#[tracing::instrument(skip_all)]
pub async fn read_as_app_login(db: &Database, scope: &CatalogScope) -> Result<Snapshot> {
    let conn = client::bare(db, BypassReason::SafetyCheck).await?;
    let login: String = conn
        .query_one("select session_user::text", &[])
        .await?
        .get(0);
    let scope = CatalogScope {
        app_role: login,
        ..scope.clone()
    };
    let client: &tokio_postgres::Client = conn.connection();
    read(client, &scope).await
}

/// Excludes objects that an extension owns; `$class` is their catalog.
macro_rules! not_from_extension {
    ($class:literal, $oid:literal) => {
        concat!(
            "not exists (select 1 from pg_catalog.pg_depend e where e.classid = '",
            $class,
            "'::regclass and e.objid = ",
            $oid,
            " and e.deptype = 'e')"
        )
    };
}

/// The catalog as `client` sees it. Any role can take it: the catalogs read
/// are world-readable, and the result does not depend on who reads.
pub async fn read<C: GenericClient + Sync>(client: &C, scope: &CatalogScope) -> Result<Snapshot> {
    let schemas = &scope.schemas;
    let tenant_role: Option<u32> = client
        .query_opt(
            "select oid from pg_catalog.pg_roles where rolname = $1",
            &[&TENANT_ROLE],
        )
        .await?
        .map(|row| row.get(0));

    // pg_dist_partition exists only where the citus extension is installed,
    // so it is looked for before it is read.
    let citus_distributed: Vec<u32> = if client
        .query_one(
            "select to_regclass('pg_catalog.pg_dist_partition') is not null",
            &[],
        )
        .await?
        .get(0)
    {
        client
            .query(
                "select logicalrelid::oid from pg_catalog.pg_dist_partition where partmethod <> 'n'",
                &[],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect()
    } else {
        Vec::new()
    };

    let tables = client
        .query(
            concat!(
                "select c.oid, c.relname::text,
                        quote_ident(n.nspname) || '.' || quote_ident(c.relname),
                        quote_ident(n.nspname),
                        c.relrowsecurity, c.relforcerowsecurity,
                        pg_get_userbyid(c.relowner)::text, pg_get_userbyid(n.nspowner)::text,
                        (select a.attnum from pg_catalog.pg_attribute a
                         where a.attrelid = c.oid and a.attname = 'organization_id'
                           and not a.attisdropped),
                        exists (select 1 from pg_catalog.pg_attribute a
                                where a.attrelid = c.oid and a.attname = 'id'
                                  and not a.attisdropped),
                        pg_catalog.obj_description(c.oid, 'pg_class'),
                        case when $2::oid is null then '{}'::text[] else
                          array(select p from unnest(array['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p
                                where case when p in ('INSERT', 'UPDATE')
                                           then has_any_column_privilege($2::oid, c.oid, p)
                                           else has_table_privilege($2::oid, c.oid, p) end)
                        end
                 from pg_catalog.pg_class c
                 join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                 where c.relkind in ('r', 'p') and n.nspname = any($1) and ",
                not_from_extension!("pg_class", "c.oid"),
                " order by 3"
            ),
            &[schemas, &tenant_role],
        )
        .await?
        .iter()
        .map(|r| Table {
            oid: r.get(0),
            name: r.get(1),
            qualified: r.get(2),
            schema: r.get(3),
            rls: r.get(4),
            forced: r.get(5),
            owner: r.get(6),
            schema_owner: r.get(7),
            tenant_attnum: r.get(8),
            has_id: r.get(9),
            comment: r.get(10),
            citus_distributed: citus_distributed.contains(&r.get(0)),
            tenant_role_writes: r.get(11),
        })
        .collect();

    let policies = client
        .query(
            "select p.polrelid, quote_ident(p.polname), p.polcmd::text, p.polpermissive,
                    array(select case when r = 0 then 'public' else pg_get_userbyid(r)::text end
                          from unnest(p.polroles) r order by 1),
                    pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
             from pg_catalog.pg_policy p
             join pg_catalog.pg_class c on c.oid = p.polrelid
             join pg_catalog.pg_namespace n on n.oid = c.relnamespace
             where n.nspname = any($1)
             order by p.polrelid, p.polname",
            &[schemas],
        )
        .await?
        .iter()
        .map(|r| Policy {
            table: r.get(0),
            name: r.get(1),
            command: r.get(2),
            permissive: r.get(3),
            roles: r.get(4),
            using: r.get(5),
            with_check: r.get(6),
        })
        .collect();

    let constraints = client
        .query(
            "select con.conrelid, quote_ident(con.conname), con.contype::text,
                    con.conkey,
                    array(select quote_ident(a.attname)
                          from unnest(con.conkey) with ordinality k(attnum, i)
                          join pg_catalog.pg_attribute a
                            on a.attrelid = con.conrelid and a.attnum = k.attnum
                          order by k.i),
                    nullif(con.confrelid, 0::oid),
                    coalesce(con.confkey, '{}'),
                    array(select quote_ident(a.attname)
                          from unnest(con.confkey) with ordinality k(attnum, i)
                          join pg_catalog.pg_attribute a
                            on a.attrelid = con.confrelid and a.attnum = k.attnum
                          order by k.i)
             from pg_catalog.pg_constraint con
             join pg_catalog.pg_class c on c.oid = con.conrelid
             join pg_catalog.pg_namespace n on n.oid = c.relnamespace
             where con.contype in ('p', 'u', 'f') and n.nspname = any($1)
             order by con.conrelid, con.conname",
            &[schemas],
        )
        .await?
        .iter()
        .map(|r| Constraint {
            table: r.get(0),
            name: r.get(1),
            kind: r.get(2),
            columns: r.get(3),
            column_names: r.get(4),
            referenced: r.get(5),
            referenced_columns: r.get(6),
            referenced_column_names: r.get(7),
        })
        .collect();

    let indexes = client
        .query(
            "select i.indrelid, quote_ident(ic.relname),
                    (i.indkey::int2[])[0:i.indnkeyatts - 1],
                    array(select coalesce(quote_ident(a.attname), '(expression)')
                          from unnest((i.indkey::int2[])[0:i.indnkeyatts - 1])
                               with ordinality k(attnum, n)
                          left join pg_catalog.pg_attribute a
                            on a.attrelid = i.indrelid and a.attnum = k.attnum
                          order by k.n),
                    i.indisunique,
                    exists (select 1 from pg_catalog.pg_constraint con
                            where con.conindid = i.indexrelid and con.conrelid = i.indrelid
                              and con.contype in ('p', 'u', 'x'))
             from pg_catalog.pg_index i
             join pg_catalog.pg_class ic on ic.oid = i.indexrelid
             join pg_catalog.pg_class c on c.oid = i.indrelid
             join pg_catalog.pg_namespace n on n.oid = c.relnamespace
             where n.nspname = any($1)
             order by i.indrelid, ic.relname",
            &[schemas],
        )
        .await?
        .iter()
        .map(|r| Index {
            table: r.get(0),
            name: r.get(1),
            columns: r.get(2),
            column_names: r.get(3),
            unique: r.get(4),
            backs_constraint: r.get(5),
        })
        .collect();

    let views = client
        .query(
            concat!(
                "select c.oid, quote_ident(n.nspname) || '.' || quote_ident(c.relname),
                        c.relkind = 'm',
                        coalesce((select lower(o.option_value)
                                  from pg_catalog.pg_options_to_table(c.reloptions) o
                                  where o.option_name = 'security_invoker'), 'false')
                          in ('true', 'on', 'yes', '1')
                 from pg_catalog.pg_class c
                 join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                 where c.relkind in ('v', 'm') and n.nspname = any($1) and ",
                not_from_extension!("pg_class", "c.oid"),
                " order by 2"
            ),
            &[schemas],
        )
        .await?
        .iter()
        .map(|r| View {
            oid: r.get(0),
            qualified: r.get(1),
            materialized: r.get(2),
            security_invoker: r.get(3),
        })
        .collect();

    // Every view's direct reads, in any schema: a view in an audited schema
    // may reach a tenant table through views elsewhere.
    let view_edges = client
        .query(
            "select distinct r.ev_class, d.refobjid
             from pg_catalog.pg_rewrite r
             join pg_catalog.pg_class v on v.oid = r.ev_class and v.relkind in ('v', 'm')
             join pg_catalog.pg_depend d
               on d.classid = 'pg_catalog.pg_rewrite'::regclass and d.objid = r.oid
             where d.refclassid = 'pg_catalog.pg_class'::regclass
               and d.refobjid <> r.ev_class",
            &[],
        )
        .await?
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();

    let functions = client
        .query(
            concat!(
                "select quote_ident(n.nspname) || '.' || quote_ident(p.proname)
                          || '(' || pg_get_function_identity_arguments(p.oid) || ')',
                        p.prosecdef, coalesce(p.proconfig, '{}'), coalesce(p.prosrc, ''),
                        coalesce($2::oid is not null
                                 and has_function_privilege($2::oid, p.oid, 'EXECUTE'), false),
                        array(select d.refobjid from pg_catalog.pg_depend d
                              where d.classid = 'pg_catalog.pg_proc'::regclass
                                and d.objid = p.oid
                                and d.refclassid = 'pg_catalog.pg_class'::regclass)
                 from pg_catalog.pg_proc p
                 join pg_catalog.pg_namespace n on n.oid = p.pronamespace
                 join pg_catalog.pg_language l on l.oid = p.prolang
                 where n.nspname = any($1) and p.prokind in ('f', 'p')
                   and l.lanname not in ('c', 'internal') and ",
                not_from_extension!("pg_proc", "p.oid"),
                " order by 1"
            ),
            &[schemas, &tenant_role],
        )
        .await?
        .iter()
        .map(|r| Function {
            signature: r.get(0),
            security_definer: r.get(1),
            config: r.get(2),
            source: r.get(3),
            executable_by_tenant_role: r.get(4),
            table_dependencies: r.get(5),
        })
        .collect();

    // Builtin pg_* roles are left out of `inherited`: granting, say,
    // pg_monitor to the login for metrics gives it no tenant data.
    let app_role = client
        .query_opt(
            "select r.rolsuper, r.rolbypassrls,
                    array(select b.rolname::text from pg_catalog.pg_roles b
                          where b.oid <> r.oid and b.rolname !~ '^pg_'
                            and pg_has_role(r.oid, b.oid, 'USAGE')
                          order by 1)
             from pg_catalog.pg_roles r where r.rolname = $1",
            &[&scope.app_role],
        )
        .await?
        .map(|r| AppRole {
            superuser: r.get(0),
            bypass_rls: r.get(1),
            inherited: r.get(2),
        });

    let secrets = client
        .query(
            "select quote_ident(n.nspname) || '.' || quote_ident(c.relname),
                    case when $3::oid is null then '{}'::text[] else array_remove(array[
                      case when has_any_column_privilege($3::oid, c.oid, 'SELECT') then 'SELECT' end,
                      case when has_any_column_privilege($3::oid, c.oid, 'INSERT') then 'INSERT' end,
                      case when has_any_column_privilege($3::oid, c.oid, 'UPDATE') then 'UPDATE' end,
                      case when has_table_privilege($3::oid, c.oid, 'DELETE') then 'DELETE' end,
                      case when has_table_privilege($3::oid, c.oid, 'TRUNCATE') then 'TRUNCATE' end,
                      case when has_any_column_privilege($3::oid, c.oid, 'REFERENCES') then 'REFERENCES' end,
                      case when has_table_privilege($3::oid, c.oid, 'TRIGGER') then 'TRIGGER' end
                    ]::text[], null) end,
                    array(select distinct a.privilege_type::text
                          from (select t.grantee, t.privilege_type
                                from aclexplode(c.relacl) t
                                union all
                                select t.grantee, t.privilege_type
                                from pg_catalog.pg_attribute col, aclexplode(col.attacl) t
                                where col.attrelid = c.oid and not col.attisdropped) a
                          where a.grantee = 0
                          order by 1)
             from pg_catalog.pg_class c
             join pg_catalog.pg_namespace n on n.oid = c.relnamespace
             where c.relkind in ('r', 'p') and n.nspname = any($1) and c.relname = any($2)
             order by 1",
            &[schemas, &scope.secret_tables, &tenant_role],
        )
        .await?
        .iter()
        .map(|r| SecretGrants {
            qualified: r.get(0),
            tenant_role: r.get(1),
            public: r.get(2),
        })
        .collect();

    let temp = client
        .query_one(
            "select current_database()::text,
                    array(select r.rolname::text from pg_catalog.pg_roles r
                          where r.rolname = any(array[$1, $2, $3]::text[]) and not r.rolsuper
                            and has_database_privilege(r.oid, current_database(), 'TEMPORARY')
                          order by 1)",
            &[&scope.app_role, &TENANT_ROLE, &crate::setup::BARE_ROLE],
        )
        .await?;

    let server_version: i32 = client
        .query_one("select current_setting('server_version_num')::int", &[])
        .await?
        .get(0);

    let unaudited_tables = client
        .query(
            concat!(
                "select quote_ident(n.nspname) || '.' || quote_ident(c.relname)
                 from pg_catalog.pg_class c
                 join pg_catalog.pg_namespace n on n.oid = c.relnamespace
                 where c.relkind in ('r', 'p') and n.nspname <> all($1)
                   and n.nspname <> 'information_schema' and n.nspname not like 'pg\\_%' and ",
                not_from_extension!("pg_class", "c.oid"),
                " order by 1"
            ),
            &[schemas],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();

    Ok(Snapshot {
        server_version,
        app_login: scope.app_role.clone(),
        tables,
        policies,
        constraints,
        indexes,
        views,
        view_edges,
        functions,
        app_role,
        secrets,
        database: temp.get(0),
        temp_roles: temp.get(1),
        unaudited_tables,
    })
}

#[cfg(test)]
mod tests {
    use super::reference_table_reason;

    #[test]
    fn a_reference_table_marker_counts_only_with_a_reason() {
        assert_eq!(
            reference_table_reason(
                "tenantry:reference-table: country codes, the same for everyone"
            ),
            Some("country codes, the same for everyone")
        );
        assert_eq!(reference_table_reason("tenantry:reference-table:"), None);
        assert_eq!(reference_table_reason("tenantry:reference-table:   "), None);
        assert_eq!(reference_table_reason("country codes"), None);
        assert_eq!(
            reference_table_reason("see tenantry:reference-table: not at the start"),
            None
        );
    }
}
