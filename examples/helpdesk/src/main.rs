//! `helpdesk`: tenantry's command line, serving the help desk too.

fn main() -> std::process::ExitCode {
    tenantry_cli::main(helpdesk::extension())
}
