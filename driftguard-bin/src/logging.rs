//! Logging: JSON lines for the service, readable text on stderr for one-shot commands.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{DefaultFields, Format};
use tracing_subscriber::fmt::{MakeWriter, SubscriberBuilder};

use crate::config::LogFormat;

/// For `check` and `config`: warnings by default, more with `-v`, or `RUST_LOG`; stderr,
/// so stdout carries only the command's result. Installed as the global subscriber.
pub fn init_for_command(verbose: u8) {
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = command_logs(verbose, std::io::stderr, ansi).try_init();
}

/// The subscriber [`init_for_command`] installs, writing to `writer` without colours:
/// to capture what a command logs, for example with `tracing::subscriber::with_default`
/// around [`crate::check::run_to`] (which leaves the global subscriber alone).
pub fn command_subscriber<W>(verbose: u8, writer: W) -> impl tracing::Subscriber + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    command_logs(verbose, writer, false).finish()
}

fn command_logs<W>(
    verbose: u8,
    writer: W,
    ansi: bool,
) -> SubscriberBuilder<DefaultFields, Format, EnvFilter, W>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let default = match verbose {
        // kube's client logs each failed request at error level; the command reports the
        // failure itself, in one line.
        // The resource types a cluster leaves out are printed by `check` itself, once,
        // as `driftguard: warning:` lines (or as its error).
        0 => "warn,kube_client=off,driftguard_sources::kube::warnings=off",
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(false)
        .with_ansi(ansi)
}

/// `logging.level` as `EnvFilter` reads it: the directives without the spaces around them
/// (`info, driftguard_sources=debug` is `info,driftguard_sources=debug`; `EnvFilter` would
/// misread a directive that starts with a space).
pub(crate) fn filter_directives(level: &str) -> String {
    level
        .split(',')
        .map(str::trim)
        .filter(|directive| !directive.is_empty())
        .collect::<Vec<_>>()
        .join(",")
}

/// For `serve`: `logging.level` (or `RUST_LOG`, which wins) in `logging.format`, on stdout.
pub(crate) fn init_for_service(level: &str, format: LogFormat, verbose: u8) {
    let level = match verbose {
        0 => level,
        1 => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::try_new(filter_directives(level)).unwrap_or_else(|_| EnvFilter::new("info"))
    });
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder
            .with_target(false)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .try_init(),
    };
}
