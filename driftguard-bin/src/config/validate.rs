//! Checks that need more than one key, or more than a type: every problem names its key.

use anyhow::bail;

use super::{DatabaseType, DesiredKind, GitAuthKind, LiveKind, Settings};

/// Checks the settings as a whole; the first problem found is the error, naming its key.
///
/// The detection rules (classification, ignore, severities) are checked where they are
/// built, by [`crate::wiring::detection_settings`].
pub fn validate(settings: &Settings) -> anyhow::Result<()> {
    if settings.server.host.parse::<std::net::IpAddr>().is_err() {
        bail!(
            "server.host `{}` is not an IP address to listen on (0.0.0.0, 127.0.0.1, ::)",
            settings.server.host
        );
    }
    if settings.detection.interval.is_zero() {
        bail!("detection.interval must be longer than zero");
    }
    if settings.kubernetes.page_size == 0 {
        bail!("kubernetes.page_size must be at least 1");
    }
    if settings.kubernetes.request_timeout.is_zero() {
        bail!("kubernetes.request_timeout must be longer than zero");
    }
    if settings.database.connect_timeout.is_zero() {
        bail!("database.connect_timeout must be longer than zero");
    }
    if tracing_subscriber::EnvFilter::try_new(&settings.logging.level).is_err() {
        bail!(
            "logging.level `{}` is not a level (error, warn, info, debug, trace) or a tracing filter",
            settings.logging.level
        );
    }
    match settings.database.kind {
        DatabaseType::Sqlite => {
            if settings.database.path.as_os_str().is_empty() {
                bail!("database.path is empty");
            }
            if settings.database.uri.is_some() {
                bail!(
                    "database.uri is set but database.type is sqlite; set database.type: mongodb to use MongoDB"
                );
            }
        }
        DatabaseType::Mongodb => {
            let uri = settings.database.uri.as_deref().unwrap_or_default().trim();
            if !(uri.starts_with("mongodb://") || uri.starts_with("mongodb+srv://")) {
                bail!(
                    "database.uri must start with mongodb:// or mongodb+srv:// when database.type is mongodb"
                );
            }
            if settings.database.name.trim().is_empty() {
                bail!("database.name is empty");
            }
        }
    }
    match settings.sources.desired {
        DesiredKind::Folder => {
            if settings.sources.folder.is_none() {
                bail!("sources.folder is required when sources.desired is folder");
            }
        }
        DesiredKind::Git => {
            if settings.git.url.trim().is_empty() {
                bail!(
                    "git.url is required when sources.desired is git (or set sources.desired: folder and sources.folder)"
                );
            }
            validate_git_auth(settings)?;
            crate::wiring::git_config(&settings.git)
                .validate()
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    if settings.sources.live == LiveKind::Kubernetes {
        crate::wiring::kube_config(&settings.kubernetes)
            .validate()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    if settings.sources.live == LiveKind::Dump && settings.sources.dump.is_none() {
        bail!("sources.dump is required when sources.live is dump");
    }
    Ok(())
}

fn validate_git_auth(settings: &Settings) -> anyhow::Result<()> {
    let auth = &settings.git.auth;
    match auth.kind {
        GitAuthKind::None | GitAuthKind::SshAgent => {}
        GitAuthKind::Token => match (&auth.token_env, &auth.token_file) {
            (None, None) => {
                bail!(
                    "git.auth.token_env or git.auth.token_file is required when git.auth.type is token"
                )
            }
            (Some(_), Some(_)) => {
                bail!("set only one of git.auth.token_env and git.auth.token_file")
            }
            _ => {}
        },
        GitAuthKind::Ssh => {
            if auth.ssh_key.is_none() {
                bail!("git.auth.ssh_key is required when git.auth.type is ssh");
            }
            if auth.ssh_passphrase_env.is_some() && auth.ssh_passphrase_file.is_some() {
                bail!(
                    "set only one of git.auth.ssh_passphrase_env and git.auth.ssh_passphrase_file"
                );
            }
        }
    }
    Ok(())
}
