//! API tokens as an operator writes them into `server.auth.tokens_file`.

use std::process::Command;

/// What `printf %s "$TOKEN" | sha256sum` prints for `token`, from the tool itself: the
/// digest the documentation tells operators to put in the tokens file.
pub fn sha256sum(token: &str) -> String {
    let output = Command::new("sh")
        .args(["-c", "printf %s \"$TOKEN\" | sha256sum"])
        .env("TOKEN", token)
        .output()
        .unwrap_or_else(|e| panic!("cannot run sh and sha256sum: {e}"));
    assert!(output.status.success(), "sha256sum failed");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_else(|| panic!("sha256sum printed nothing"))
        .to_owned()
}
