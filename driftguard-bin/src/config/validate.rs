//! Checks of the configuration as a whole: each section's own `validate`, then what needs
//! more than one section. Every problem names its key.

use anyhow::bail;
use driftguard_sources::LiveKind;
use tracing_subscriber::filter::Directive;

use super::Settings;
use crate::logging::filter_directives;

/// Checks the settings as a whole; the first problem found is the error, naming its key.
pub fn validate(settings: &Settings) -> anyhow::Result<()> {
    settings.server.validate()?;
    settings.cluster.validate()?;
    check_log_level(&settings.logging.level)?;
    settings.database.validate()?;
    settings.retention.validate()?;
    settings.detection.validate()?;
    settings.render.validate()?;
    settings.sources.validate()?;
    for cluster in crate::topology::plan(settings)? {
        if settings.sources.live == LiveKind::Kubernetes {
            let checked = cluster.kubernetes.validate();
            if settings.clusters.is_empty() {
                checked?;
            } else {
                checked.map_err(|e| anyhow::anyhow!("clusters: `{}`: {e}", cluster.name))?;
            }
        }
    }
    Ok(())
}

/// The levels `logging.level` accepts, alone or after `target=` (any case).
const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];

/// [`LEVELS`] as messages list them.
const LEVEL_LIST: &str = "error, warn, info, debug, trace or off";

/// Checks `logging.level`: comma-separated directives, each a level (`info`) or a level
/// for some events (`driftguard_sources=debug`, `target[span]=trace`,
/// `[span{field}]=debug`), as tracing's `EnvFilter` reads them.
///
/// `EnvFilter` reads a bare word that is not a level as a target name, enabled at every
/// level; a misspelt level (`inof`) would then silence everything else. So a bare word
/// must be a level, and a level must follow each `=`.
fn check_log_level(value: &str) -> anyhow::Result<()> {
    let directives: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    if directives.is_empty() {
        bail!("logging.level is empty; set a level ({LEVEL_LIST})");
    }
    for directive in directives {
        if let Err(problem) = check_directive(directive) {
            if directive == value.trim() {
                bail!("logging.level `{value}`: {problem}");
            }
            bail!("logging.level `{value}`: in `{directive}`, {problem}");
        }
    }
    if let Err(error) = tracing_subscriber::EnvFilter::try_new(filter_directives(value)) {
        bail!("logging.level `{value}` is not a tracing filter: {error}");
    }
    Ok(())
}

/// Why one directive of `logging.level` is refused, if it is.
fn check_directive(directive: &str) -> Result<(), String> {
    // A span's field filter may hold `=`; the level follows the `=` after the span.
    let selector_end = directive.rfind(']').map_or(0, |end| end + 1);
    let level = directive[selector_end..]
        .find('=')
        .map(|at| &directive[selector_end + at + 1..]);
    match level {
        None if is_level(directive) => return Ok(()),
        None if directive.contains('[') => {
            return Err(format!(
                "a span filter needs a level: write `{directive}=<level>` ({LEVEL_LIST})"
            ));
        }
        None => {
            let hint = match closest_level(directive) {
                Some(level) => format!("did you mean `{level}`?"),
                None => format!("to set the level of a target, write `{directive}=<level>`"),
            };
            return Err(format!(
                "`{directive}` is not a level ({LEVEL_LIST}); {hint}"
            ));
        }
        Some("") => {
            return Err(format!("a level must follow `=` ({LEVEL_LIST})"));
        }
        Some(level) if !is_level(level) => {
            let hint = closest_level(level)
                .map(|closest| format!("; did you mean `{closest}`?"))
                .unwrap_or_default();
            return Err(format!("`{level}` is not a level ({LEVEL_LIST}){hint}"));
        }
        Some(_) => {}
    }
    directive.parse::<Directive>().map(|_| ()).map_err(|error| {
        format!(
            "not a filter directive (`target=level`, `target[span]=level` or `[span{{field}}]=level`): {error}"
        )
    })
}

fn is_level(word: &str) -> bool {
    LEVELS.iter().any(|level| level.eq_ignore_ascii_case(word))
}

/// The level `word` is probably a misspelling of: one it abbreviates or extends
/// (`warning`, `err`), or one a typo or two away (`inof`, `degub`).
fn closest_level(word: &str) -> Option<&'static str> {
    let word = word.to_ascii_lowercase();
    if word.len() >= 3
        && let Some(level) = LEVELS
            .iter()
            .find(|level| word.starts_with(**level) || level.starts_with(word.as_str()))
    {
        return Some(level);
    }
    let allowed = if word.chars().count() >= 5 { 2 } else { 1 };
    LEVELS
        .iter()
        .map(|level| (edit_distance(&word, level), *level))
        .filter(|(distance, _)| *distance <= allowed)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, level)| level)
}

/// Edits (insertions, deletions, substitutions, swaps of neighbours) from `a` to `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn level_error(value: &str) -> String {
        check_log_level(value)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn levels_and_filters_are_accepted() {
        for value in [
            "info",
            "INFO",
            "Debug",
            "off",
            "info,driftguard_sources=debug",
            "warn, driftguard_api::report=info",
            "driftguard_sources[refresh]=trace",
            "[analysis{mode}]=debug",
            "error,kube_client=off,",
        ] {
            assert!(
                check_log_level(value).is_ok(),
                "{value}: {}",
                level_error(value)
            );
        }
    }

    #[test]
    fn a_misspelt_level_is_refused_with_the_closest_level() {
        let error = level_error("inof");
        assert_eq!(
            error,
            "logging.level `inof`: `inof` is not a level (error, warn, info, debug, trace or off); did you mean `info`?"
        );
        for (typo, level) in [
            ("warning", "warn"),
            ("err", "error"),
            ("Degub", "debug"),
            ("trcae", "trace"),
            ("infoo", "info"),
        ] {
            let error = level_error(typo);
            assert!(
                error.contains(&format!("did you mean `{level}`?")),
                "{typo}: {error}"
            );
        }
    }

    #[test]
    fn a_bare_target_or_a_bad_level_after_equals_is_refused() {
        let error = level_error("info,driftguard_sources");
        assert!(
            error.contains("`driftguard_sources` is not a level")
                && error.contains("write `driftguard_sources=<level>`"),
            "{error}"
        );
        let error = level_error("info,driftguard_sources=verbose");
        assert!(
            error.contains("in `driftguard_sources=verbose`, `verbose` is not a level"),
            "{error}"
        );
        assert!(level_error("x=dbug").contains("did you mean `debug`?"));
        assert!(level_error("x=").contains("a level must follow `=`"));
        assert!(level_error("x[span]").contains("a span filter needs a level"));
        assert!(level_error("").contains("logging.level is empty"));
        assert!(level_error(" , ").contains("logging.level is empty"));
        assert!(
            level_error("=info").contains("not a filter directive"),
            "{}",
            level_error("=info")
        );
    }

    #[test]
    fn unrelated_words_get_no_suggestion() {
        assert_eq!(closest_level("driftguard_sources"), None);
        assert_eq!(closest_level("foo"), None);
        assert_eq!(closest_level("inof"), Some("info"));
        assert_eq!(edit_distance("inof", "info"), 1);
        assert_eq!(edit_distance("degub", "debug"), 2);
    }
}
