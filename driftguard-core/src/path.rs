//! Field paths inside an object, and the patterns that classification and ignore rules use.
//!
//! A path reads like `spec.template.spec.containers[name=web].image`: map keys joined by
//! dots, list items by `[index]` or by their merge key `[name=web]`. Keys that contain
//! dots or slashes (label names) are quoted: `metadata.labels["app.kubernetes.io/name"]`.

use std::fmt;

use serde_json::Value;

use crate::Error;

/// One step into an object.
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    /// A map key.
    Key(String),
    /// A list item matched by position.
    Index(usize),
    /// A list item matched by its merge key fields, e.g. `name=web`.
    Keyed(Vec<(String, Value)>),
}

/// A location inside an object.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The empty path: the object itself.
    pub fn root() -> Self {
        Self::default()
    }

    /// The segments, outermost first.
    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    /// Appends a segment.
    pub fn push(&mut self, segment: Segment) {
        self.0.push(segment);
    }

    /// Removes the last segment.
    pub fn pop(&mut self) {
        self.0.pop();
    }

    /// This path with one more segment.
    pub fn child(&self, segment: Segment) -> Self {
        let mut path = self.clone();
        path.push(segment);
        path
    }
}

fn needs_quotes(key: &str) -> bool {
    key.is_empty()
        || key
            .chars()
            .any(|c| matches!(c, '.' | '[' | ']' | '"' | '/' | '=' | ',') || c.is_whitespace())
}

fn write_key(f: &mut fmt::Formatter<'_>, key: &str, first: bool) -> fmt::Result {
    if needs_quotes(key) {
        write!(f, "[{}]", Value::String(key.to_owned()))
    } else if first {
        f.write_str(key)
    } else {
        write!(f, ".{key}")
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(key) => write_key(f, key, i == 0)?,
                Segment::Index(index) => write!(f, "[{index}]")?,
                Segment::Keyed(fields) => {
                    let parts: Vec<String> = fields
                        .iter()
                        .map(|(k, v)| format!("{k}={}", scalar_text(v)))
                        .collect();
                    write!(f, "[{}]", parts.join(","))?;
                }
            }
        }
        Ok(())
    }
}

/// Why a text is not a [`FieldPath`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid field path `{text}`: {reason}")]
pub struct ParseFieldPathError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Reads a path back from its [`Display`](fmt::Display) form, so that a drift's `path`
/// string (as records and the API carry it) can be walked segment by segment again.
///
/// The empty text is the root. `[N]` is a list position, `["key"]` a quoted map key and
/// `[field=value,…]` a keyed list item. The displayed form does not record the type of a
/// key field's value: a canonical integer reads back as a number, `true` and `false` as
/// booleans, anything else as a string (merge keys are names, paths and port numbers).
/// A key field's value may itself hold `]` or `,` as long as what follows cannot be read
/// as the end of the item or as another `field=`.
impl std::str::FromStr for FieldPath {
    type Err = ParseFieldPathError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        parse_field_path(text).map_err(|reason| ParseFieldPathError {
            text: text.to_owned(),
            reason,
        })
    }
}

fn parse_field_path(text: &str) -> Result<FieldPath, String> {
    let mut path = FieldPath::root();
    let mut rest = text;
    let mut expect_key = true;
    while let Some(c) = rest.chars().next() {
        match c {
            '.' => {
                if expect_key {
                    return Err("empty segment".to_owned());
                }
                rest = &rest[1..];
                if rest.is_empty() {
                    return Err("trailing dot".to_owned());
                }
                expect_key = true;
            }
            '[' => {
                if expect_key && !path.0.is_empty() {
                    return Err("`[` right after a dot".to_owned());
                }
                let (segment, after) = parse_path_bracket(&rest[1..])?;
                path.push(segment);
                rest = after;
                expect_key = false;
            }
            _ => {
                if !expect_key {
                    return Err(format!("unexpected `{c}`"));
                }
                let end = rest.find(['.', '[']).unwrap_or(rest.len());
                path.push(Segment::Key(rest[..end].to_owned()));
                rest = &rest[end..];
                expect_key = false;
            }
        }
    }
    Ok(path)
}

/// One bracketed segment; `text` starts after the `[`. Returns the segment and the text
/// after its `]`.
fn parse_path_bracket(text: &str) -> Result<(Segment, &str), String> {
    if text.starts_with('"') {
        let mut escaped = false;
        for (i, c) in text.char_indices().skip(1) {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                let key: String = serde_json::from_str(&text[..=i])
                    .map_err(|e| format!("bad quoted key: {e}"))?;
                let after = text[i + 1..]
                    .strip_prefix(']')
                    .ok_or_else(|| "a quoted key must be followed by `]`".to_owned())?;
                return Ok((Segment::Key(key), after));
            }
        }
        return Err("unclosed quoted key".to_owned());
    }
    // The item ends at the first `]` that the end, a `.` or a `[` follows.
    let close = text
        .char_indices()
        .filter(|&(_, c)| c == ']')
        .map(|(i, _)| i)
        .find(|&i| matches!(text[i + 1..].chars().next(), None | Some('.' | '[')))
        .ok_or_else(|| "unclosed `[`".to_owned())?;
    let inner = &text[..close];
    let after = &text[close + 1..];
    if !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_digit()) {
        let index = inner
            .parse::<usize>()
            .map_err(|e| format!("bad index `{inner}`: {e}"))?;
        return Ok((Segment::Index(index), after));
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    for piece in inner.split(',') {
        match piece.split_once('=') {
            Some((field, value)) if is_key_field_name(field) => {
                fields.push((field.to_owned(), value.to_owned()));
            }
            // A `,` inside the previous field's value.
            _ => match fields.last_mut() {
                Some((_, value)) => {
                    value.push(',');
                    value.push_str(piece);
                }
                None => {
                    return Err(format!(
                        "`[{inner}]` is neither `[N]`, `[\"key\"]` nor `[field=value]`"
                    ));
                }
            },
        }
    }
    let fields = fields
        .into_iter()
        .map(|(field, value)| (field, key_value(&value)))
        .collect();
    Ok((Segment::Keyed(fields), after))
}

/// Whether `name` can be the field of a keyed item: a merge key is a plain field name.
fn is_key_field_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

/// A key field's value as the displayed text shows it.
fn key_value(text: &str) -> Value {
    match text {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(n) = text.parse::<u64>()
        && n.to_string() == text
    {
        return Value::from(n);
    }
    if let Ok(n) = text.parse::<i64>()
        && n.to_string() == text
    {
        return Value::from(n);
    }
    Value::String(text.to_owned())
}

/// One element of a [`PathPattern`].
#[derive(Debug, Clone, PartialEq)]
enum PatternPart {
    /// Exactly this key.
    Key(String),
    /// Any one key.
    AnyKey,
    /// Any one list item (`[]`), however it is matched.
    AnyItem,
    /// Any one segment, key or item (`*` in pointer form).
    AnySegment,
    /// The list item at this position.
    Index(usize),
    /// The list item with these merge key values.
    Keyed(Vec<(String, String)>),
    /// Zero or more segments of any kind (`**`).
    AnyDepth,
}

/// A pattern over field paths, for classification and ignore rules.
///
/// Dotted form: `spec.replicas`, `**.containers[].image`, `metadata.labels.*`,
/// `spec.template.spec.containers[name=web].env`, `metadata.annotations["example.com/x"]`.
/// JSON-pointer form: `/spec/replicas`, `/spec/template/spec/containers/*/image`
/// (`*` there matches any key or list item).
#[derive(Debug, Clone, PartialEq)]
pub struct PathPattern {
    text: String,
    parts: Vec<PatternPart>,
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for PathPattern {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let parts = if text.starts_with('/') {
            parse_pointer(text)
        } else {
            parse_dotted(text)
        }
        .map_err(|reason| Error::InvalidRule(format!("invalid path pattern `{text}`: {reason}")))?;
        Ok(Self {
            text: text.to_owned(),
            parts,
        })
    }
}

fn parse_pointer(text: &str) -> Result<Vec<PatternPart>, String> {
    text.split('/')
        .skip(1)
        .map(|token| {
            let token = token.replace("~1", "/").replace("~0", "~");
            Ok(match token.as_str() {
                "" => return Err("empty segment".to_owned()),
                "**" => PatternPart::AnyDepth,
                "*" => PatternPart::AnySegment,
                _ => match token.parse::<usize>() {
                    Ok(index) => PatternPart::Index(index),
                    Err(_) => PatternPart::Key(token),
                },
            })
        })
        .collect()
}

fn parse_dotted(text: &str) -> Result<Vec<PatternPart>, String> {
    let mut parts = Vec::new();
    let mut chars = text.chars().peekable();
    let mut expect_key = true;
    while let Some(&c) = chars.peek() {
        match c {
            '.' => {
                chars.next();
                if expect_key {
                    return Err("empty segment".to_owned());
                }
                expect_key = true;
                if chars.peek().is_none() {
                    return Err("trailing dot".to_owned());
                }
            }
            '[' => {
                chars.next();
                let mut inner = String::new();
                let mut in_quotes = false;
                let mut escaped = false;
                loop {
                    let Some(c) = chars.next() else {
                        return Err("unclosed `[`".to_owned());
                    };
                    if in_quotes {
                        inner.push(c);
                        if escaped {
                            escaped = false;
                        } else if c == '\\' {
                            escaped = true;
                        } else if c == '"' {
                            in_quotes = false;
                        }
                        continue;
                    }
                    match c {
                        '"' => {
                            in_quotes = true;
                            inner.push(c);
                        }
                        ']' => break,
                        _ => inner.push(c),
                    }
                }
                parts.push(parse_bracket(&inner)?);
                expect_key = false;
            }
            _ => {
                if !expect_key {
                    return Err(format!("unexpected `{c}`"));
                }
                let mut key = String::new();
                while let Some(&c) = chars.peek() {
                    if c == '.' || c == '[' {
                        break;
                    }
                    key.push(c);
                    chars.next();
                }
                parts.push(match key.as_str() {
                    "**" => PatternPart::AnyDepth,
                    "*" => PatternPart::AnyKey,
                    _ => PatternPart::Key(key),
                });
                expect_key = false;
            }
        }
    }
    if parts.is_empty() {
        return Err("empty pattern".to_owned());
    }
    Ok(parts)
}

fn parse_bracket(inner: &str) -> Result<PatternPart, String> {
    let inner = inner.trim();
    if inner.is_empty() || inner == "*" {
        return Ok(PatternPart::AnyItem);
    }
    if inner.starts_with('"') {
        let key: String =
            serde_json::from_str(inner).map_err(|e| format!("bad quoted key: {e}"))?;
        return Ok(PatternPart::Key(key));
    }
    if let Ok(index) = inner.parse::<usize>() {
        return Ok(PatternPart::Index(index));
    }
    let mut fields = Vec::new();
    for pair in inner.split(',') {
        let (k, v) = pair.split_once('=').ok_or_else(|| {
            format!("`[{inner}]` is neither `[]`, `[N]`, `[\"key\"]` nor `[field=value]`")
        })?;
        fields.push((k.trim().to_owned(), v.trim().to_owned()));
    }
    Ok(PatternPart::Keyed(fields))
}

impl PathPattern {
    /// Whether the path matches this pattern as a whole.
    pub fn matches(&self, path: &[Segment]) -> bool {
        match_parts(&self.parts, path)
    }
}

fn match_parts(parts: &[PatternPart], path: &[Segment]) -> bool {
    let Some((first, rest)) = parts.split_first() else {
        return path.is_empty();
    };
    if *first == PatternPart::AnyDepth {
        return (0..=path.len()).any(|skip| match_parts(rest, &path[skip..]));
    }
    let Some((segment, path_rest)) = path.split_first() else {
        return false;
    };
    let hit = match (first, segment) {
        (PatternPart::Key(want), Segment::Key(key)) => want == key,
        (PatternPart::AnyKey, Segment::Key(_)) | (PatternPart::AnySegment, _) => true,
        (PatternPart::AnyItem, Segment::Index(_) | Segment::Keyed(_)) => true,
        (PatternPart::Index(want), Segment::Index(index)) => want == index,
        (PatternPart::Keyed(want), Segment::Keyed(fields)) => want.iter().all(|(k, v)| {
            fields
                .iter()
                .any(|(fk, fv)| fk == k && scalar_text(fv) == *v)
        }),
        _ => false,
    };
    hit && match_parts(rest, path_rest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn container_image() -> FieldPath {
        let mut path = FieldPath::root();
        for key in ["spec", "template", "spec", "containers"] {
            path.push(Segment::Key(key.to_owned()));
        }
        path.push(Segment::Keyed(vec![("name".to_owned(), json!("web"))]));
        path.push(Segment::Key("image".to_owned()));
        path
    }

    #[test]
    fn displays_keyed_items_and_quoted_keys() {
        assert_eq!(
            container_image().to_string(),
            "spec.template.spec.containers[name=web].image"
        );
        let label = FieldPath::root()
            .child(Segment::Key("metadata".into()))
            .child(Segment::Key("labels".into()))
            .child(Segment::Key("app.kubernetes.io/name".into()));
        assert_eq!(
            label.to_string(),
            r#"metadata.labels["app.kubernetes.io/name"]"#
        );
    }

    #[test]
    fn paths_read_back_from_their_display() {
        let path = |segments: Vec<Segment>| {
            let mut p = FieldPath::root();
            for s in segments {
                p.push(s);
            }
            p
        };
        let key = |k: &str| Segment::Key(k.to_owned());
        let cases = [
            FieldPath::root(),
            path(vec![key("spec"), key("replicas")]),
            container_image(),
            path(vec![
                key("metadata"),
                key("labels"),
                key("app.kubernetes.io/name"),
            ]),
            path(vec![
                key("metadata"),
                key("annotations"),
                key("a \"quoted\" [key]"),
            ]),
            path(vec![
                key("spec"),
                key("ports"),
                Segment::Index(0),
                key("port"),
            ]),
            path(vec![key("data"), key("LOG_LEVEL")]),
            path(vec![key("weird.top"), key("x")]),
            path(vec![
                key("spec"),
                key("template"),
                key("spec"),
                key("containers"),
                Segment::Keyed(vec![("name".to_owned(), json!("web"))]),
                key("ports"),
                Segment::Keyed(vec![
                    ("containerPort".to_owned(), json!(8080)),
                    ("protocol".to_owned(), json!("TCP")),
                ]),
                key("hostPort"),
            ]),
            path(vec![
                key("items"),
                Segment::Keyed(vec![
                    ("a".to_owned(), json!(1)),
                    ("b".to_owned(), json!("x")),
                ]),
            ]),
            path(vec![
                key("spec"),
                key("containers"),
                Segment::Keyed(vec![("name".to_owned(), json!("web"))]),
                key("volumeMounts"),
                Segment::Keyed(vec![("mountPath".to_owned(), json!("/data/a,b]c"))]),
                Segment::Index(3),
                Segment::Index(1),
            ]),
        ];
        for original in cases {
            let text = original.to_string();
            let parsed: FieldPath = text.parse().expect("a displayed path parses");
            assert_eq!(parsed, original, "{text}");
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn rejects_malformed_paths() {
        for bad in [
            "spec..replicas",
            "spec.",
            ".spec",
            "containers[",
            "containers[]",
            "containers[web]",
            "labels[\"open",
            "labels[\"a\"x]",
            "a[0]b",
            "a.[0]",
        ] {
            assert!(
                bad.parse::<FieldPath>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }

    #[test]
    fn patterns_match_paths() {
        let path = container_image();
        for pattern in [
            "**.containers[].image",
            "spec.template.spec.containers[name=web].image",
            "spec.**",
            "**",
            "spec.*.spec.containers[].*",
            "/spec/template/spec/containers/*/image",
        ] {
            let p: PathPattern = pattern.parse().expect("valid pattern");
            assert!(p.matches(path.segments()), "{pattern} should match");
        }
        for pattern in [
            "**.containers[name=db].image",
            "spec.replicas",
            "**.initContainers[].image",
            "spec.template.spec.containers.image",
        ] {
            let p: PathPattern = pattern.parse().expect("valid pattern");
            assert!(!p.matches(path.segments()), "{pattern} should not match");
        }
    }

    #[test]
    fn quoted_keys_in_patterns() {
        let p: PathPattern = r#"metadata.annotations["example.com/owner"]"#
            .parse()
            .expect("valid pattern");
        let path = FieldPath::root()
            .child(Segment::Key("metadata".into()))
            .child(Segment::Key("annotations".into()))
            .child(Segment::Key("example.com/owner".into()));
        assert!(p.matches(path.segments()));
    }

    #[test]
    fn rejects_malformed_patterns() {
        for bad in ["", "spec..replicas", "spec.", "containers[", "a[b]"] {
            assert!(
                bad.parse::<PathPattern>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}
