use super::prelude::*;

pub(crate) const LINT: Lint = Lint {
    name: "app_role_missing",
    level: Level::Error,
    category: Category::Security,
    summary: "The configured application login role does not exist, so it cannot be checked.",
    doc: r#"
The configured application role does not exist, so the `app_role_*` lints
cannot check it. Usually a wrong `--app-role`. (`tenantry serve` checks the role
its pool actually logs in as, which always exists.)

Fix: pass the login the application connects as: `tenantry audit --app-role app_login`.
"#,
    check,
};

fn check(s: &Snapshot, _: &LintConfig, out: &mut Vec<Finding>) {
    if s.app_role.is_none() {
        out.push(Finding::new(
            &LINT,
            &s.app_login,
            "no such role: the login the application connects as cannot be checked (pass the right one with --app-role)",
        ));
    }
}
