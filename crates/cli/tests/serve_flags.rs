//! `tenantry serve`'s abuse-limit flags refuse what they cannot use before
//! anything starts, naming the bad value.

use std::process::{Command, Output};

fn serve(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantry"));
    command
        .arg("serve")
        .args(args)
        .env_remove("TENANTRY_TRUSTED_PROXIES")
        .env_remove("TENANTRY_RATE_LIMIT")
        // Nothing may be reached if the flags are refused; this makes sure of it.
        .env("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("tenantry runs")
}

fn refused_naming(output: Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(needle), "{stderr}");
}

#[test]
fn a_trusted_proxy_that_is_no_address_or_network_is_refused_by_name() {
    refused_naming(
        serve(&["--trusted-proxy", "10.0.0.0/33"], &[]),
        "10.0.0.0/33",
    );
    refused_naming(
        serve(
            &[],
            &[("TENANTRY_TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal")],
        ),
        "proxy.internal",
    );
}

#[test]
fn rate_limit_is_on_or_off() {
    refused_naming(serve(&["--rate-limit", "sometimes"], &[]), "sometimes");
    refused_naming(
        serve(&[], &[("TENANTRY_RATE_LIMIT", "no")]),
        "possible values",
    );
}
