//! Ignore rules from configuration (DESIGN.md §4, rule 5): fields and managers whose
//! differences are known and accepted, applied after the walk.

use crate::diff::FieldDiff;
use crate::path::PathPattern;

/// Differences at `paths` in objects of `kinds` (all kinds when empty) are not drift.
#[derive(Debug, Clone, PartialEq)]
pub struct IgnoreRule {
    /// Object kinds; empty for all.
    pub kinds: Vec<String>,
    /// Field patterns.
    pub paths: Vec<PathPattern>,
}

/// All ignore rules.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IgnoreRules {
    /// Path rules.
    pub rules: Vec<IgnoreRule>,
    /// Field managers whose writes are never drift (e.g. an autoscaler).
    pub managers: Vec<String>,
}

impl IgnoreRules {
    /// Whether a difference in an object of `kind` is ignored.
    pub fn ignores(&self, kind: &str, diff: &FieldDiff) -> bool {
        if diff
            .owner
            .as_deref()
            .is_some_and(|owner| self.managers.iter().any(|m| m == owner))
        {
            return true;
        }
        self.rules.iter().any(|rule| {
            (rule.kinds.is_empty() || rule.kinds.iter().any(|k| k == kind))
                && rule.paths.iter().any(|p| p.matches(diff.path.segments()))
        })
    }
}
