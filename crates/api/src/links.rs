//! Where an emailed link may lead.
//!
//! A password-reset or verification link carries a secret, and whoever
//! chooses its target receives it: a target may lead only back to this
//! server (a path) or to a trusted origin. Targets are parsed as a browser
//! parses them (WHATWG URL, the `url` crate): a relative one against
//! [`THIS_SERVER`], a placeholder for this server's origin (the server does
//! not know its public URL), and it must stay on it; an absolute one must be
//! on a trusted origin. The mail then carries the parsed URL written out
//! anew, percent-encoded, never the caller's text, so a mail client cannot
//! read it differently from the check. Control characters are refused
//! outright: parsers drop tabs and newlines silently (`/<TAB>/evil.example`
//! is `//evil.example`), and in a mail's text they forge lines.

use url::{Position, Url};

use crate::error::ApiError;
use crate::origin::TrustedOrigins;

/// Stands for this server's own origin while a target is resolved; the
/// `.invalid` top-level domain is reserved and never resolves.
pub const THIS_SERVER: &str = "http://tenantry.invalid/";

/// The longest target accepted.
pub const MAX_TARGET_CHARS: usize = 2048;

/// A checked link target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkTarget {
    url: Url,
    on_this_server: bool,
}

impl LinkTarget {
    /// Check a caller's `target`: a path on this server or a URL on a
    /// trusted origin, else 400 `INVALID_REDIRECT_URL`.
    pub fn parse(target: &str, trusted: &TrustedOrigins) -> Result<Self, ApiError> {
        let refuse = |why: &str| ApiError::BadRequest {
            code: "INVALID_REDIRECT_URL",
            message: format!("the link target {why}"),
        };
        if target.chars().any(char::is_control) {
            return Err(refuse("must not contain control characters"));
        }
        if target.chars().count() > MAX_TARGET_CHARS {
            return Err(refuse("must be at most 2048 characters"));
        }
        let here = this_server();
        let url = here.join(target).map_err(|_| refuse("is not a URL"))?;
        let refused = || refuse("must be a relative path or a trusted origin");
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refused());
        }
        let on_this_server = url.origin() == here.origin();
        if !on_this_server && !trusted.contains(&url.origin()) {
            return Err(refused());
        }
        let checked = LinkTarget {
            url,
            on_this_server,
        };
        // What the mail carries must read back as what was checked. A path
        // of ours that begins with `//` (`/.//evil.example`, `/a/..//evil`)
        // is written as `//evil.example`, which a browser takes for a host.
        if here.join(&checked.to_string()).as_ref() != Ok(&checked.url) {
            return Err(refused());
        }
        Ok(checked)
    }

    /// A path of this server, written by us.
    pub fn path(path: &str) -> Self {
        LinkTarget {
            url: this_server().join(path).expect("a path joins a base URL"),
            on_this_server: true,
        }
    }

    /// The same target with `name=value` added to its query.
    pub fn with_query(mut self, name: &str, value: &str) -> Self {
        self.url.query_pairs_mut().append_pair(name, value);
        self
    }
}

impl std::fmt::Display for LinkTarget {
    /// A path (with query and fragment) for this server, the whole URL for
    /// a trusted origin; ASCII either way.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.on_this_server {
            f.write_str(&self.url[Position::BeforePath..])
        } else {
            f.write_str(self.url.as_str())
        }
    }
}

fn this_server() -> Url {
    Url::parse(THIS_SERVER).expect("a valid URL")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted() -> TrustedOrigins {
        TrustedOrigins::parse(&["https://app.example".to_owned()]).unwrap()
    }

    fn parsed(target: &str) -> Result<String, &'static str> {
        LinkTarget::parse(target, &trusted())
            .map(|t| t.to_string())
            .map_err(|e| match e {
                ApiError::BadRequest { code, .. } => code,
                other => panic!("{other:?}"),
            })
    }

    #[test]
    fn paths_and_trusted_origins_are_written_out_anew() {
        for (target, written) in [
            ("/reset", "/reset"),
            ("/a/b?c=d", "/a/b?c=d"),
            ("/a b/é", "/a%20b/%C3%A9"),
            ("reset", "/reset"),
            ("/a/../b", "/b"),
            ("https://app.example/welcome", "https://app.example/welcome"),
            ("https://APP.example:443/w#top", "https://app.example/w#top"),
            ("http://tenantry.invalid/x", "/x"),
        ] {
            assert_eq!(parsed(target).as_deref(), Ok(written), "{target:?}");
        }
    }

    #[test]
    fn control_characters_and_other_origins_are_refused() {
        for target in [
            "\t",
            "/reset\n",
            "/reset\r",
            "/x\u{0000}",
            "/x\u{001b}[31m",
            "/x\u{0085}",
            "/\t/evil.example/r",
            "//evil.example",
            "/.//evil.example/r",
            "/a/..//evil.example/r",
            ".//evil.example/r",
            "/.\\/evil.example/r",
            "http://tenantry.invalid//evil.example/r",
            "//tenantry.invalid//evil.example",
            "/\\evil.example",
            "\\/evil.example",
            " //evil.example",
            "https://evil.example",
            "https://app.example.evil.example",
            "https://app.example@evil.example",
            "https://user:pw@app.example/",
            "http://app.example",
            "https://app.example:8443",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "data:text/html,x",
            "mailto:a@b.example",
            "http://[::1",
        ] {
            assert_eq!(parsed(target), Err("INVALID_REDIRECT_URL"), "{target:?}");
        }
        assert_eq!(
            parsed(&format!("/{}", "a".repeat(MAX_TARGET_CHARS))),
            Err("INVALID_REDIRECT_URL")
        );
    }

    #[test]
    fn query_values_are_encoded_and_come_before_the_fragment() {
        let link = LinkTarget::parse("/a?c=d#f", &trusted())
            .unwrap()
            .with_query("token", "T0k")
            .with_query("callbackURL", "https://app.example/w?x=1&y=2");
        assert_eq!(
            link.to_string(),
            "/a?c=d&token=T0k&callbackURL=https%3A%2F%2Fapp.example%2Fw%3Fx%3D1%26y%3D2#f"
        );
        assert_eq!(
            LinkTarget::path("/reset-password")
                .with_query("token", "x")
                .to_string(),
            "/reset-password?token=x"
        );
    }
}
