//! `driftguard config validate` and `driftguard config show`.

use std::process::ExitCode;

use crate::cli::ConfigCommand;
use crate::config;
use crate::wiring;

/// Runs a `config` subcommand.
pub fn run(command: &ConfigCommand) -> ExitCode {
    let (path, show) = match command {
        ConfigCommand::Validate { config } => (config, false),
        ConfigCommand::Show { config } => (config, true),
    };
    let loaded = match config::load(path.as_deref()).and_then(|loaded| {
        config::validate(&loaded.settings)?;
        wiring::detection_settings(&loaded.settings)?;
        Ok(loaded)
    }) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("driftguard: error: {}", crate::error_text::one_line(&error));
            return ExitCode::from(2);
        }
    };
    if show {
        let shown = config::redacted(&loaded.settings);
        match serde_saphyr::to_string(&shown) {
            Ok(yaml) => print!("{yaml}"),
            Err(error) => {
                eprintln!("driftguard: error: cannot print the configuration: {error}");
                return ExitCode::from(2);
            }
        }
    } else {
        let from = loaded.file.as_ref().map_or_else(
            || "built-in defaults and the environment".to_owned(),
            |f| f.display().to_string(),
        );
        println!("configuration is valid ({from})");
    }
    ExitCode::SUCCESS
}
