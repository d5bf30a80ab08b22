//! The key for Secret fingerprints.

use anyhow::Context as _;
use driftguard_core::secret::FingerprintKey;

/// Environment variable holding the fingerprint key material.
pub const KEY_ENV: &str = "DRIFTGUARD_FINGERPRINT_KEY";

/// The key from `DRIFTGUARD_FINGERPRINT_KEY`, or a random one for this run.
///
/// A one-shot check compares both sides under the same key, so a random key detects
/// Secret drift just as well; a fixed key makes fingerprints comparable across runs.
pub fn key_from_env() -> anyhow::Result<FingerprintKey> {
    if let Ok(material) = std::env::var(KEY_ENV) {
        if !material.is_empty() {
            return Ok(FingerprintKey::derive(&material));
        }
    }
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).context("cannot generate a fingerprint key")?;
    Ok(FingerprintKey::from_bytes(bytes))
}
