//! The parse floor: how long the fastest single-threaded way to merely read an input takes,
//! the reference against which `driftguard check` is measured (the target is a check in at
//! most 2× this time; `scripts/load/check.sh` runs both on the same generated input).
//!
//! Walks a desired folder and a live folder, reads every `.yaml`, `.yml` and `.json` file
//! into memory (not timed), then times, on one thread, parsing every YAML file (all its
//! documents) with `yaml-rust2`'s `YamlLoader::load_from_str` and every JSON file with
//! `serde_json::from_str::<serde_json::Value>`. Both build a full tree of each document, as
//! any reader that goes on to look at the objects must; nothing else is done with it (the
//! time includes freeing each tree). The same parsers in a real reader could only be
//! slower: these figures leave out everything but the parse.
//!
//! Prints one `name value` line per figure, for scripts: file, byte and document counts
//! (`json_items` counts a `List`'s items, other JSON documents as one) so that a reader can
//! see everything was parsed, then `yaml_seconds`, `json_seconds` and their sum,
//! `floor_seconds`.
//!
//! ```text
//! cargo run --release -p driftguard-sources --example parse_floor -- DESIRED_DIR LIVE_DIR
//! ```

use std::error::Error;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use walkdir::WalkDir;
use yaml_rust2::YamlLoader;

/// The files of one format, read into memory.
#[derive(Default)]
struct Inputs {
    files: Vec<(PathBuf, String)>,
    bytes: usize,
}

impl Inputs {
    fn add(&mut self, path: PathBuf, text: String) {
        self.bytes += text.len();
        self.files.push((path, text));
    }
}

/// Reads every YAML and JSON file under `dir` (sorted, recursively) into `yaml` and `json`.
fn read(dir: &Path, yaml: &mut Inputs, json: &mut Inputs) -> Result<(), Box<dyn Error>> {
    for entry in WalkDir::new(dir).sort_by_file_name() {
        let entry = entry?;
        if !entry.file_type().is_file() {
            continue;
        }
        let path = entry.into_path();
        let target = match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => &mut *yaml,
            Some("json") => &mut *json,
            _ => continue,
        };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        target.add(path, text);
    }
    Ok(())
}

/// Parses every YAML file; returns the number of documents.
fn parse_yaml(inputs: &Inputs) -> Result<usize, Box<dyn Error>> {
    let mut documents = 0;
    for (path, text) in &inputs.files {
        let docs = YamlLoader::load_from_str(black_box(text))
            .map_err(|e| format!("parsing {}: {e}", path.display()))?;
        documents += black_box(docs).len();
    }
    Ok(documents)
}

/// Parses every JSON file; returns the number of objects (a `List`'s items, else one).
fn parse_json(inputs: &Inputs) -> Result<usize, Box<dyn Error>> {
    let mut items = 0;
    for (path, text) in &inputs.files {
        let value = serde_json::from_str::<serde_json::Value>(black_box(text))
            .map_err(|e| format!("parsing {}: {e}", path.display()))?;
        items += match value.get("items").and_then(|i| i.as_array()) {
            Some(list) => list.len(),
            None => 1,
        };
        drop(black_box(value));
    }
    Ok(items)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [desired, live] = args.as_slice() else {
        return Err("usage: parse_floor DESIRED_DIR LIVE_DIR".into());
    };
    let (mut yaml, mut json) = (Inputs::default(), Inputs::default());
    for dir in [desired, live] {
        read(Path::new(dir), &mut yaml, &mut json)?;
    }
    if yaml.files.is_empty() && json.files.is_empty() {
        return Err(format!("no .yaml, .yml or .json file under {desired} or {live}").into());
    }

    let start = Instant::now();
    let documents = parse_yaml(&yaml)?;
    let yaml_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let items = parse_json(&json)?;
    let json_seconds = start.elapsed().as_secs_f64();

    println!("yaml_files {}", yaml.files.len());
    println!("yaml_bytes {}", yaml.bytes);
    println!("yaml_documents {documents}");
    println!("json_files {}", json.files.len());
    println!("json_bytes {}", json.bytes);
    println!("json_items {items}");
    println!("yaml_seconds {yaml_seconds:.3}");
    println!("json_seconds {json_seconds:.3}");
    println!("floor_seconds {:.3}", yaml_seconds + json_seconds);
    Ok(())
}
