//! Reading the usual shape of YAML manifests straight from the parser's events.
//!
//! serde-saphyr reads YAML through serde's data model, which costs about twice what its
//! parser (granit-parser) takes to produce the events. Manifests are almost always
//! mappings with string keys, sequences and scalars, with no anchors, tags or merge keys;
//! this module builds those into JSON values directly from granit-parser's events, with
//! the parser options and the scalar rules serde-saphyr applies for the manifest reader
//! (YAML 1.1 booleans, plain decimal numbers, the null spellings).
//!
//! Whatever falls outside that shape is left to serde-saphyr, by answering `None`: anchors
//! and aliases (their expansion budget), merge keys, tags, keys that are not strings,
//! numbers written other than as plain decimals, duplicate keys, very deep or very large
//! documents, and every syntax error (its message, line and column). The result is the
//! same either way; only the time differs.

use std::borrow::Cow;

use granit_parser::{Event, Parser, ScalarStyle};
use serde_json::{Map, Number, Value};

/// One document read here: its value, and where its root node starts.
#[derive(Debug, PartialEq)]
pub(super) struct EventDocument {
    /// The document's content.
    pub value: Value,
    /// The 1-based line of the root node.
    pub line: u64,
    /// The byte offset of the root node.
    pub offset: usize,
}

/// Nesting deeper than this is left to serde-saphyr, whose budget reports it.
const MAX_DEPTH: usize = 64;

/// The parser options serde-saphyr derives from the manifest reader's budget (its
/// `Budget::parser_options`), so that the parser accepts and refuses exactly the same
/// text either way.
fn parser_options(max_depth: usize) -> granit_parser::Options {
    let block_nesting_limit = granit_parser::Options::default()
        .block_nesting_limit
        .max(max_depth.saturating_add(1));
    granit_parser::options! {
        simple_key_max_lookahead: 1024,
        flow_nesting_limit: 255,
        block_nesting_limit: block_nesting_limit,
        emit_comments: true,
        max_buffered_comment_events: 32,
    }
}

/// A collection being built.
enum Frame {
    Sequence(Vec<Value>),
    /// A mapping and the key whose value comes next.
    Mapping(Map<String, Value>, Option<String>),
}

/// The documents of `text` that are not null (as serde-saphyr skips them), or `None` when
/// the text is not in the shape read here. `max_depth` is the reader's depth limit, which
/// sets the parser's nesting limit as serde-saphyr's budget does.
pub(super) fn read_documents(text: &str, max_depth: usize) -> Option<Vec<EventDocument>> {
    let mut parser = Parser::new_from_str_with_options(text, parser_options(max_depth));
    let mut documents = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    // The root node's value and start, once complete.
    let mut root: Option<(Value, u64, usize)> = None;
    let mut start: Option<(u64, usize)> = None;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.ok()?;
        let completed = match event {
            Event::StreamStart | Event::DocumentStart(..) => continue,
            Event::StreamEnd => break,
            Event::DocumentEnd => {
                if let Some((value, line, offset)) = root.take()
                    && !value.is_null()
                {
                    documents.push(EventDocument {
                        value,
                        line,
                        offset,
                    });
                }
                start = None;
                continue;
            }
            Event::Scalar(text, style, anchor, tag) => {
                if anchor != 0 || tag.is_some() {
                    return None;
                }
                if stack.is_empty() {
                    start = Some(position(&span.start)?);
                }
                if let Some(Frame::Mapping(map, key @ None)) = stack.last_mut() {
                    let name = mapping_key(text, style)?;
                    if map.contains_key(&name) {
                        return None;
                    }
                    *key = Some(name);
                    continue;
                }
                scalar(text, style)?
            }
            Event::SequenceStart(_, anchor, ref tag) | Event::MappingStart(_, anchor, ref tag) => {
                if anchor != 0 || tag.is_some() || stack.len() >= MAX_DEPTH {
                    return None;
                }
                if stack.is_empty() {
                    start = Some(position(&span.start)?);
                } else if matches!(stack.last(), Some(Frame::Mapping(_, None))) {
                    // A collection as a mapping key.
                    return None;
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Sequence(Vec::new())
                } else {
                    Frame::Mapping(Map::new(), None)
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop()? {
                Frame::Sequence(items) => Value::Array(items),
                Frame::Mapping(map, None) => Value::Object(map),
                Frame::Mapping(_, Some(_)) => return None,
            },
            Event::Comment(..) => continue,
            // Aliases, and anything this module does not know.
            _ => return None,
        };
        match stack.last_mut() {
            None => {
                let (line, offset) = start.take()?;
                root = Some((completed, line, offset));
            }
            Some(Frame::Sequence(items)) => items.push(completed),
            Some(Frame::Mapping(map, key)) => {
                map.insert(key.take()?, completed);
            }
        }
    }
    stack.is_empty().then_some(documents)
}

/// The 1-based line and the byte offset of a marker.
fn position(marker: &granit_parser::Marker) -> Option<(u64, usize)> {
    Some((marker.line() as u64, marker.byte_offset()?))
}

/// A mapping key: a quoted or block scalar, or a plain one that reads as a string. Other
/// plain keys (`80`, `true`, `~`) and merge keys (`<<`) are left to serde-saphyr.
fn mapping_key(text: Cow<'_, str>, style: ScalarStyle) -> Option<String> {
    if text == "<<" {
        return None;
    }
    match style {
        ScalarStyle::Plain => match plain(&text)? {
            Value::String(_) => Some(text.into_owned()),
            _ => None,
        },
        _ => Some(text.into_owned()),
    }
}

/// A scalar node's value: quoted and block scalars are strings, plain ones are resolved.
fn scalar(text: Cow<'_, str>, style: ScalarStyle) -> Option<Value> {
    match style {
        ScalarStyle::Plain => match plain(&text)? {
            Value::String(_) => Some(Value::String(text.into_owned())),
            other => Some(other),
        },
        _ => Some(Value::String(text.into_owned())),
    }
}

/// A plain scalar as serde-saphyr resolves it for an untyped value, with YAML 1.1
/// booleans and legacy octal numbers on: null, a boolean, a plain decimal number, or a
/// string (returned empty: the text itself is the string). `None` for the number forms
/// left to serde-saphyr (`0x1F`, `0644`, `1_000`, `1e3`, `+1`, `.inf`, integers beyond
/// 64 bits).
fn plain(text: &str) -> Option<Value> {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Some(Value::Null);
    }
    if let Some(boolean) = yaml11_bool(text) {
        return Some(Value::Bool(boolean));
    }
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let bytes = unsigned.as_bytes();
    if !can_be_integer(bytes) && !can_be_float(bytes) {
        // Neither of serde-saphyr's number parsers could read it: a string.
        return Some(Value::String(String::new()));
    }
    if text.starts_with('+') {
        return None;
    }
    let decimal = |digits: &[u8]| {
        !digits.is_empty()
            && digits.iter().all(u8::is_ascii_digit)
            && (digits.len() == 1 || digits[0] != b'0')
    };
    if decimal(bytes) {
        return if negative {
            text.parse::<i64>().ok().map(|n| Value::Number(n.into()))
        } else {
            text.parse::<u64>().ok().map(|n| Value::Number(n.into()))
        };
    }
    let (whole, fraction) = unsigned.split_once('.')?;
    if decimal(whole.as_bytes())
        && !fraction.is_empty()
        && fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return text
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number);
    }
    None
}

/// YAML 1.1's boolean spellings, in any case (serde-saphyr's `strict_booleans: false`).
fn yaml11_bool(text: &str) -> Option<bool> {
    const TRUE: [&str; 4] = ["true", "yes", "y", "on"];
    const FALSE: [&str; 4] = ["false", "no", "n", "off"];
    if text.len() > 5 {
        None
    } else if TRUE.iter().any(|t| text.eq_ignore_ascii_case(t)) {
        Some(true)
    } else if FALSE.iter().any(|f| text.eq_ignore_ascii_case(f)) {
        Some(false)
    } else {
        None
    }
}

/// Whether unsigned text could be an integer in any form serde-saphyr reads (decimal,
/// `0x`, `0o`, `0b`, legacy octal, with `_` separators): only such characters.
fn can_be_integer(bytes: &[u8]) -> bool {
    !bytes.is_empty()
        && bytes[0].is_ascii_digit()
        && bytes
            .iter()
            .all(|b| b.is_ascii_hexdigit() || matches!(b, b'_' | b'x' | b'X' | b'o' | b'O'))
}

/// Whether unsigned text could be a float Rust's parser reads: digits with at most one
/// `.` and an exponent, or `inf`/`nan` spellings (which serde-saphyr keeps as strings,
/// but which are left to it all the same).
fn can_be_float(bytes: &[u8]) -> bool {
    let lower = bytes.to_ascii_lowercase();
    if matches!(lower.as_slice(), b"inf" | b"infinity" | b"nan")
        || matches!(lower.as_slice(), b".inf" | b".nan")
    {
        return true;
    }
    let mut rest = bytes;
    let digits = |rest: &mut &[u8]| {
        let n = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        *rest = &rest[n..];
        n
    };
    let whole = digits(&mut rest);
    let mut fraction = 0;
    if let Some((b'.', after)) = rest.split_first() {
        rest = after;
        fraction = digits(&mut rest);
    }
    if whole + fraction == 0 {
        return false;
    }
    if let Some((b'e' | b'E', after)) = rest.split_first() {
        rest = after;
        if let Some((b'+' | b'-', after)) = rest.split_first() {
            rest = after;
        }
        if digits(&mut rest) == 0 {
            return false;
        }
    }
    rest.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    use crate::manifest::{ManifestLimits, saphyr_documents};

    /// Reads `text` both ways: when the events reader takes it, it must find exactly what
    /// serde-saphyr finds, documents, values and lines. Returns whether it took it.
    fn agrees(text: &str, what: &str) -> bool {
        let Some(fast) = read_documents(text, 100) else {
            return false;
        };
        let full = saphyr_documents(text, ManifestLimits::DESIRED)
            .unwrap_or_else(|e| panic!("{what}: read here, but serde-saphyr fails: {e}"));
        let full: Vec<(&Value, u64)> = full
            .iter()
            .map(|d| (&d.value, d.referenced.line()))
            .collect();
        let fast: Vec<(&Value, u64)> = fast.iter().map(|d| (&d.value, d.line)).collect();
        assert_eq!(fast, full, "{what}: {text:?}");
        true
    }

    #[test]
    fn every_scalar_spelling_reads_as_serde_saphyr_reads_it() {
        let spellings = [
            "1",
            "-1",
            "0",
            "-0",
            "00",
            "01",
            "1.5",
            "-1.5",
            "0.25",
            "-0.0",
            "1.",
            ".5",
            "1e3",
            "1E3",
            "1.5e-3",
            "yes",
            "No",
            "ON",
            "off",
            "y",
            "N",
            "true",
            "False",
            "TRUE",
            "tRuE",
            "~",
            "null",
            "Null",
            "NULL",
            "nULL",
            "'x'",
            "\"y\"",
            "'1'",
            "\"true\"",
            "1.4.2",
            "250m",
            "256Mi",
            "+1",
            "+1.5",
            "+x",
            "0x1F",
            "0X1F",
            "0o17",
            "0b101",
            "0644",
            "0_644",
            "1_000",
            "-",
            "-a",
            "-1a",
            ".",
            "..",
            "nan",
            "NaN",
            ".nan",
            "-.nan",
            ".inf",
            "-.Inf",
            "inf",
            "infinity",
            "-infinity",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "18446744073709551615",
            "18446744073709551616",
            "1:20",
            "0.1e1",
            "12:30:45",
            "2026-01-01",
            "2026-01-01T00:00:00Z",
            "10.0.0.1",
            "1e999",
            "0.0",
            "e",
            "E5",
            "1e",
            "1e+",
            "abc",
            "a b",
            "x:y",
            "<<",
            "=",
            "!important",
            "@",
            "`",
            "0xG",
            "0b2",
            "0o8",
            "08",
            "09.5",
            "-01",
            "+0",
            "1__0",
            "_1",
            "1_",
        ];
        let mut taken = 0;
        for spelling in spellings {
            for text in [
                format!("a: {spelling}\n"),
                format!("{spelling}: a\n"),
                format!("- {spelling}\n"),
                format!("[{spelling}]\n"),
            ] {
                if saphyr_documents(&text, ManifestLimits::DESIRED).is_ok() {
                    taken += usize::from(agrees(&text, spelling));
                } else {
                    assert_eq!(read_documents(&text, 100), None, "{text:?} is an error");
                }
            }
        }
        assert!(taken > 150, "only {taken} spellings read from events");
    }

    #[test]
    fn layouts_read_as_serde_saphyr_reads_them() {
        let layouts = [
            "a: |\n  one\n  two\nb: x\n",
            "a: |-\n  one\n\nb: >\n  folded\n  text\n\n  more\nc: >+\n  kept\n\n",
            "a: plain\n  continued\n  lines\n",
            "a: \"esc\\taped \\u00e9 \\\"q\\\" \\\n  joined\"\nb: 'it''s'\n",
            "{a: 1, b: [x, {c: d}], e: }\n",
            "a:\n- 1\n- - 2\n  - 3\n-\n",
            "# head\n---\na: 1 # trailing\n...\n---\n# only a comment\n---\nb: 2\n",
            "\r\na: 1\r\nb:\r\n  c: d\r\n",
            "a: é\nü: 'ß'\nemoji: 🦀\n",
            "? a\n: 1\n",
            "a: {}\nb: []\nc: ''\nd: \"\"\n",
            "--- 3\n--- 'text'\n--- [1]\n",
            "%YAML 1.2\n---\na: 1\n",
            "a:\n  b:\n    c:\n      - d: e\n        f: g\n",
        ];
        for layout in layouts {
            assert!(agrees(layout, layout), "not read from events: {layout:?}");
        }
    }

    #[test]
    fn every_yaml_file_of_the_repository_reads_as_serde_saphyr_reads_it() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (mut files, mut taken) = (0, 0);
        for folder in ["tests", "examples", "deploy", "docs"] {
            for entry in walkdir::WalkDir::new(root.join(folder)) {
                let entry = entry.expect("a readable folder");
                let path = entry.path();
                if !matches!(
                    path.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml")
                ) {
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(path) else {
                    continue;
                };
                files += 1;
                if saphyr_documents(&text, ManifestLimits::DESIRED).is_err() {
                    assert_eq!(read_documents(&text, 100), None, "{}", path.display());
                } else {
                    taken += usize::from(agrees(&text, &path.display().to_string()));
                }
            }
        }
        assert!(files > 1000, "only {files} YAML files found");
        // Nearly every manifest has the usual shape.
        assert!(
            taken * 10 > files * 9,
            "{taken} of {files} files read from events"
        );
    }

    fn values(text: &str) -> Option<Vec<Value>> {
        read_documents(text, 100).map(|documents| documents.into_iter().map(|d| d.value).collect())
    }

    #[test]
    fn plain_scalars_resolve_as_serde_saphyr_does() {
        let text = "a: 1\nb: -2\nc: 0.25\nd: yes\ne: Off\nf: ~\ng:\nh: 250m\ni: 1.4.2\nj: '1'\nk: 2026-01-01T00:00:00Z\nl: -foo\nm: .dockerconfigjson\n";
        assert_eq!(
            values(text),
            Some(vec![json!({
                "a": 1, "b": -2, "c": 0.25, "d": true, "e": false, "f": null, "g": null,
                "h": "250m", "i": "1.4.2", "j": "1", "k": "2026-01-01T00:00:00Z",
                "l": "-foo", "m": ".dockerconfigjson"
            })])
        );
    }

    #[test]
    fn other_number_forms_and_yaml_features_are_left_to_serde_saphyr() {
        for text in [
            "a: 0644\n",
            "a: 0x1F\n",
            "a: 1_000\n",
            "a: 1e3\n",
            "a: +1\n",
            "a: .inf\n",
            "a: 18446744073709551616\n",
            "a: &x 1\nb: *x\n",
            "base: &b {x: 1}\nc:\n  <<: *b\n",
            "a: !!str 1\n",
            "80: http\n",
            "a: 1\na: 2\n",
            "? [a]\n: 1\n",
            "a: [1\n",
        ] {
            assert_eq!(values(text), None, "{text:?}");
        }
    }

    #[test]
    fn null_documents_are_skipped_and_lines_are_the_root_nodes() {
        let documents = read_documents("---\n# nothing\n---\nkind: A\n---\n~\n---\n- 1\n", 100)
            .expect("plain shape");
        let lines: Vec<u64> = documents.iter().map(|d| d.line).collect();
        assert_eq!(lines, [4, 8]);
        assert_eq!(documents[0].value, json!({"kind": "A"}));
    }
}
