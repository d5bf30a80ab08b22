//! Turning configured resource types into the API resources the server serves.
//!
//! Only the group versions in use are asked about: `/api/v1` for core types, one
//! `/apis/GROUP/VERSION` per other group, and `/apis` once when a group's preferred version
//! or an unknown plural has to be looked up. A type the server does not serve, or will not
//! show, becomes a [`TypeWarning`]; an unreachable server is an error.

use std::collections::HashMap;

use ::kube::core::DynamicObject;
use ::kube::discovery::ApiResource;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResource;

use crate::Error;
use crate::kube::request::ApiCaller;
use crate::kube::resource_type::{GroupHint, ResourceTypeSpec};
use crate::kube::warnings::{TypeWarning, TypeWarningReason};

/// A configured resource type as the API server serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedType {
    /// The type as configured, e.g. `deployments`.
    pub requested: String,
    /// The API group; empty for the core group.
    pub group: String,
    /// The API version within the group, e.g. `v1`.
    pub version: String,
    /// `apiVersion` of its objects, e.g. `apps/v1`.
    pub api_version: String,
    /// `kind` of its objects, e.g. `Deployment`.
    pub kind: String,
    /// The plural resource name used in URLs, e.g. `deployments`.
    pub plural: String,
    /// Whether its objects live in namespaces.
    pub namespaced: bool,
    /// The verbs the server allows on it.
    pub verbs: Vec<String>,
}

impl ResolvedType {
    /// kube's description of the type, for building requests and watchers.
    pub(crate) fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.clone(),
            version: self.version.clone(),
            api_version: self.api_version.clone(),
            kind: self.kind.clone(),
            plural: self.plural.clone(),
        }
    }

    /// The URL path of its collection in `namespace` (`None`: across the cluster).
    pub(crate) fn url_path(&self, namespace: Option<&str>) -> String {
        <DynamicObject as ::kube::Resource>::url_path(&self.api_resource(), namespace)
    }

    /// `apps/v1 deployments`, for messages.
    pub(crate) fn describe(&self) -> String {
        format!("{} {}", self.api_version, self.plural)
    }
}

/// What discovery found: the types to read, and the ones left out.
#[derive(Debug, Clone, Default)]
pub(crate) struct Discovered {
    pub types: Vec<ResolvedType>,
    pub warnings: Vec<TypeWarning>,
}

/// The answer for one group version: its resources, or why there are none.
#[derive(Debug, Clone)]
enum GroupVersionAnswer {
    Served(Vec<APIResource>),
    Refused(TypeWarningReason, String),
}

/// Discovery answers, each asked for at most once per pass.
struct Lookup<'a> {
    api: &'a ApiCaller,
    group_versions: HashMap<String, GroupVersionAnswer>,
    /// Every group with its preferred `group/version`, once `/apis` was read.
    groups: Option<Vec<(String, String)>>,
}

impl<'a> Lookup<'a> {
    fn new(api: &'a ApiCaller) -> Self {
        Self {
            api,
            group_versions: HashMap::new(),
            groups: None,
        }
    }

    async fn group_version(&mut self, group_version: &str) -> Result<GroupVersionAnswer, Error> {
        if let Some(answer) = self.group_versions.get(group_version) {
            return Ok(answer.clone());
        }
        let client = self.api.client();
        let path = if group_version.contains('/') {
            format!("/apis/{group_version}")
        } else {
            format!("/api/{group_version}")
        };
        let what = format!("discover {path}");
        let result = if group_version.contains('/') {
            self.api
                .call(&what, || client.list_api_group_resources(group_version))
                .await
        } else {
            self.api
                .call(&what, || client.list_core_api_resources(group_version))
                .await
        };
        let answer = match result {
            Ok(list) => GroupVersionAnswer::Served(list.resources),
            Err(Error::KubeStatus { code: 404, .. }) => GroupVersionAnswer::Refused(
                TypeWarningReason::NotServed,
                format!("the server does not serve {group_version}"),
            ),
            Err(Error::KubeStatus {
                code: 403, message, ..
            }) => GroupVersionAnswer::Refused(TypeWarningReason::Forbidden, message),
            Err(error) => return Err(error),
        };
        self.group_versions
            .insert(group_version.to_owned(), answer.clone());
        Ok(answer)
    }

    async fn groups(&mut self) -> Result<&[(String, String)], Error> {
        if self.groups.is_none() {
            let list = self
                .api
                .call("discover /apis", || self.api.client().list_api_groups())
                .await?;
            let groups = list
                .groups
                .into_iter()
                .filter_map(|group| {
                    let preferred = group
                        .preferred_version
                        .map(|v| v.group_version)
                        .or_else(|| group.versions.first().map(|v| v.group_version.clone()))?;
                    Some((group.name, preferred))
                })
                .collect();
            self.groups = Some(groups);
        }
        Ok(self.groups.as_deref().unwrap_or_default())
    }

    /// Looks `plural` up in one group version: the type, or the warning to give.
    async fn find_in(
        &mut self,
        group_version: &str,
        spec: &ResourceTypeSpec,
    ) -> Result<Result<ResolvedType, TypeWarning>, Error> {
        let warning = |reason, message| TypeWarning {
            resource_type: spec.to_string(),
            namespace: None,
            reason,
            message,
        };
        match self.group_version(group_version).await? {
            GroupVersionAnswer::Refused(reason, message) => Ok(Err(warning(reason, message))),
            GroupVersionAnswer::Served(resources) => {
                match resources.into_iter().find(|r| r.name == spec.plural()) {
                    Some(resource) => Ok(Ok(resolved(spec, group_version, resource))),
                    None => Ok(Err(warning(
                        TypeWarningReason::NotServed,
                        format!(
                            "the server serves no resource `{}` in {group_version}",
                            spec.plural()
                        ),
                    ))),
                }
            }
        }
    }

    async fn resolve(
        &mut self,
        spec: &ResourceTypeSpec,
    ) -> Result<Result<ResolvedType, TypeWarning>, Error> {
        match (spec.group(), spec.version()) {
            (GroupHint::Known(group), Some(version)) => {
                let group_version = join_group_version(group, version);
                self.find_in(&group_version, spec).await
            }
            (GroupHint::Known(group), None) if group.is_empty() => self.find_in("v1", spec).await,
            (GroupHint::Known(group), None) => {
                let preferred = self
                    .groups()
                    .await?
                    .iter()
                    .find(|(name, _)| name == group)
                    .map(|(_, gv)| gv.clone());
                match preferred {
                    Some(group_version) => self.find_in(&group_version, spec).await,
                    None => Ok(Err(TypeWarning {
                        resource_type: spec.to_string(),
                        namespace: None,
                        reason: TypeWarningReason::NotServed,
                        message: format!("the server does not serve the API group {group}"),
                    })),
                }
            }
            (GroupHint::Search, _) => {
                if let Ok(found) = self.find_in("v1", spec).await? {
                    return Ok(Ok(found));
                }
                let candidates: Vec<String> = self
                    .groups()
                    .await?
                    .iter()
                    .map(|(_, gv)| gv.clone())
                    .collect();
                for group_version in candidates {
                    if let Ok(found) = self.find_in(&group_version, spec).await? {
                        return Ok(Ok(found));
                    }
                }
                Ok(Err(TypeWarning {
                    resource_type: spec.to_string(),
                    namespace: None,
                    reason: TypeWarningReason::NotServed,
                    message: format!(
                        "no API group of the server serves a resource named `{}`",
                        spec.plural()
                    ),
                }))
            }
        }
    }
}

fn join_group_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

fn resolved(spec: &ResourceTypeSpec, group_version: &str, resource: APIResource) -> ResolvedType {
    let (group, version) = match group_version.split_once('/') {
        Some((group, version)) => (group.to_owned(), version.to_owned()),
        None => (String::new(), group_version.to_owned()),
    };
    ResolvedType {
        requested: spec.to_string(),
        group,
        version,
        api_version: group_version.to_owned(),
        kind: resource.kind,
        plural: resource.name,
        namespaced: resource.namespaced,
        verbs: resource.verbs,
    }
}

/// Resolves every spec. Types that resolve but lack one of `required_verbs` are left out
/// with a warning; so are types named twice (the first one is kept, silently).
pub(crate) async fn discover(
    api: &ApiCaller,
    specs: &[ResourceTypeSpec],
    required_verbs: &[&str],
) -> Result<Discovered, Error> {
    let mut lookup = Lookup::new(api);
    let mut discovered = Discovered::default();
    for spec in specs {
        match lookup.resolve(spec).await? {
            Err(warning) => discovered.warnings.push(warning),
            Ok(found) => {
                let missing: Vec<&str> = required_verbs
                    .iter()
                    .copied()
                    .filter(|verb| !found.verbs.iter().any(|v| v == verb))
                    .collect();
                if !missing.is_empty() {
                    discovered.warnings.push(TypeWarning {
                        resource_type: spec.to_string(),
                        namespace: None,
                        reason: TypeWarningReason::MissingVerbs,
                        message: format!(
                            "the server does not allow {} on {}",
                            missing.join(", "),
                            found.describe()
                        ),
                    });
                } else if !discovered
                    .types
                    .iter()
                    .any(|t| t.group == found.group && t.plural == found.plural)
                {
                    discovered.types.push(found);
                }
            }
        }
    }
    Ok(discovered)
}
