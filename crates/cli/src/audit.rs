//! `tenantry audit`: run the schema lints and report, for people or for CI.

use anyhow::{Context, bail};
use tenantry_lint::{self as lint, Finding, Level, LintConfig};

use crate::database::Target;

/// How findings are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One line per finding, its fix indented below, then a summary.
    Text,
    /// A JSON array of findings (lint, level, category, object, message, fix).
    Json,
}

/// Options of `tenantry audit`.
#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// The application's login role [default: tenantry_app].
    #[arg(long)]
    app_role: Option<String>,
    /// Tables allowed to lack organization_id (comma-separated; replaces the
    /// default list): a bare name for a table in public, schema.table elsewhere.
    #[arg(long, value_delimiter = ',')]
    non_tenant_tables: Option<Vec<String>>,
    /// Non-tenant tables tenant tables may reference, reference tables under
    /// Citus (comma-separated; replaces the default list).
    #[arg(long, value_delimiter = ',')]
    reference_tables: Option<Vec<String>>,
    /// Schemas to audit (comma-separated) [default: public,app].
    #[arg(long, value_delimiter = ',')]
    schemas: Option<Vec<String>>,
}

impl AuditArgs {
    fn config(self) -> LintConfig {
        let mut config = LintConfig::default();
        if let Some(role) = self.app_role {
            config.app_role = role;
        }
        if let Some(tables) = self.non_tenant_tables {
            config.non_tenant_tables = tables;
        }
        if let Some(tables) = self.reference_tables {
            config.reference_tables = tables;
        }
        if let Some(schemas) = self.schemas {
            config.schemas = schemas;
        }
        config
    }
}

/// Print every finding; fail (exit status 1) when any is an error.
pub async fn audit(target: &Target, args: AuditArgs) -> anyhow::Result<()> {
    let format = args.format;
    let config = args.config();
    let db = target.connect().await?;
    let findings = lint::audit(&db, &config)
        .await
        .context("reading the catalog")?;
    match format {
        Format::Json => println!("{}", lint::to_json(&findings)),
        Format::Text => print!("{}", text(&findings)),
    }
    let errors = findings.iter().filter(|f| f.level == Level::Error).count();
    if errors > 0 {
        bail!("audit failed: {errors} error(s)");
    }
    Ok(())
}

fn text(findings: &[Finding]) -> String {
    let mut out = String::new();
    for finding in findings {
        let level = finding.level.to_string().to_uppercase();
        out.push_str(&format!(
            "{level:<7} {} {}: {}\n",
            finding.lint, finding.object, finding.message
        ));
        if let Some(fix) = &finding.fix {
            out.push_str(&format!("        fix: {fix}\n"));
        }
    }
    let count = |level| findings.iter().filter(|f| f.level == level).count();
    out.push_str(&format!(
        "audit: {} error(s), {} warning(s), {} lints checked\n",
        count(Level::Error),
        count(Level::Warning),
        lint::LINTS.len()
    ));
    out
}
