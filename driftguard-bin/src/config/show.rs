//! `driftguard config show`: the effective configuration with secrets redacted.

use driftguard_sources::git::redact_url;
use driftguard_store::{DatabaseKind, redact_uri};

use super::Settings;

/// What replaces a secret in the output.
const REDACTED: &str = "<redacted>";

/// The settings with the fingerprint key and the credentials in the database and Git URLs
/// (the top-level one and every application's) replaced. Token and passphrase values
/// never live in the settings (only the names of the variables or files holding them), so
/// there is nothing else to hide.
pub fn redacted(settings: &Settings) -> Settings {
    let mut copy = settings.clone();
    if copy.detection.fingerprint_key.is_some() {
        copy.detection.fingerprint_key = Some(REDACTED.to_owned());
    }
    if let DatabaseKind::Mongodb { uri, .. } = &mut copy.database.kind {
        *uri = redact_uri(uri);
    }
    copy.git.url = redact_url(&copy.git.url);
    for application in &mut copy.applications {
        if let Some(git) = &mut application.git
            && let Some(url) = &mut git.url
        {
            *url = redact_url(url);
        }
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_in_the_database_uri_are_redacted() {
        let settings = Settings {
            database: driftguard_store::StoreConfig::mongodb(
                "mongodb://admin:s3cret@db-0.example:27017/drift?replicaSet=rs0",
                "driftguard",
            ),
            ..Settings::default()
        };
        let shown = match redacted(&settings).database.kind {
            DatabaseKind::Mongodb { uri, .. } => uri,
            DatabaseKind::Sqlite { .. } => String::new(),
        };
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(
            shown.contains("db-0.example:27017/drift?replicaSet=rs0"),
            "{shown}"
        );
    }

    #[test]
    fn the_fingerprint_key_is_redacted() {
        let mut settings = Settings::default();
        settings.detection.fingerprint_key = Some("correct horse".to_owned());
        let shown = format!("{:?}", redacted(&settings));
        assert!(!shown.contains("correct horse"), "{shown}");
        assert!(shown.contains(REDACTED));
    }
}
