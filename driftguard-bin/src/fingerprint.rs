//! The key for Secret fingerprints: from configuration, or generated once and kept.

use std::io::Write as _;
use std::path::Path;

use anyhow::{Context as _, bail};
use driftguard_core::secret::FingerprintKey;

use crate::config::Settings;

fn random_bytes() -> anyhow::Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).context("cannot generate a fingerprint key")?;
    Ok(bytes)
}

/// The key for `check`: `detection.fingerprint_key` (set in the file given with
/// `--config`, in `DRIFTGUARD__DETECTION__FINGERPRINT_KEY` or in its older name
/// `DRIFTGUARD_FINGERPRINT_KEY`); else, with `--config`, the service's key file when it
/// exists (so that fingerprints match the service's records); else a random key for
/// this run.
///
/// A one-shot check compares both sides under the same key, so a random key detects
/// Secret drift just as well; a fixed key makes fingerprints comparable across runs.
/// `check` never creates a key file.
pub fn key_for_check(settings: &Settings, config_given: bool) -> anyhow::Result<FingerprintKey> {
    if let Some(material) = settings.detection.fingerprint_key.as_deref() {
        if material.trim().is_empty() {
            bail!("detection.fingerprint_key holds only whitespace; set a real key or unset it");
        }
        return Ok(FingerprintKey::derive(material));
    }
    let path = &settings.detection.fingerprint_key_file;
    if config_given && path.exists() {
        return read_key_file(path);
    }
    Ok(FingerprintKey::from_bytes(random_bytes()?))
}

/// The key for the service: `detection.fingerprint_key` when set, else the key kept in
/// `detection.fingerprint_key_file`, generated on first start.
///
/// Stored records hold fingerprints made with this key, so it must stay the same across
/// restarts: a new key would make every Secret look changed once.
pub fn key_for_service(settings: &Settings) -> anyhow::Result<FingerprintKey> {
    if let Some(material) = settings.detection.fingerprint_key.as_deref() {
        if material.trim().is_empty() {
            bail!("detection.fingerprint_key is empty");
        }
        return Ok(FingerprintKey::derive(material));
    }
    let path = &settings.detection.fingerprint_key_file;
    if path.exists() {
        return read_key_file(path);
    }
    let bytes = random_bytes()?;
    write_key_file(path, &bytes)?;
    tracing::info!(file = %path.display(), "generated a Secret fingerprint key and kept it");
    Ok(FingerprintKey::from_bytes(bytes))
}

fn read_key_file(path: &Path) -> anyhow::Result<FingerprintKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the fingerprint key file {}", path.display()))?;
    let text = text.trim();
    let bytes: Option<Vec<u8>> = (text.len() == 64)
        .then(|| {
            (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok())
                .collect()
        })
        .flatten();
    match bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()) {
        Some(bytes) => Ok(FingerprintKey::from_bytes(bytes)),
        None => bail!(
            "the fingerprint key file {} does not hold 64 hex characters; restore it, or delete it to start with a new key",
            path.display()
        ),
    }
}

fn write_key_file(path: &Path, bytes: &[u8; 32]) -> anyhow::Result<()> {
    crate::wiring::create_parent(path)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create the fingerprint key file {}", path.display()))?;
    writeln!(file, "{hex}")
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write the fingerprint key file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_kept_and_reused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings::default();
        settings.detection.fingerprint_key_file = dir.path().join("keys/fingerprint.key");
        let first = key_for_service(&settings).expect("generated");
        let second = key_for_service(&settings).expect("read back");
        assert_eq!(first, second);
        assert_eq!(first.fingerprint(b"x"), second.fingerprint(b"x"));
    }

    #[test]
    fn a_damaged_key_file_is_an_error_not_a_new_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fingerprint.key");
        std::fs::write(&path, "not a key\n").expect("write");
        let mut settings = Settings::default();
        settings.detection.fingerprint_key_file = path;
        let error = key_for_service(&settings).expect_err("damaged file");
        assert!(error.to_string().contains("64 hex characters"), "{error}");
    }

    #[test]
    fn a_configured_key_wins() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut settings = Settings::default();
        settings.detection.fingerprint_key_file = dir.path().join("unused.key");
        settings.detection.fingerprint_key = Some("team secret".to_owned());
        let key = key_for_service(&settings).expect("derived");
        assert_eq!(key, FingerprintKey::derive("team secret"));
        assert!(!settings.detection.fingerprint_key_file.exists());
    }
}
