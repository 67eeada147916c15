//! Scale-out readiness (warnings): what `create_distributed_table(t,
//! 'organization_id')` on every tenant table would need (`docs/scale-out.md`).

use super::catalog::Snapshot;
use super::expr::TENANT_COLUMN;
use super::*;

pub(super) fn check(s: &Snapshot, config: &LintConfig, out: &mut Vec<Finding>) {
    primary_keys(s, out);
    foreign_keys(s, config, out);
}

/// Citus requires the distribution column in every primary key and unique
/// constraint, and its non-blocking shard moves use logical replication,
/// which needs a primary key (the replica identity) to carry UPDATE and
/// DELETE across.
fn primary_keys(s: &Snapshot, out: &mut Vec<Finding>) {
    for table in &s.tables {
        let Some(tenant) = table.tenant_attnum else {
            continue;
        };
        let t = &table.qualified;
        let pk = s
            .constraints
            .iter()
            .find(|c| c.table == table.oid && c.kind == "p");
        match pk {
            None => {
                let finding = Finding::new(
                    &CITUS_PRIMARY_KEY_WITHOUT_TENANT,
                    t,
                    "no primary key: Citus moves shards by logical replication, which needs one to carry updates and deletes; use (organization_id, id)",
                );
                out.push(if table.has_id {
                    finding.fix(format!(
                        "alter table {t} add primary key ({TENANT_COLUMN}, id);"
                    ))
                } else {
                    finding
                });
            }
            Some(pk) if !pk.columns.contains(&tenant) => {
                out.push(
                    Finding::new(
                        &CITUS_PRIMARY_KEY_WITHOUT_TENANT,
                        on_table(&pk.name, table),
                        format!(
                            "primary key ({}) leaves out organization_id: Citus cannot distribute the table by tenant",
                            pk.column_names.join(", ")
                        ),
                    )
                    .fix(format!(
                        "alter table {t} drop constraint {name}, add constraint {name} primary key ({TENANT_COLUMN}, {});",
                        pk.column_names.join(", "),
                        name = pk.name
                    )),
                );
            }
            Some(_) => {}
        }
    }
}

/// A distributed table may reference another distributed table on the
/// distribution column (colocated) or a reference table; a plain table on
/// the coordinator is neither.
fn foreign_keys(s: &Snapshot, config: &LintConfig, out: &mut Vec<Finding>) {
    for con in s.constraints.iter().filter(|c| c.kind == "f") {
        let Some(table) = s.table(con.table).filter(|t| t.is_tenant()) else {
            continue;
        };
        let Some(referenced) = con.referenced.and_then(|oid| s.table(oid)) else {
            continue;
        };
        if referenced.is_tenant() || config.reference_tables.contains(&referenced.name) {
            continue;
        }
        out.push(Finding::new(
            &CITUS_FOREIGN_KEY_TO_NON_REFERENCE_TABLE,
            on_table(&con.name, table),
            format!(
                "references {}, which is neither a tenant table nor reference data: under Citus it would stay on the coordinator, where a distributed table cannot reference it; make it a reference table (and list it with --reference-tables) or drop the foreign key",
                referenced.qualified
            ),
        ));
    }
}
