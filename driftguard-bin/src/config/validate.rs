//! Checks of the configuration as a whole: each section's own `validate`, then what needs
//! more than one section. Every problem names its key.

use anyhow::bail;
use driftguard_sources::{LiveKind, resolve_applications};

use super::Settings;

/// Checks the settings as a whole; the first problem found is the error, naming its key.
pub fn validate(settings: &Settings) -> anyhow::Result<()> {
    settings.server.validate()?;
    if tracing_subscriber::EnvFilter::try_new(&settings.logging.level).is_err() {
        bail!(
            "logging.level `{}` is not a level (error, warn, info, debug, trace) or a tracing filter",
            settings.logging.level
        );
    }
    settings.database.validate()?;
    settings.detection.validate()?;
    settings.render.validate()?;
    settings.sources.validate()?;
    resolve_applications(&settings.sources, &settings.git, &settings.applications)?;
    if settings.sources.live == LiveKind::Kubernetes {
        settings.kubernetes.validate()?;
    }
    Ok(())
}
