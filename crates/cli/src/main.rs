//! `tenantry`: the command line with no application extension.

fn main() -> std::process::ExitCode {
    tenantry_cli::main(tenantry_cli::Extension::default())
}
