//! Reading both sides for `check` and comparing them once.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use driftguard_core::analysis::{
    AnalysisOutcome, ApplicationDesired, analyze_applications, is_deploy_hook,
};
use driftguard_core::secret::FingerprintKey;
use driftguard_core::{DesiredSnapshot, LiveSnapshot, ObjectText, ResourceId, StoredRecords};
use driftguard_sources::kube::TypeWarningReason;
use driftguard_sources::{
    CapabilitiesSource, KubeLiveSource, LiveKind, ManifestLimits, ManifestReader, RenderMode,
};
use serde_json::Value;

use super::overlay::{self, STDIN};
use crate::cli::{CheckArgs, RenderArg};
use crate::config;
use crate::fingerprint::key_for_check;
use crate::wiring;

/// A check's outcome, and the desired objects a diff shows for missing resources.
pub struct Checked {
    /// What the comparison found.
    pub outcome: AnalysisOutcome,
    /// Desired objects by the id they were declared under (kept for `-o diff` only).
    pub desired_objects: DesiredObjects,
}

/// Desired objects by id, as declared (Secret values already fingerprinted).
#[derive(Default)]
pub struct DesiredObjects(HashMap<ResourceId, ObjectText>);

impl DesiredObjects {
    /// The object tracked as `id`: declared with that id, or without a namespace and
    /// placed in `id`'s namespace (the destination namespace).
    pub fn get(&self, id: &ResourceId) -> Option<Value> {
        self.0
            .get(id)
            .or_else(|| self.0.get(&id.with_namespace(None)))
            .map(ObjectText::to_value)
    }
}

/// The analysis `args` describe; warnings go to `err` as they come.
pub async fn analyse(
    args: &CheckArgs,
    stdin: &mut dyn Read,
    err: &mut dyn Write,
) -> anyhow::Result<Checked> {
    let check = overlay::settings(args)?;
    let settings = &check.settings;
    config::validate(settings)?;
    let key = key_for_check(settings, check.config_given)?;
    let detection = wiring::detection_settings(settings)?;
    // The live state is read first: a cluster that cannot be reached fails fast, before
    // a clone that may take a while.
    let (live, capabilities) = read_live(settings, &key, err).await?;
    let mut desired = Vec::new();
    if args.desired.as_deref() == Some(STDIN) {
        let render = args.render.map(overlay::render_mode);
        if matches!(render, Some(RenderMode::Kustomize | RenderMode::Helm)) {
            bail!(
                "--desired - reads rendered manifests; render first (kustomize build … | driftguard check --desired -)"
            );
        }
        let snapshot = read_stdin(stdin, &key)?;
        if !args.allow_empty {
            refuse_empty(&snapshot, "<stdin>", "read as rendered manifests")?;
        }
        desired.push(ApplicationDesired {
            namespace: args.target_namespace.clone(),
            ..ApplicationDesired::single(snapshot)
        });
    } else {
        for application in wiring::applications(settings, &key, capabilities)? {
            let snapshot = application
                .source
                .snapshot()
                .await
                .with_context(|| format!("application {}", application.name))?;
            if !args.allow_empty {
                let how = render_how(args.render.unwrap_or(RenderArg::Auto));
                refuse_empty(
                    &snapshot,
                    &format!(
                        "{} (application {})",
                        application.description, application.name
                    ),
                    how,
                )?;
            }
            desired.push(ApplicationDesired {
                name: application.name.clone(),
                namespace: application.namespace.clone(),
                snapshot,
            });
        }
    }
    let desired_objects = if args.output == crate::cli::OutputFormat::Diff {
        DesiredObjects(
            desired
                .iter()
                .flat_map(|a| &a.snapshot.resources)
                .map(|r| (r.id.clone(), r.object.clone()))
                .collect(),
        )
    } else {
        DesiredObjects::default()
    };
    let declared: usize = desired
        .iter()
        .map(|a| {
            a.snapshot
                .resources
                .iter()
                .filter(|r| !is_deploy_hook(r))
                .count()
        })
        .sum();
    let outcome = analyze_applications(
        desired,
        &[],
        live,
        StoredRecords::new(),
        &detection,
        chrono::Utc::now(),
    );
    if let Some(application) = outcome.applications.iter().find(|a| a.error.is_some()) {
        bail!(
            "application {}: {}",
            application.name,
            application.error.as_deref().unwrap_or_default()
        );
    }
    if declared > 0
        && outcome.records.is_empty()
        && outcome.not_observed.is_empty()
        && !args.allow_empty
    {
        bail!(
            "nothing was compared: the namespaces checked ({}) hold none of the {declared} desired resources; check --namespace (kubernetes.namespaces), or pass --allow-empty to accept it",
            settings.kubernetes.namespaces.join(", ")
        );
    }
    for warning in &outcome.warnings {
        let _ = writeln!(err, "driftguard: warning: {warning}");
    }
    Ok(Checked {
        outcome,
        desired_objects,
    })
}

/// The live state, and for a cluster the source of Helm's capabilities. A resource type
/// the cluster does not serve is an error: a gate that read nothing of it must not pass.
async fn read_live(
    settings: &config::Settings,
    key: &FingerprintKey,
    err: &mut dyn Write,
) -> anyhow::Result<(LiveSnapshot, Option<Arc<dyn CapabilitiesSource>>)> {
    match settings.sources.live {
        LiveKind::Kubernetes => {
            let source =
                Arc::new(KubeLiveSource::connect(settings.kubernetes.clone(), key.clone()).await?);
            let snapshot = source.read().await?;
            let warnings = source.warnings();
            let unserved: Vec<String> = warnings
                .iter()
                .filter(|w| w.reason == TypeWarningReason::NotServed)
                .map(|w| format!("`{}`", w.resource_type))
                .collect();
            if !unserved.is_empty() {
                bail!(
                    "the cluster does not serve the resource type{} {}; check the spelling: types are plural resource names such as `deployments` or `GROUP/VERSION/PLURAL` (`kubectl api-resources` lists what it serves)",
                    if unserved.len() == 1 { "" } else { "s" },
                    unserved.join(", ")
                );
            }
            for warning in warnings {
                let _ = writeln!(err, "driftguard: warning: {warning}");
            }
            let capabilities: Arc<dyn CapabilitiesSource> = source;
            Ok((snapshot, Some(capabilities)))
        }
        LiveKind::Dump => {
            let (source, _) = wiring::live_source(settings, key, false).await?;
            Ok((source.snapshot().await?, None))
        }
    }
}

/// The manifests on stdin, with the limits of a desired manifest file.
fn read_stdin(stdin: &mut dyn Read, key: &FingerprintKey) -> anyhow::Result<DesiredSnapshot> {
    let limits = ManifestLimits::DESIRED;
    let mut bytes = Vec::new();
    stdin
        .take(limits.max_file_bytes + 1)
        .read_to_end(&mut bytes)
        .context("cannot read the manifests on stdin")?;
    if bytes.len() as u64 > limits.max_file_bytes {
        bail!(
            "<stdin> holds more than {} bytes, the limit for a manifest file",
            limits.max_file_bytes
        );
    }
    let resources =
        ManifestReader::new(key.clone(), limits).read_bytes(Path::new("<stdin>"), &bytes)?;
    Ok(DesiredSnapshot {
        resources,
        revision: None,
        render: None,
    })
}

/// How `render` reads a folder, for the error about an empty one.
fn render_how(render: RenderArg) -> &'static str {
    match render {
        RenderArg::Plain => "read as plain manifests (--render plain)",
        RenderArg::Kustomize => "built with Kustomize (--render kustomize)",
        RenderArg::Helm => "rendered with Helm (--render helm)",
        RenderArg::Auto => "read by what it holds (--render auto)",
    }
}

/// An empty desired state is an error: a gate that compared nothing must not pass.
fn refuse_empty(snapshot: &DesiredSnapshot, what: &str, how: &str) -> anyhow::Result<()> {
    if snapshot.resources.iter().any(|r| !is_deploy_hook(r)) {
        return Ok(());
    }
    bail!(
        "no Kubernetes objects found in {what}: it was {how} and holds nothing to compare (deploy hooks are not tracked); check --desired and --path, choose --render kustomize or --render helm for a folder that needs rendering, or pass --allow-empty to accept an empty desired state"
    )
}
