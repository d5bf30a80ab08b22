//! Reading every object of one type with paged lists (`limit` and `continue`), so that a
//! namespace with 20,000 ConfigMaps never needs one giant answer.

use std::collections::HashSet;

use ::kube::api::ListParams;
use driftguard_core::Resource;
use driftguard_core::secret::FingerprintKey;
use serde_json::Value;

use crate::Error;
use crate::kube::convert::{namespace_of, to_resource};
use crate::kube::discovery::ResolvedType;
use crate::kube::namespaces::{ListTarget, NamespaceScope};
use crate::kube::request::{ApiCaller, json_error};
use crate::kube::warnings::{TypeWarning, TypeWarningReason};

/// How often a list starts over after its continue token expired (410 Gone) before the
/// failure is reported.
const MAX_LIST_RESTARTS: usize = 3;

/// What listing one type in one target gave: its objects, or why it was left out.
pub(crate) enum Listed {
    Objects(Vec<Resource>),
    LeftOut(TypeWarning),
}

/// Everything `list_target` needs besides the type and target.
pub(crate) struct ListContext<'a> {
    pub api: &'a ApiCaller,
    pub scope: &'a NamespaceScope,
    pub key: &'a FingerprintKey,
    pub page_size: u32,
}

/// `list apps/v1 deployments in namespace shop`, for messages.
pub(crate) fn describe_target(ty: &ResolvedType, target: &ListTarget) -> String {
    let place = match (&target.namespace, &target.field_selector) {
        (Some(ns), _) => format!("in namespace {ns}"),
        (None, _) if !ty.namespaced => "(cluster-scoped)".to_owned(),
        (None, Some(selector)) => format!("in all namespaces where {selector}"),
        (None, None) => "in all namespaces".to_owned(),
    };
    format!("list {} {place}", ty.describe())
}

/// One page: its items and the token of the next one.
fn parse_page(text: &str, request: &str) -> Result<(Vec<Value>, Option<String>), Error> {
    let invalid = |reason: String| Error::KubeInvalidResponse {
        request: request.to_owned(),
        reason,
    };
    let mut page: Value = serde_json::from_str(text).map_err(|e| invalid(json_error(&e)))?;
    let items = match page.get_mut("items").map(Value::take) {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => Vec::new(),
        Some(_) => return Err(invalid("`items` is not a list".to_owned())),
    };
    let next = page
        .get("metadata")
        .and_then(|m| m.get("continue"))
        .and_then(Value::as_str)
        .filter(|token| !token.is_empty())
        .map(str::to_owned);
    Ok((items, next))
}

/// Lists every object of `ty` in `target`, page by page.
///
/// A 403 or 404 leaves the type (in this namespace) out with a warning. An expired
/// continue token (410 Gone) starts the list over, as client-go does, up to
/// [`MAX_LIST_RESTARTS`] times. Any other failure is an error: the caller must not build a
/// snapshot from part of a list.
pub(crate) async fn list_target(
    context: &ListContext<'_>,
    ty: &ResolvedType,
    target: &ListTarget,
) -> Result<Listed, Error> {
    let url_path = ty.url_path(target.namespace.as_deref());
    let what = describe_target(ty, target);
    let request = context.api.describe(&what);
    let mut restarts = 0;
    'list: loop {
        let mut resources = Vec::new();
        let mut seen_tokens = HashSet::new();
        let mut token: Option<String> = None;
        loop {
            let params = ListParams {
                limit: Some(context.page_size),
                continue_token: token.clone(),
                field_selector: target.field_selector.clone(),
                ..ListParams::default()
            };
            let text = match context.api.list_page(&url_path, &params, &what).await {
                Ok(text) => text,
                Err(Error::KubeStatus { code: 410, .. })
                    if token.is_some() && restarts < MAX_LIST_RESTARTS =>
                {
                    restarts += 1;
                    tracing::info!(
                        request = %request,
                        restarts,
                        "continue token expired (410 Gone); listing again from the start"
                    );
                    continue 'list;
                }
                Err(Error::KubeStatus {
                    code: code @ (403 | 404),
                    message,
                    ..
                }) => {
                    return Ok(Listed::LeftOut(TypeWarning {
                        resource_type: ty.requested.clone(),
                        namespace: target.namespace.clone(),
                        reason: if code == 403 {
                            TypeWarningReason::Forbidden
                        } else {
                            TypeWarningReason::NotServed
                        },
                        message,
                    }));
                }
                Err(error) => return Err(error),
            };
            let (items, next) = parse_page(&text, &request)?;
            drop(text);
            for item in items {
                if context.scope.admits(namespace_of(&item)) {
                    resources.push(to_resource(item, ty, context.key, &request)?);
                }
            }
            match next {
                None => return Ok(Listed::Objects(resources)),
                Some(next) => {
                    if !seen_tokens.insert(next.clone()) {
                        return Err(Error::KubeInvalidResponse {
                            request,
                            reason: "the server sent the same continue token twice".to_owned(),
                        });
                    }
                    token = Some(next);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn pages_give_items_and_the_next_token() {
        let (items, next) = parse_page(
            r#"{"metadata": {"continue": "abc"}, "items": [{"a": 1}, {"b": 2}]}"#,
            "list",
        )
        .unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(next.as_deref(), Some("abc"));
        let (items, next) =
            parse_page(r#"{"metadata": {"continue": ""}, "items": null}"#, "list").unwrap();
        assert!(items.is_empty());
        assert_eq!(next, None);
    }

    #[test]
    fn broken_pages_are_reported_by_position_only() {
        let error = parse_page(
            r#"{"items": [{"data": {"password": "hunter2"#,
            "list secrets",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("list secrets"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
        let error = parse_page(r#"{"items": "hunter2"}"#, "list secrets")
            .unwrap_err()
            .to_string();
        assert!(!error.contains("hunter2"), "{error}");
    }
}
