//! Checks of the configuration as a whole: each section's own `validate`, then what needs
//! more than one section. Every problem names its key.

use anyhow::{anyhow, bail};
use driftguard_sources::{LiveKind, resolve_applications};

use super::Settings;

/// Checks the settings as a whole; the first problem found is the error, naming its key.
pub fn validate(settings: &Settings) -> anyhow::Result<()> {
    settings.server.validate().map_err(|e| anyhow!("{e}"))?;
    if tracing_subscriber::EnvFilter::try_new(&settings.logging.level).is_err() {
        bail!(
            "logging.level `{}` is not a level (error, warn, info, debug, trace) or a tracing filter",
            settings.logging.level
        );
    }
    settings.database.validate().map_err(|e| anyhow!("{e}"))?;
    settings.detection.validate().map_err(|e| anyhow!("{e}"))?;
    settings.render.validate().map_err(|e| anyhow!("{e}"))?;
    settings.sources.validate().map_err(|e| anyhow!("{e}"))?;
    resolve_applications(&settings.sources, &settings.git, &settings.applications)
        .map_err(|e| anyhow!("{e}"))?;
    if settings.sources.live == LiveKind::Kubernetes {
        settings.kubernetes.validate().map_err(|e| anyhow!("{e}"))?;
    }
    Ok(())
}
