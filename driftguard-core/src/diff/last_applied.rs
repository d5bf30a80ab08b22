//! The last-applied configuration of a live object, for the three-way rule.

use std::cell::OnceCell;

use serde_json::Value;

use crate::k8s::fields::merge_key_default;
use crate::k8s::schema::SchemaCursor;
use crate::normalize::{CanonicalOptions, canonicalize_with_schema};
use crate::path::Segment;
use crate::scalar::scalars_equal;

/// The last-applied configuration of a live object, for the three-way rule.
///
/// Most objects `kubectl apply` created carry one, and reading it costs as much as reading
/// the object. It is parsed and canonicalised only when the walk first meets a field that
/// only live has and that is not a server default, which most walks never do.
#[derive(Debug)]
pub struct LastApplied<'a> {
    source: Source<'a>,
    parsed: OnceCell<Option<Value>>,
}

#[derive(Debug)]
enum Source<'a> {
    Nothing,
    Text(&'a str, &'a CanonicalOptions, SchemaCursor<'a>),
    Canonical(&'a Value),
}

impl<'a> LastApplied<'a> {
    /// No last-applied configuration.
    pub fn none() -> Self {
        Self::from_source(Source::Nothing)
    }

    /// The annotation's text, read and canonicalised with `options` and the object's
    /// `schema` when first needed. Text that is not JSON counts as no configuration.
    pub fn from_text(
        text: &'a str,
        options: &'a CanonicalOptions,
        schema: SchemaCursor<'a>,
    ) -> Self {
        Self::from_source(Source::Text(text, options, schema))
    }

    /// A configuration already in canonical form.
    pub fn canonical(value: &'a Value) -> Self {
        Self::from_source(Source::Canonical(value))
    }

    fn from_source(source: Source<'a>) -> Self {
        Self {
            source,
            parsed: OnceCell::new(),
        }
    }

    /// The canonical configuration, if there is one.
    pub fn get(&self) -> Option<&Value> {
        match &self.source {
            Source::Nothing => None,
            Source::Canonical(value) => Some(value),
            Source::Text(text, options, schema) => self
                .parsed
                .get_or_init(|| {
                    let mut value: Value = serde_json::from_str(text).ok()?;
                    canonicalize_with_schema(&mut value, options, *schema);
                    Some(value)
                })
                .as_ref(),
        }
    }
}

/// The value at `path` inside `root`, following keyed segments by their merge key values.
pub(super) fn value_at<'v>(root: &'v Value, path: &[Segment]) -> Option<&'v Value> {
    path.iter().try_fold(root, |value, segment| match segment {
        Segment::Key(key) => value.get(key),
        Segment::Index(index) => value.get(*index),
        Segment::Keyed(fields) => value.as_array()?.iter().find(|item| {
            fields.iter().all(|(field, wanted)| match item.get(field) {
                Some(found) => scalars_equal(found, wanted),
                None => merge_key_default(field).is_some_and(|d| wanted.as_str() == Some(d)),
            })
        }),
    })
}
