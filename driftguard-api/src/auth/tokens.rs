//! The tokens file: a YAML list of named tokens, each kept only as the SHA-256 of the
//! token, with its scopes; and the constant-time lookup of a presented token.
//!
//! ```yaml
//! - name: dashboard
//!   token_sha256: 3a5e…   # printf %s "$TOKEN" | sha256sum
//!   scopes: [read]
//! - name: ci
//!   token_sha256: 9c1f…
//!   scopes: [read, analyze]
//! ```

use std::collections::HashMap;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use crate::Error;

/// A SHA-256 digest.
pub(crate) type Digest256 = [u8; 32];

/// The SHA-256 of `bytes`.
pub(crate) fn sha256(bytes: &[u8]) -> Digest256 {
    Sha256::digest(bytes).into()
}

/// Longest token name: names appear in logs and key the rate limit.
const NAME_LIMIT: usize = 64;

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Every GET (and HEAD): records, events, statistics, applications, protected metrics.
    Read,
    /// `POST /api/v1/analyze`.
    Analyze,
}

impl Scope {
    /// The name in the tokens file and in answers.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Analyze => "analyze",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "read" => Some(Self::Read),
            "analyze" => Some(Self::Analyze),
            _ => None,
        }
    }
}

/// One configured token: its name, the digest of the token, and its scopes.
#[derive(Clone)]
pub(crate) struct Token {
    name: String,
    digest: Digest256,
    read: bool,
    analyze: bool,
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("name", &self.name)
            .field("read", &self.read)
            .field("analyze", &self.analyze)
            .finish_non_exhaustive()
    }
}

impl Token {
    /// The token's name: what logs and the rate limit know it by.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Whether the token has `scope`.
    pub(crate) fn allows(&self, scope: Scope) -> bool {
        match scope {
            Scope::Read => self.read,
            Scope::Analyze => self.analyze,
        }
    }
}

/// One entry as written in the file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: String,
    token_sha256: String,
    scopes: Vec<String>,
}

/// The tokens of one valid tokens file.
#[derive(Debug, Clone)]
pub(crate) struct TokenSet {
    tokens: Vec<Token>,
}

impl TokenSet {
    /// Reads and checks the tokens file at `file`.
    pub(crate) fn read(file: &Path) -> Result<Self, Error> {
        let bytes = std::fs::read(file).map_err(|error| tokens_error(file, unreadable(&error)))?;
        Self::parse(file, &bytes)
    }

    /// Checks the content `bytes` of the tokens file `file`; errors name the file and,
    /// for a bad entry, its position and name. They never repeat a `token_sha256` value,
    /// which may be a token pasted by mistake.
    pub(crate) fn parse(file: &Path, bytes: &[u8]) -> Result<Self, Error> {
        let problem = |problem: String| tokens_error(file, problem);
        let text =
            std::str::from_utf8(bytes).map_err(|_| problem("is not UTF-8 text".to_owned()))?;
        if text.trim().is_empty() {
            return Err(problem(
                "is empty; list at least one token (`- name: …, token_sha256: …, scopes: [read]`)"
                    .to_owned(),
            ));
        }
        let entries: Vec<Entry> = serde_saphyr::from_str(text).map_err(|error| {
            problem(format!(
                "is not a YAML list of {{name, token_sha256, scopes}}: {}",
                error.without_snippet()
            ))
        })?;
        if entries.is_empty() {
            return Err(problem(
                "lists no token; list at least one, or leave server.auth.tokens_file out"
                    .to_owned(),
            ));
        }
        let mut names: HashMap<String, usize> = HashMap::new();
        let mut digests: HashMap<Digest256, usize> = HashMap::new();
        let mut tokens = Vec::with_capacity(entries.len());
        for (index, entry) in entries.into_iter().enumerate() {
            let position = index + 1;
            let token = check_entry(position, entry).map_err(&problem)?;
            if let Some(first) = names.insert(token.name.clone(), position) {
                return Err(problem(format!(
                    "entry {position} (`{}`): the name is already used by entry {first}; names must be unique",
                    token.name
                )));
            }
            if let Some(first) = digests.insert(token.digest, position) {
                return Err(problem(format!(
                    "entry {position} (`{}`): the same token_sha256 as entry {first}; each token must have one name",
                    token.name
                )));
            }
            tokens.push(token);
        }
        Ok(Self { tokens })
    }

    /// The token whose SHA-256 is the digest of `presented`, if any.
    ///
    /// The presented token is hashed and its digest compared with every configured
    /// digest in constant time, without stopping at a match, so the time taken says
    /// nothing about which digest matched or how much of it did.
    pub(crate) fn find(&self, presented: &str) -> Option<&Token> {
        let digest = sha256(presented.as_bytes());
        let mut found = Choice::from(0);
        let mut index = 0u64;
        for (position, token) in (0u64..).zip(&self.tokens) {
            let equal = token.digest.ct_eq(&digest);
            index = u64::conditional_select(&index, &position, equal);
            found |= equal;
        }
        if bool::from(found) {
            usize::try_from(index)
                .ok()
                .and_then(|index| self.tokens.get(index))
        } else {
            None
        }
    }

    /// The names of the tokens, in file order.
    pub(crate) fn names(&self) -> Vec<&str> {
        self.tokens.iter().map(Token::name).collect()
    }

    /// How many tokens there are.
    pub(crate) fn len(&self) -> usize {
        self.tokens.len()
    }
}

/// The error for a problem with the tokens file.
pub(crate) fn tokens_error(file: &Path, problem: String) -> Error {
    Error::TokensFile {
        file: file.to_owned(),
        problem,
    }
}

/// The problem of a tokens file that cannot be read.
pub(crate) fn unreadable(error: &std::io::Error) -> String {
    format!("cannot be read: {error}")
}

fn check_entry(position: usize, entry: Entry) -> Result<Token, String> {
    let name = entry.name;
    if name.is_empty() {
        return Err(format!("entry {position}: `name` is empty"));
    }
    let at = format!("entry {position} (`{name}`)");
    if name.chars().count() > NAME_LIMIT
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
    {
        return Err(format!(
            "{at}: a name is at most {NAME_LIMIT} letters, digits, `-`, `_`, `.` or `@`"
        ));
    }
    let digest = decode_hex(&entry.token_sha256).ok_or_else(|| {
        format!(
            "{at}: token_sha256 must be 64 hexadecimal digits, the SHA-256 of the token \
             (`printf %s \"$TOKEN\" | sha256sum`), not the token itself"
        )
    })?;
    if entry.scopes.is_empty() {
        return Err(format!(
            "{at}: `scopes` is empty; give read, analyze or both"
        ));
    }
    let mut read = false;
    let mut analyze = false;
    for scope in &entry.scopes {
        match Scope::parse(scope) {
            Some(Scope::Read) => read = true,
            Some(Scope::Analyze) => analyze = true,
            None => {
                return Err(format!(
                    "{at}: `{}` is not a scope (read or analyze)",
                    crate::http::reply::echo(scope)
                ));
            }
        }
    }
    Ok(Token {
        name,
        digest,
        read,
        analyze,
    })
}

/// 64 hexadecimal digits (either case) as 32 bytes.
fn decode_hex(text: &str) -> Option<Digest256> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut digest = [0u8; 32];
    for (byte, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
        let high = char::from(pair[0]).to_digit(16)?;
        let low = char::from(pair[1]).to_digit(16)?;
        *byte = u8::try_from(high * 16 + low).ok()?;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(digest: Digest256) -> String {
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn parse(text: &str) -> Result<TokenSet, String> {
        TokenSet::parse(Path::new("/etc/driftguard/tokens.yaml"), text.as_bytes())
            .map_err(|e| e.to_string())
    }

    fn file(entries: &[(&str, &str, &str)]) -> String {
        entries
            .iter()
            .map(|(name, token, scopes)| {
                format!(
                    "- name: {name}\n  token_sha256: {}\n  scopes: [{scopes}]\n",
                    hex(sha256(token.as_bytes()))
                )
            })
            .collect()
    }

    #[test]
    fn the_digest_is_what_sha256sum_prints() {
        // printf %s abc | sha256sum
        assert_eq!(
            hex(sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            decode_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"),
            Some(sha256(b"abc"))
        );
    }

    #[test]
    fn tokens_are_found_by_their_digest_with_their_scopes() {
        let set = parse(&file(&[
            ("dashboard", "dash-token", "read"),
            ("ci", "ci-token", "read, analyze"),
        ]))
        .expect("valid");
        assert_eq!(set.names(), ["dashboard", "ci"]);
        let dashboard = set.find("dash-token").expect("known");
        assert_eq!(dashboard.name(), "dashboard");
        assert!(dashboard.allows(Scope::Read) && !dashboard.allows(Scope::Analyze));
        let ci = set.find("ci-token").expect("known");
        assert!(ci.allows(Scope::Read) && ci.allows(Scope::Analyze));
        assert!(set.find("ci-token ").is_none());
        assert!(set.find("").is_none());
        let digest = hex(sha256(b"ci-token"));
        assert!(set.find(&digest).is_none(), "the digest is not the token");
    }

    #[test]
    fn bad_entries_are_named_without_repeating_the_digest_field() {
        let cases = [
            (
                "- name: ci\n  token_sha256: my-raw-secret-token\n  scopes: [read]\n",
                "entry 1 (`ci`): token_sha256 must be 64 hexadecimal digits",
            ),
            (
                &file(&[("ci", "a", "read"), ("ci", "b", "read")]),
                "entry 2 (`ci`): the name is already used by entry 1",
            ),
            (
                &file(&[("ci", "a", "read"), ("cd", "a", "read")]),
                "entry 2 (`cd`): the same token_sha256 as entry 1",
            ),
            (
                &file(&[("ci", "a", "write")]),
                "entry 1 (`ci`): `write` is not a scope (read or analyze)",
            ),
            (
                &file(&[("ci", "a", "")]),
                "entry 1 (`ci`): `scopes` is empty",
            ),
            (
                &file(&[("has space", "a", "read")]),
                "entry 1 (`has space`): a name is",
            ),
            ("", "is empty"),
            ("[]\n", "lists no token"),
            ("- name: ci\n  token: x\n", "unknown field `token`"),
            ("tokens: {}\n", "is not a YAML list"),
        ];
        for (text, expected) in cases {
            let error = parse(text).expect_err(text);
            assert!(
                error.starts_with("server.auth.tokens_file /etc/driftguard/tokens.yaml: "),
                "{error}"
            );
            assert!(error.contains(expected), "{expected:?} not in {error:?}");
            assert!(!error.contains("my-raw-secret-token"), "{error}");
        }
    }
}
