//! `tenantry pat create --scope --organization`, `pat list` and `pat check`,
//! run as the real binary: what an operator mints is what the server then
//! enforces, and `pat check` tells a token from a look-alike offline.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use tenantry_db::seed::demo;
use tenantry_testkit::TestDb;

fn tenantry(test: Option<&TestDb>, args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tenantry"));
    command.args(args).env_remove("RUST_LOG");
    match test {
        Some(test) => {
            let config = test.db.config();
            command
                .env("DATABASE_URL", config.owner_url.clone().unwrap())
                .env("TENANTRY_APP_DATABASE_URL", &config.app_url)
                .env("TENANTRY_BARE_DATABASE_URL", &config.bare_url);
        }
        // No database at all: an unreachable one proves none is asked.
        None => {
            command.env(
                "DATABASE_URL",
                "postgresql://nobody:nothing@127.0.0.1:9/none",
            );
        }
    }
    command.output().expect("tenantry runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn pat_create_binds_and_scopes_and_pat_list_shows_it() {
    let test = TestDb::new().await;
    tenantry_db::seed(&test.db).await.unwrap();
    let made = tenantry(
        Some(&test),
        &[
            "pat",
            "create",
            "--email",
            "alice@example.com",
            "--name",
            "agent",
            "--scope",
            "read",
            "--organization",
            "globex",
        ],
    );
    assert!(made.status.success(), "{}", text(&made.stderr));
    let token = text(&made.stdout).trim().to_owned();
    assert!(token.starts_with("tnty_") && token.len() == 43, "{token}");
    let note = text(&made.stderr);
    assert!(
        note.contains(&format!("scopes read, organization {}", demo::GLOBEX)),
        "{note}"
    );

    let stored = test
        .owner()
        .await
        .query_one(
            "select scopes, bound_organization_id from personal_access_token where token_prefix = $1",
            &[&&token[..13]],
        )
        .await
        .unwrap();
    assert_eq!(stored.get::<_, Vec<String>>(0), ["read"]);
    assert_eq!(stored.get::<_, Option<uuid::Uuid>>(1), Some(demo::GLOBEX));

    let listed = tenantry(
        Some(&test),
        &["pat", "list", "--email", "alice@example.com"],
    );
    let listing = text(&listed.stdout);
    let line = listing
        .lines()
        .find(|l| l.contains("agent"))
        .unwrap_or_else(|| panic!("{listing}"));
    assert!(
        line.contains(&token[..13])
            && line.contains(&format!("scopes read, organization {}", demo::GLOBEX)),
        "{line}"
    );

    let full = tenantry(
        Some(&test),
        &[
            "pat",
            "create",
            "--email",
            "alice@example.com",
            "--name",
            "full",
        ],
    );
    assert!(
        text(&full.stderr).contains("scopes read,write, every organization"),
        "{}",
        text(&full.stderr)
    );
}

#[tokio::test]
async fn pat_create_refuses_bad_scopes_and_foreign_organizations() {
    let test = TestDb::new().await;
    tenantry_db::seed(&test.db).await.unwrap();
    let cases: [(&[&str], &str); 3] = [
        (&["--scope", "admin"], "--scope: unknown scope \"admin\""),
        // Carol is in Initech only.
        (
            &["--organization", "acme"],
            "is not a member of organization acme",
        ),
        (
            &["--organization", "no-such-org"],
            "no organization has the id or slug",
        ),
    ];
    for (extra, expected) in cases {
        let mut args = vec![
            "pat",
            "create",
            "--email",
            "carol@example.com",
            "--name",
            "x",
        ];
        args.extend_from_slice(extra);
        let refused = tenantry(Some(&test), &args);
        assert!(!refused.status.success(), "{extra:?}");
        assert!(refused.stdout.is_empty(), "{extra:?}: printed a token");
        let error = text(&refused.stderr);
        assert!(error.contains(expected), "{extra:?}: {error}");
    }
    let count: i64 = test
        .owner()
        .await
        .query_one("select count(*) from personal_access_token", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 0, "a refused create stored a token");
}

#[test]
fn pat_check_tells_tokens_from_look_alikes_without_a_database() {
    let token = tenantry_auth::mint_pat().token;
    let good = tenantry(None, &["pat", "check", &token]);
    assert!(
        good.status.success(),
        "{}{}",
        text(&good.stdout),
        text(&good.stderr)
    );
    assert!(text(&good.stdout).contains(&format!("well-formed tenantry token {}", &token[..13])));

    let mut typo = token.clone().into_bytes();
    typo[20] = if typo[20] == b'x' { b'y' } else { b'x' };
    let typo = String::from_utf8(typo).unwrap();
    let bad = tenantry(None, &["pat", "check", &typo]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stdout).contains("checksum does not match"),
        "{}",
        text(&bad.stdout)
    );

    for look_alike in ["ghp_0123456789abcdefghijklmnopqrstuvwxyz", "tnty_short"] {
        let not = tenantry(None, &["pat", "check", look_alike]);
        assert_eq!(not.status.code(), Some(1), "{look_alike}");
        assert!(
            text(&not.stdout).contains("not a tenantry token"),
            "{look_alike}"
        );
    }

    // From stdin, which keeps the token out of the process list.
    let mut child = Command::new(env!("CARGO_BIN_EXE_tenantry"))
        .args(["pat", "check", "-"])
        .env(
            "DATABASE_URL",
            "postgresql://nobody:nothing@127.0.0.1:9/none",
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{token}").unwrap();
    let piped = child.wait_with_output().unwrap();
    assert!(piped.status.success(), "{}", text(&piped.stdout));
}

/// docs/tokens.md's checker for secret scanners, run as written (python3, as
/// the MCP client tests need anyway): it must accept minted tokens and turn
/// away each one-character corruption, as the server does.
#[test]
fn the_documented_scanner_snippet_agrees_with_the_server() {
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/tokens.md"),
    )
    .unwrap();
    let snippet = doc
        .split("```python\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/tokens.md has a python block");
    let tokens: Vec<String> = (0..20).map(|_| tenantry_auth::mint_pat().token).collect();
    let mut corrupted = Vec::new();
    for token in &tokens {
        let mut bytes = token.clone().into_bytes();
        let at = 5 + (bytes[6] as usize % 38);
        bytes[at] = if bytes[at] == b'Q' { b'R' } else { b'Q' };
        corrupted.push(String::from_utf8(bytes).unwrap());
    }
    for bad in &corrupted {
        assert!(tenantry_auth::parse_pat(bad).is_err(), "{bad}");
    }
    let program = format!(
        "{snippet}\nimport json, sys\ngood, bad = json.load(sys.stdin)\n\
         assert all(is_tenantry_token(t) for t in good), 'a minted token was refused'\n\
         assert not any(is_tenantry_token(t) for t in bad), 'a corrupted token passed'\n\
         assert PATTERN.findall('x=' + good[0] + ';') == [good[0]]\n\
         print('agreed')\n"
    );
    let mut child = Command::new("python3")
        .args(["-c", &program])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let input = serde_json::to_string(&(&tokens, &corrupted)).unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && text(&out.stdout).contains("agreed"),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}
