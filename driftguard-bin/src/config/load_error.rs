//! Errors of the `config` crate, made to read as the rest of DriftGuard's configuration
//! errors: a value outside a fixed set lists the accepted values, and a key inside a list
//! is written `applications[0].render`.

use config::ConfigError;
use serde::de::DeserializeOwned;

use driftguard_sources::git::GitAuthKind;
use driftguard_sources::{DesiredKind, LiveKind, RenderMode};

use super::LogFormat;

/// `error` with an unknown value of a fixed set explained and its key spelt as written.
pub(super) fn explain(error: ConfigError) -> ConfigError {
    match error {
        ConfigError::At { error, origin, key } => {
            let error = match *error {
                ConfigError::Message(message) => ConfigError::Message(explain_message(message)),
                other => other,
            };
            ConfigError::At {
                error: Box::new(error),
                origin,
                key: key.map(|key| dotted(&key)),
            }
        }
        ConfigError::Type {
            origin,
            unexpected,
            expected,
            key,
        } => ConfigError::Type {
            origin,
            unexpected,
            expected,
            key: key.map(|key| dotted(&key)),
        },
        other => other,
    }
}

/// `enum LiveKind does not have variant constructor Dump` →
/// ``unknown value `Dump`, expected `kubernetes` or `dump` ``.
fn explain_message(message: String) -> String {
    let Some((name, value)) = message
        .strip_prefix("enum ")
        .and_then(|rest| rest.split_once(" does not have variant constructor "))
    else {
        return message;
    };
    match accepted_values(name) {
        Some(accepted) => format!("unknown value `{value}`, expected {accepted}"),
        None => format!("unknown value `{value}`"),
    }
}

/// The values a configuration enum accepts, as serde lists them (`` `json` or `text` ``),
/// by the type name the `config` crate reports.
fn accepted_values(type_name: &str) -> Option<String> {
    match type_name {
        "LogFormat" => expected::<LogFormat>(),
        "DesiredKind" => expected::<DesiredKind>(),
        "LiveKind" => expected::<LiveKind>(),
        "RenderMode" => expected::<RenderMode>(),
        "GitAuthKind" => expected::<GitAuthKind>(),
        _ => None,
    }
}

/// What serde expects of `T` instead of an empty string: its list of names.
fn expected<T: DeserializeOwned>() -> Option<String> {
    let error = serde_json::from_value::<T>(serde_json::Value::String(String::new())).err()?;
    let text = error.to_string();
    text.split_once(", expected ")
        .map(|(_, accepted)| accepted.to_owned())
}

/// `applications[0]render` → `applications[0].render`: a dot between an index and the key
/// that follows it.
fn dotted(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == ']'
            && chars
                .peek()
                .is_some_and(|next| *next != '[' && *next != '.')
        {
            out.push('.');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use config::{Config, File};

    use super::*;
    use crate::config::Settings;
    use crate::config::yaml::Yaml;

    fn load_error(yaml: &str) -> String {
        let error = Config::builder()
            .add_source(File::from_str(yaml, Yaml))
            .build()
            .and_then(Config::try_deserialize::<Settings>)
            .expect_err(yaml);
        explain(error).to_string()
    }

    #[test]
    fn unknown_values_list_the_accepted_ones_under_their_key() {
        for (text, expected) in [
            (
                "{logging: {format: 'xml'}}",
                "unknown value `xml`, expected `json` or `text` for key `logging.format`",
            ),
            (
                "{sources: {live: 'Dump'}}",
                "unknown value `Dump`, expected `kubernetes` or `dump` for key `sources.live`",
            ),
            (
                "{sources: {desired: 'fold'}}",
                "unknown value `fold`, expected `git` or `folder` for key `sources.desired`",
            ),
            (
                "{applications: [{name: 'a', folder: 'x', render: 'helmm'}]}",
                "unknown value `helmm`, expected one of `auto`, `plain`, `kustomize`, `helm` for key `applications[0].render`",
            ),
            (
                "{git: {auth: {type: 'sshagent'}}}",
                "unknown value `sshagent`, expected one of `none`, `token`, `ssh`, `ssh-agent` for key `git.auth.type`",
            ),
        ] {
            assert_eq!(load_error(text), expected, "{text}");
        }
    }

    #[test]
    fn keys_inside_lists_are_dotted() {
        assert_eq!(
            dotted("applications[0]git.auth"),
            "applications[0].git.auth"
        );
        assert_eq!(dotted("a[1][2]b"), "a[1][2].b");
        assert_eq!(dotted("a[1].b"), "a[1].b");
        assert_eq!(dotted("detection.ignore[0]"), "detection.ignore[0]");
        assert!(
            load_error(
                "{applications: [{name: 'a', git: {auth: {type: 'none', token_env: 'T'}}}]}"
            )
            .ends_with("for key `applications[0].git.auth`")
        );
    }

    #[test]
    fn other_messages_pass_unchanged() {
        assert_eq!(
            explain_message("enum Colour does not have variant constructor Red".to_owned()),
            "unknown value `Red`"
        );
        assert_eq!(
            explain_message("something else".to_owned()),
            "something else"
        );
    }
}
