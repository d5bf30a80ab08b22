//! Reading Kubernetes manifests: multi-document YAML, JSON (one or several values), and
//! `List` objects, into [`Resource`]s.
//!
//! Secrets are fingerprinted here, as each object is read, so plaintext never leaves
//! this module. Errors name the file and line and never quote the content.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use driftguard_core::secret::{FingerprintKey, fingerprint_secret, secret_shape_problem};
use driftguard_core::{Origin, Resource};
use rayon::prelude::*;
use serde_json::Value;
use serde_saphyr::{Budget, Spanned};

use crate::Error;
use crate::special_file::{self, special_kind};

mod yaml_events;

/// Size and shape limits that keep a hostile or broken file from exhausting memory or stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ManifestLimits {
    /// Largest file read, in bytes.
    pub max_file_bytes: u64,
    /// Largest single document, in bytes of source text. The API server refuses objects
    /// over about 1.5 MiB, so a larger document cannot be a real object.
    pub max_document_bytes: usize,
    /// Deepest nesting of maps and lists.
    pub max_depth: usize,
}

impl ManifestLimits {
    /// Limits for desired manifests written by people: 32 MiB files.
    pub const DESIRED: Self = Self {
        max_file_bytes: 32 * 1024 * 1024,
        max_document_bytes: 4 * 1024 * 1024,
        max_depth: 100,
    };

    /// Limits for live dumps, which hold whole clusters: 512 MiB files.
    pub const LIVE_DUMP: Self = Self {
        max_file_bytes: 512 * 1024 * 1024,
        max_document_bytes: 4 * 1024 * 1024,
        max_depth: 100,
    };
}

impl Default for ManifestLimits {
    fn default() -> Self {
        Self::DESIRED
    }
}

/// Stack for the parser thread; deep documents are refused long before it runs out.
const PARSER_STACK_BYTES: usize = 64 * 1024 * 1024;

/// What anchors and aliases may add to a YAML file beyond what its own size allows:
/// 256 Ki nodes (and 4 MiB of scalars), plenty for manifests that share a container spec
/// through merge keys, and a bound on what a few kilobytes of aliases expand to.
const EXPANSION_ALLOWANCE: usize = 256 * 1024;

/// Reads manifest files into resources, fingerprinting Secrets with its key.
#[derive(Debug, Clone)]
pub struct ManifestReader {
    key: FingerprintKey,
    limits: ManifestLimits,
}

/// A document read and skipped, with why: logged once the file's objects are read, in
/// the order of the files (files are read in parallel).
#[derive(Debug)]
enum Skipped {
    /// Not a mapping.
    NotAnObject,
    /// No apiVersion, kind or metadata.
    NotAManifest,
    /// A build tool's own file (a Kustomization), of this kind.
    ToolFile(String),
}

/// The objects of one file, and the documents skipped in it (with their lines).
type FileRead = (Vec<Resource>, Vec<(u64, Skipped)>);

/// Logs the documents skipped in `path`.
fn log_skipped(path: &Path, skipped: &[(u64, Skipped)]) {
    for (line, why) in skipped {
        let line = *line;
        match why {
            Skipped::NotAnObject => {
                tracing::warn!(file = %path.display(), line, "skipped a document that is not a Kubernetes object (not a mapping)");
            }
            Skipped::NotAManifest => {
                tracing::warn!(file = %path.display(), line, "skipped a document that is not a Kubernetes manifest (no apiVersion, kind or metadata)");
            }
            Skipped::ToolFile(kind) => {
                tracing::warn!(file = %path.display(), line, kind = %kind, "skipped a build-tool file that is not applied to the cluster");
            }
        }
    }
}

/// Threads that parse manifest files, one per core, each with a stack deep enough for
/// the depth limit; `None` if the system refused to start them.
fn parser_threads() -> Option<&'static rayon::ThreadPool> {
    static POOL: OnceLock<Option<rayon::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("manifest-parser-{i}"))
            .stack_size(PARSER_STACK_BYTES)
            .build()
            .ok()
    })
    .as_ref()
}

/// One parsed document and the line it starts on.
struct Document {
    value: Value,
    line: u64,
    bytes: usize,
}

impl ManifestReader {
    /// A reader with these limits, fingerprinting Secret values with `key`.
    pub fn new(key: FingerprintKey, limits: ManifestLimits) -> Self {
        Self { key, limits }
    }

    /// Whether `path` names a manifest file by its extension.
    pub fn is_manifest_file(path: &Path) -> bool {
        matches!(
            path.extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase)
                .as_deref(),
            Some("yaml" | "yml" | "json")
        )
    }

    /// Reads one file.
    pub fn read_file(&self, path: &Path) -> Result<Vec<Resource>, Error> {
        self.read_file_as(path, path)
    }

    /// Reads the file at `path`, naming it `shown` in errors and origins (a path relative
    /// to the repository root, say).
    pub fn read_file_as(&self, path: &Path, shown: &Path) -> Result<Vec<Resource>, Error> {
        let (resources, skipped) = self.read_file_quietly(path, shown)?;
        log_skipped(shown, &skipped);
        Ok(resources)
    }

    /// Reads several files, `(path, shown)` each as [`Self::read_file_as`] does, on every
    /// core: the objects come in the files' order, and so do the warnings about skipped
    /// documents; the first file (in that order) that cannot be read is the error.
    pub fn read_files(&self, files: &[(PathBuf, PathBuf)]) -> Result<Vec<Resource>, Error> {
        let read = |(path, shown): &(PathBuf, PathBuf)| self.read_file_quietly(path, shown);
        let per_file: Vec<Result<FileRead, Error>> = match parser_threads() {
            Some(pool) if files.len() > 1 => pool.install(|| files.par_iter().map(read).collect()),
            _ => files.iter().map(read).collect(),
        };
        let mut resources = Vec::new();
        for ((_, shown), read) in files.iter().zip(per_file) {
            let (objects, skipped) = read?;
            log_skipped(shown, &skipped);
            resources.extend(objects);
        }
        Ok(resources)
    }

    fn read_file_quietly(&self, path: &Path, shown: &Path) -> Result<FileRead, Error> {
        let io_error = |source: std::io::Error| {
            if source.kind() == std::io::ErrorKind::NotFound {
                Error::NotFound {
                    path: shown.to_owned(),
                }
            } else {
                Error::Io {
                    path: shown.to_owned(),
                    source,
                }
            }
        };
        let size = std::fs::metadata(path).map_err(io_error)?.len();
        if size > self.limits.max_file_bytes {
            return Err(Error::TooLarge {
                path: shown.to_owned(),
                size,
                limit: self.limits.max_file_bytes,
            });
        }
        let bytes = std::fs::read(path).map_err(io_error)?;
        self.read_bytes_quietly(shown, &bytes)
    }

    /// Reads manifest content; `path` names it in errors and origins.
    pub fn read_bytes(&self, path: &Path, bytes: &[u8]) -> Result<Vec<Resource>, Error> {
        let (resources, skipped) = self.read_bytes_quietly(path, bytes)?;
        log_skipped(path, &skipped);
        Ok(resources)
    }

    fn read_bytes_quietly(&self, path: &Path, bytes: &[u8]) -> Result<FileRead, Error> {
        let not_text = || Error::NotText {
            path: path.to_owned(),
        };
        if bytes.contains(&0) {
            return Err(not_text());
        }
        let text = std::str::from_utf8(bytes).map_err(|_| not_text())?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let is_json = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("json"));
        let documents = self.parse_on_large_stack(path, text, is_json)?;
        let mut resources = Vec::new();
        let mut skipped = Vec::new();
        let location: Arc<str> = path.display().to_string().into();
        for document in documents {
            if document.bytes > self.limits.max_document_bytes {
                self.check_large_document(path, &document)?;
            }
            if depth_exceeds(&document.value, self.limits.max_depth) {
                return Err(Error::InvalidObject {
                    path: path.to_owned(),
                    line: document.line,
                    reason: format!(
                        "the document nests deeper than {} levels",
                        self.limits.max_depth
                    ),
                });
            }
            self.collect(
                path,
                &location,
                document.line,
                document.value,
                &mut resources,
                &mut skipped,
            )?;
        }
        Ok((resources, skipped))
    }

    /// A document over the size limit is refused, unless it is a `List` (a dump of many
    /// objects, as `kubectl get -o yaml` writes it) whose items are each within the limit.
    fn check_large_document(&self, path: &Path, document: &Document) -> Result<(), Error> {
        let limit = self.limits.max_document_bytes;
        let too_large = |what: &str, bytes: usize| Error::InvalidObject {
            path: path.to_owned(),
            line: document.line,
            reason: format!(
                "{what} is {bytes} bytes; the API server refuses objects this large (limit {limit} bytes)"
            ),
        };
        let items = document
            .value
            .as_object()
            .filter(|map| {
                map.get("kind")
                    .and_then(Value::as_str)
                    .is_some_and(|kind| kind.ends_with("List"))
            })
            .and_then(|map| map.get("items"))
            .and_then(Value::as_array);
        let Some(items) = items else {
            return Err(too_large("the document", document.bytes));
        };
        for (index, item) in items.iter().enumerate() {
            let bytes = json_len(item);
            if bytes > limit {
                return Err(too_large(&format!("item {index} of the List"), bytes));
            }
        }
        Ok(())
    }

    /// Parsers recurse once per nesting level; a dedicated thread with a large stack keeps
    /// the depth limit, not the caller's stack size, the thing that stops deep input.
    fn parse_on_large_stack(
        &self,
        path: &Path,
        text: &str,
        is_json: bool,
    ) -> Result<Vec<Document>, Error> {
        if parser_threads().is_some_and(|pool| pool.current_thread_index().is_some()) {
            // Already on a parser thread, whose stack is as large.
            return if is_json {
                parse_json(path, text)
            } else {
                self.parse_yaml(path, text)
            };
        }
        std::thread::scope(|scope| {
            let parser = std::thread::Builder::new()
                .name("manifest-parser".to_owned())
                .stack_size(PARSER_STACK_BYTES)
                .spawn_scoped(scope, || {
                    if is_json {
                        parse_json(path, text)
                    } else {
                        self.parse_yaml(path, text)
                    }
                })
                .map_err(|source| Error::Io {
                    path: path.to_owned(),
                    source,
                })?;
            parser.join().unwrap_or_else(|_| {
                Err(Error::InvalidObject {
                    path: path.to_owned(),
                    line: 1,
                    reason: "the parser failed on this file".to_owned(),
                })
            })
        })
    }

    fn parse_yaml(&self, path: &Path, text: &str) -> Result<Vec<Document>, Error> {
        // The usual shape of manifests is read from the parser's events; anything else,
        // and every error, the full way.
        if let Some(documents) = yaml_events::read_documents(text, self.limits.max_depth) {
            let offsets: Vec<usize> = documents
                .iter()
                .map(|d| d.offset)
                .chain(std::iter::once(text.len()))
                .collect();
            let documents: Vec<Document> = documents
                .into_iter()
                .enumerate()
                .map(|(i, d)| Document {
                    line: d.line.max(1),
                    bytes: offsets[i + 1].saturating_sub(offsets[i]),
                    value: d.value,
                })
                .collect();
            // A document near the size limit gets the full reader's accounting.
            if documents
                .iter()
                .all(|d| d.bytes < self.limits.max_document_bytes / 2)
            {
                return Ok(documents);
            }
        }
        let parsed =
            saphyr_documents(text, self.limits).map_err(|error| yaml_error(path, &error))?;
        let offsets: Vec<usize> = parsed
            .iter()
            .map(|d| d.referenced.span().offset() as usize)
            .chain(std::iter::once(text.len()))
            .collect();
        Ok(parsed
            .into_iter()
            .enumerate()
            .map(|(i, d)| Document {
                line: d.referenced.line().max(1),
                bytes: offsets[i + 1].saturating_sub(offsets[i]),
                value: d.value,
            })
            .collect())
    }

    fn collect(
        &self,
        path: &Path,
        location: &Arc<str>,
        line: u64,
        value: Value,
        out: &mut Vec<Resource>,
        skipped: &mut Vec<(u64, Skipped)>,
    ) -> Result<(), Error> {
        let invalid = |reason: String| Error::InvalidObject {
            path: path.to_owned(),
            line,
            reason,
        };
        let mut map = match value {
            Value::Null => return Ok(()),
            Value::Object(map) => map,
            Value::Array(items) if items.iter().any(|i| i.get("kind").is_some()) => {
                return Err(invalid(
                    "the document is a list of objects; write them as separate documents or as a `kind: List`"
                        .to_owned(),
                ));
            }
            _ => {
                skipped.push((line, Skipped::NotAnObject));
                return Ok(());
            }
        };
        let kind = map.get("kind").and_then(Value::as_str).map(str::to_owned);
        let api_version = map
            .get("apiVersion")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let Some(kind) = kind else {
            if map.contains_key("kind") {
                return Err(invalid("`kind` is not a string".to_owned()));
            }
            if map.contains_key("metadata") || (api_version.is_some() && !is_helm_chart(&map)) {
                return Err(invalid("the document has no `kind`".to_owned()));
            }
            skipped.push((line, Skipped::NotAManifest));
            return Ok(());
        };
        if api_version.as_deref().is_some_and(is_tooling_api) {
            skipped.push((line, Skipped::ToolFile(kind)));
            return Ok(());
        }
        let named = map
            .get("metadata")
            .and_then(|m| m.get("name"))
            .is_some_and(|n| !n.is_null());
        if kind.ends_with("List") && !named && !map.contains_key("items") {
            // A List with no items.
            return Ok(());
        }
        if let Some(item_kind) = kind.strip_suffix("List")
            && let Some(items) = map.remove("items")
        {
            let items = match items {
                Value::Array(items) => items,
                // Go writes an empty list as `null`.
                Value::Null => Vec::new(),
                _ => return Err(invalid(format!("the {kind}'s `items` is not a list"))),
            };
            for (index, item) in items.into_iter().enumerate() {
                if item.is_null() {
                    continue;
                }
                if !item.is_object() {
                    return Err(invalid(format!(
                        "item {index} of the {kind} is not an object"
                    )));
                }
                let item = fill_list_item(item, item_kind, api_version.as_deref());
                self.collect(path, location, line, item, out, skipped)
                    .map_err(|error| match error {
                        Error::InvalidObject { path, line, reason } => Error::InvalidObject {
                            path,
                            line,
                            reason: format!("item {index} of the {kind}: {reason}"),
                        },
                        other => other,
                    })?;
            }
            return Ok(());
        }
        let mut object = Value::Object(map);
        if let Some(problem) = secret_shape_problem(&object) {
            return Err(invalid(problem));
        }
        fingerprint_secret(&mut object, &self.key);
        let origin = Origin {
            location: Arc::clone(location),
            line: Some(line),
        };
        let resource = Resource::from_object(object, Some(origin)).map_err(|e| match e {
            driftguard_core::Error::InvalidObject { reason, .. } => invalid(reason),
            other => invalid(other.to_string()),
        })?;
        out.push(resource);
        Ok(())
    }
}

/// Every document of `text` read by serde-saphyr with the reader's budget: anchors and
/// aliases may repeat what the text holds, but not multiply it (a few thousand aliases in
/// a small file could otherwise expand into gigabytes).
fn saphyr_documents(
    text: &str,
    limits: ManifestLimits,
) -> Result<Vec<Spanned<Value>>, serde_saphyr::Error> {
    let mut budget = Budget::default();
    budget.max_depth = limits.max_depth;
    budget.max_documents = usize::MAX;
    // Text without aliases holds at most about one node per two bytes.
    budget.max_events = text
        .len()
        .saturating_mul(2)
        .saturating_add(2 * EXPANSION_ALLOWANCE);
    budget.max_nodes = text.len().saturating_add(EXPANSION_ALLOWANCE);
    budget.max_total_scalar_bytes = text
        .len()
        .saturating_mul(2)
        .saturating_add(16 * EXPANSION_ALLOWANCE);
    budget.max_recorded_anchor_bytes = budget.max_total_scalar_bytes;
    // kubectl reads manifests as YAML 1.1 (sigs.k8s.io/yaml): `0644` is octal 420 and
    // `yes`/`on` are booleans. Read them the same way, or a mode written in octal
    // would look like drift against the decimal the API server returns.
    let options = serde_saphyr::options! {
        budget: Some(budget),
        with_snippet: false,
        legacy_octal_numbers: true,
        strict_booleans: false,
    };
    serde_saphyr::from_multiple_with_options(text, options)
}

/// The length of `value` as compact JSON, counted without writing it anywhere.
fn json_len(value: &Value) -> usize {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        Err(_) => usize::MAX,
    }
}

/// The error for unreadable YAML in `path`, with the line and column the parser names.
pub(crate) fn yaml_error(path: &Path, error: &serde_saphyr::Error) -> Error {
    let location = error.location();
    Error::Syntax {
        path: path.to_owned(),
        format: "YAML",
        line: location.map_or(1, |l| l.line()),
        column: location.map_or(1, |l| l.column()),
        message: yaml_message(error, location.is_some()),
    }
}

/// What is wrong with unreadable YAML, in words: budget breaches explained, the parser's
/// advice to its own callers and its line suffix (the error names the line) left out.
fn yaml_message(error: &serde_saphyr::Error, has_location: bool) -> String {
    use serde_saphyr::budget::BudgetBreach;
    let mut inner = error;
    while let serde_saphyr::Error::AliasError { error, .. }
    | serde_saphyr::Error::WithSnippet { error, .. } = inner
    {
        inner = error;
    }
    if let serde_saphyr::Error::Budget { breach, .. } = inner {
        return match breach {
            BudgetBreach::Depth { .. } => "the document nests too deeply".to_owned(),
            BudgetBreach::Aliases { .. }
            | BudgetBreach::Anchors { .. }
            | BudgetBreach::AliasAnchorRatio { .. }
            | BudgetBreach::RecordedAnchorEvents { .. }
            | BudgetBreach::RecordedAnchorBytes { .. }
            | BudgetBreach::MergeKeys { .. }
            | BudgetBreach::Nodes { .. }
            | BudgetBreach::Events { .. }
            | BudgetBreach::ScalarBytes { .. } => {
                "anchors and aliases expand the file far beyond its own size; refused".to_owned()
            }
            _ => "the file exceeds the YAML reader's limits".to_owned(),
        };
    }
    let mut message = inner.to_string();
    if has_location && let Some(at) = message.rfind(" at line ") {
        message.truncate(at);
    }
    if let Some(at) = message.find(", set DuplicateKeyPolicy") {
        message.truncate(at);
    }
    if message.contains("recursive references") {
        return "an alias refers to the node that contains it".to_owned();
    }
    message
}

/// Items of a typed list (`DeploymentList`) may omit their own kind and apiVersion.
fn fill_list_item(mut item: Value, item_kind: &str, api_version: Option<&str>) -> Value {
    if let Value::Object(map) = &mut item {
        if !map.contains_key("kind") && !item_kind.is_empty() {
            map.insert("kind".to_owned(), Value::String(item_kind.to_owned()));
        }
        if !map.contains_key("apiVersion")
            && let Some(v) = api_version
        {
            map.insert("apiVersion".to_owned(), Value::String(v.to_owned()));
        }
    }
    item
}

/// Helm's `Chart.yaml` has an apiVersion but is no Kubernetes object.
fn is_helm_chart(map: &serde_json::Map<String, Value>) -> bool {
    map.contains_key("name") && map.contains_key("version") && !map.contains_key("metadata")
}

/// API groups of build tools (Kustomize, KRM functions), not of cluster objects.
fn is_tooling_api(api_version: &str) -> bool {
    api_version.starts_with("kustomize.config.k8s.io/")
        || api_version.starts_with("config.kubernetes.io/")
}

fn parse_json(path: &Path, text: &str) -> Result<Vec<Document>, Error> {
    let mut documents = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    loop {
        let start = stream.byte_offset();
        match stream.next() {
            None => break,
            Some(Ok(value)) => {
                let leading = text[start..].len() - text[start..].trim_start().len();
                let begin = start + leading;
                documents.push(Document {
                    value,
                    line: line_of(text, begin),
                    bytes: stream.byte_offset() - begin,
                });
            }
            Some(Err(error)) => {
                return Err(Error::Syntax {
                    path: path.to_owned(),
                    format: "JSON",
                    // serde_json counts a fault on a line's first character as column 0.
                    line: (error.line() as u64).max(1),
                    column: (error.column() as u64).max(1),
                    message: json_message(&error),
                });
            }
        }
    }
    Ok(documents)
}

/// serde_json's message without its own " at line N column M" suffix.
fn json_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

fn line_of(text: &str, offset: usize) -> u64 {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count() as u64
        + 1
}

fn depth_exceeds(value: &Value, limit: usize) -> bool {
    let mut stack: Vec<(&Value, usize)> = vec![(value, 1)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Object(map) => Box::new(map.values()),
            Value::Array(items) => Box::new(items.iter()),
            _ => continue,
        };
        if depth > limit {
            return true;
        }
        stack.extend(children.map(|c| (c, depth + 1)));
    }
    false
}

/// Every manifest file under `root` (or `root` itself when it is a file), sorted by path.
/// Hidden files and folders (`.git`, `.github`) are skipped, and so are symbolic links
/// (with a warning); a named pipe, socket or device is an error that names it.
pub fn manifest_files(root: &Path) -> Result<Vec<PathBuf>, Error> {
    let metadata = std::fs::metadata(root).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound {
                path: root.to_owned(),
            }
        } else {
            Error::Io {
                path: root.to_owned(),
                source,
            }
        }
    })?;
    if metadata.is_file() {
        return Ok(vec![root.to_owned()]);
    }
    if !metadata.is_dir() {
        let kind = special_kind(&metadata.file_type()).unwrap_or("a special file");
        return Err(special_file::refuse(root, kind));
    }
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| {
            entry.depth() == 0 || !entry.file_name().to_string_lossy().starts_with('.')
        });
    for entry in walker {
        let entry = entry.map_err(|error| {
            let path = error.path().unwrap_or(root).to_owned();
            let source = match error.io_error() {
                Some(io) => std::io::Error::new(io.kind(), io.to_string()),
                None => std::io::Error::other(error.to_string()),
            };
            Error::Io { path, source }
        })?;
        if entry.file_type().is_symlink() {
            // As in a Git repository, where a link's target may lie outside it.
            tracing::warn!(path = %entry.path().display(), "skipped a symbolic link; links are not followed");
        } else if let Some(kind) = special_kind(&entry.file_type()) {
            return Err(special_file::refuse(entry.path(), kind));
        } else if entry.file_type().is_file() && ManifestReader::is_manifest_file(entry.path()) {
            files.push(entry.into_path());
        }
    }
    Ok(files)
}
