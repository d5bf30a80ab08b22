//! Resource types as configuration names them: `deployments`, `crontabs.stable.example.com`,
//! `v1/configmaps` or `apps/v1/deployments`.
//!
//! A name is only a request; discovery turns it into the API resource the server serves.

use std::fmt;
use std::str::FromStr;

use driftguard_core::k8s::kinds::built_in_resource;

use crate::Error;

/// The types read when configuration names none: the workload and configuration kinds
/// that drift most often.
pub const DEFAULT_RESOURCE_TYPES: &[&str] = &["deployments", "services", "configmaps", "secrets"];

/// Which API group a configured type belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum GroupHint {
    /// The group is known (`""` is the core group).
    Known(String),
    /// A plural name outside the built-in table: discovery searches the core group, then
    /// every group's preferred version.
    Search,
}

/// One configured resource type, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResourceTypeSpec {
    text: String,
    group: GroupHint,
    version: Option<String>,
    plural: String,
}

impl ResourceTypeSpec {
    /// The configured text, as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The plural resource name, e.g. `deployments`.
    pub fn plural(&self) -> &str {
        &self.plural
    }

    pub(crate) fn group(&self) -> &GroupHint {
        &self.group
    }

    pub(crate) fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// Parses every configured type, or the defaults when the list is empty.
    pub fn parse_all(texts: &[String]) -> Result<Vec<Self>, Error> {
        if texts.is_empty() {
            return DEFAULT_RESOURCE_TYPES.iter().map(|t| t.parse()).collect();
        }
        let mut specs: Vec<Self> = Vec::with_capacity(texts.len());
        for text in texts {
            let spec: Self = text.parse()?;
            if !specs.contains(&spec) {
                specs.push(spec);
            }
        }
        Ok(specs)
    }
}

impl fmt::Display for ResourceTypeSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn invalid(text: &str, reason: &str) -> Error {
    Error::KubeSetting {
        setting: "resource_types",
        reason: format!("`{text}`: {reason}"),
    }
}

/// A DNS-1123 label or subdomain part: lowercase letters, digits, `-`, not at the ends.
fn is_name(part: &str) -> bool {
    !part.is_empty()
        && part.len() <= 253
        && part
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !part.starts_with(['-', '.'])
        && !part.ends_with(['-', '.'])
}

/// `v1`, `v2beta1`, `v1alpha3`: the shape of a Kubernetes API version.
fn is_version(part: &str) -> bool {
    let Some(rest) = part.strip_prefix('v') else {
        return false;
    };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let tail = &rest[digits..];
    tail.is_empty()
        || ["alpha", "beta"].iter().any(|stage| {
            tail.strip_prefix(stage)
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
}

impl FromStr for ResourceTypeSpec {
    type Err = Error;

    fn from_str(raw: &str) -> Result<Self, Error> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(invalid(text, "empty resource type"));
        }
        let lower = text.to_ascii_lowercase();
        let parts: Vec<&str> = lower.split('/').collect();
        let (group, version, plural) = match parts.as_slice() {
            [name] => match name.split_once('.') {
                Some((plural, group)) => (GroupHint::Known(group.to_owned()), None, plural),
                None => {
                    // Built-in plurals name their group, so that discovery needs to ask
                    // only about the groups in use instead of walking every group.
                    let group = built_in_resource(name)
                        .map(|r| GroupHint::Known(r.group.to_owned()))
                        .unwrap_or(GroupHint::Search);
                    (group, None, *name)
                }
            },
            [version, plural] if is_version(version) => (
                GroupHint::Known(String::new()),
                Some((*version).to_owned()),
                *plural,
            ),
            [_, _] => {
                return Err(invalid(
                    text,
                    "write core types as `v1/PLURAL` and other types as `GROUP/VERSION/PLURAL`",
                ));
            }
            [group, version, plural] => {
                if !is_version(version) {
                    return Err(invalid(
                        text,
                        "the middle part must be an API version such as `v1` or `v1beta1`",
                    ));
                }
                if !is_name(group) {
                    return Err(invalid(text, "the API group is not a valid DNS name"));
                }
                (
                    GroupHint::Known((*group).to_owned()),
                    Some((*version).to_owned()),
                    *plural,
                )
            }
            _ => {
                return Err(invalid(
                    text,
                    "expected PLURAL, PLURAL.GROUP, v1/PLURAL or GROUP/VERSION/PLURAL",
                ));
            }
        };
        if !is_name(plural) || plural.contains('.') {
            return Err(invalid(
                text,
                "the resource must be a plural name in lowercase, e.g. `deployments`",
            ));
        }
        if let GroupHint::Known(group) = &group
            && !group.is_empty()
            && !is_name(group)
        {
            return Err(invalid(text, "the API group is not a valid DNS name"));
        }
        Ok(Self {
            text: text.to_owned(),
            group,
            version,
            plural: plural.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn spec(text: &str) -> ResourceTypeSpec {
        text.parse().unwrap()
    }

    #[test]
    fn built_in_plurals_know_their_group() {
        let deployments = spec("deployments");
        assert_eq!(deployments.group(), &GroupHint::Known("apps".to_owned()));
        assert_eq!(deployments.version(), None);
        assert_eq!(spec("secrets").group(), &GroupHint::Known(String::new()));
        assert_eq!(
            spec("Ingresses").group(),
            &GroupHint::Known("networking.k8s.io".to_owned())
        );
    }

    #[test]
    fn unknown_plurals_are_searched() {
        assert_eq!(spec("crontabs").group(), &GroupHint::Search);
    }

    #[test]
    fn group_and_version_forms() {
        let crd = spec("stable.example.com/v1/crontabs");
        assert_eq!(
            crd.group(),
            &GroupHint::Known("stable.example.com".to_owned())
        );
        assert_eq!(crd.version(), Some("v1"));
        assert_eq!(crd.plural(), "crontabs");
        let core = spec("v1/configmaps");
        assert_eq!(core.group(), &GroupHint::Known(String::new()));
        assert_eq!(core.version(), Some("v1"));
        let dotted = spec("crontabs.stable.example.com");
        assert_eq!(
            dotted.group(),
            &GroupHint::Known("stable.example.com".to_owned())
        );
        assert_eq!(dotted.version(), None);
        assert_eq!(
            spec("autoscaling/v2beta2/horizontalpodautoscalers").version(),
            Some("v2beta2")
        );
    }

    #[test]
    fn bad_names_are_refused_with_the_setting_named() {
        for text in [
            "",
            "apps/deployments",
            "apps/latest/deployments",
            "a/b/c/d",
            "deploy ments",
            "v1/",
            "bad_group/v1/things",
        ] {
            let error = text.parse::<ResourceTypeSpec>().unwrap_err();
            assert!(
                error.to_string().contains("resource_types"),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn defaults_apply_to_an_empty_list_and_duplicates_collapse() {
        let defaults = ResourceTypeSpec::parse_all(&[]).unwrap();
        let names: Vec<_> = defaults.iter().map(ResourceTypeSpec::plural).collect();
        assert_eq!(names, ["deployments", "services", "configmaps", "secrets"]);
        let specs =
            ResourceTypeSpec::parse_all(&["secrets".to_owned(), " secrets ".to_owned()]).unwrap();
        assert_eq!(specs.len(), 1);
    }
}
