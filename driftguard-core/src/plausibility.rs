//! Whether a desired state is plausible enough to be believed.
//!
//! A desired state that suddenly holds nothing, or far fewer objects than before, is more
//! often a mistake (a wrong path, a broken render, a half-finished commit) than a wish to
//! delete everything. Believing it would turn every record of the application into
//! "removed from Git" at once, so such a state is held back: the application's records
//! stay as they are until an operator confirms it (`detection.allow_empty`, or a higher
//! `detection.max_desired_drop`).

use serde::{Deserialize, Serialize};

/// When a desired state is held back rather than analysed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Plausibility {
    /// Accept a desired state that holds no objects.
    pub allow_empty: bool,
    /// The largest share (0.0 to 1.0) of the objects of the last accepted desired state
    /// that one new state may lose; `1.0` accepts any loss.
    pub max_drop: f64,
}

impl Default for Plausibility {
    fn default() -> Self {
        Self {
            allow_empty: false,
            max_drop: DEFAULT_MAX_DROP,
        }
    }
}

/// The share of objects a desired state may lose at once unless configured otherwise.
pub const DEFAULT_MAX_DROP: f64 = 0.5;

/// Why a desired state was held back.
#[derive(Debug, Clone, PartialEq)]
pub enum HeldBack {
    /// It holds no objects.
    Empty {
        /// The object count of the last accepted desired state; `None` when none was
        /// accepted yet (since the service started).
        accepted: Option<usize>,
    },
    /// It lost more than the allowed share of the last accepted state's objects.
    Drop {
        /// The object count of the last accepted desired state.
        accepted: usize,
        /// The object count of the new one.
        count: usize,
        /// The allowed share.
        max_drop: f64,
    },
}

impl HeldBack {
    /// Why, and how an operator confirms the state, in one sentence.
    pub fn explanation(&self) -> String {
        match self {
            Self::Empty {
                accepted: Some(accepted),
            } => format!(
                "the desired state holds no objects (the last accepted one held {accepted}); \
                 it is held back and the records stay as they are until detection.allow_empty \
                 is set"
            ),
            Self::Empty { accepted: None } => "the desired state holds no objects; it is held \
                 back and the records stay as they are until detection.allow_empty is set"
                .to_owned(),
            Self::Drop {
                accepted,
                count,
                max_drop,
            } => format!(
                "the desired state holds {count} objects, {lost} fewer than the {accepted} of \
                 the last accepted one ({share} lost, more than detection.max_desired_drop \
                 {allowed}); it is held back and the records stay as they are until \
                 detection.max_desired_drop is raised (1.0 turns the check off)",
                lost = accepted - count,
                share = percent(drop_share(*accepted, *count)),
                allowed = percent(*max_drop),
            ),
        }
    }
}

impl std::fmt::Display for HeldBack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.explanation())
    }
}

/// The share of `accepted` objects that a state of `count` objects lost.
fn drop_share(accepted: usize, count: usize) -> f64 {
    if accepted == 0 || count >= accepted {
        return 0.0;
    }
    (accepted - count) as f64 / accepted as f64
}

fn percent(share: f64) -> String {
    format!("{}%", (share * 100.0).round())
}

impl Plausibility {
    /// Judges a desired state of `count` objects against the object count of the last
    /// accepted one (`None` when there is none): `Err` says why it is held back.
    ///
    /// An empty state is held back unless `allow_empty`, whatever came before; a state
    /// that lost more than `max_drop` of the accepted one's objects is held back too.
    pub fn judge(&self, accepted: Option<usize>, count: usize) -> Result<(), HeldBack> {
        if count == 0 {
            if self.allow_empty {
                return Ok(());
            }
            return Err(HeldBack::Empty { accepted });
        }
        match accepted {
            Some(accepted) if drop_share(accepted, count) > self.max_drop => Err(HeldBack::Drop {
                accepted,
                count,
                max_drop: self.max_drop,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow_empty: bool, max_drop: f64) -> Plausibility {
        Plausibility {
            allow_empty,
            max_drop,
        }
    }

    #[test]
    fn an_empty_state_is_held_back_unless_allowed() {
        let default = Plausibility::default();
        assert_eq!(
            default.judge(Some(12), 0),
            Err(HeldBack::Empty { accepted: Some(12) })
        );
        // Also the first state seen, with nothing to compare with.
        assert_eq!(
            default.judge(None, 0),
            Err(HeldBack::Empty { accepted: None })
        );
        // Even after an empty state was accepted once: each one needs the setting.
        assert_eq!(
            default.judge(Some(0), 0),
            Err(HeldBack::Empty { accepted: Some(0) })
        );
        let allowed = policy(true, DEFAULT_MAX_DROP);
        assert_eq!(allowed.judge(Some(12), 0), Ok(()));
        assert_eq!(allowed.judge(None, 0), Ok(()));
        let text = default
            .judge(Some(12), 0)
            .expect_err("held back")
            .explanation();
        assert!(
            text.contains("no objects") && text.contains("12") && text.contains("allow_empty"),
            "{text}"
        );
    }

    #[test]
    fn a_drop_above_the_threshold_is_held_back_and_one_at_or_below_it_is_not() {
        let default = Plausibility::default();
        // 10 → 4 loses 60%.
        assert_eq!(
            default.judge(Some(10), 4),
            Err(HeldBack::Drop {
                accepted: 10,
                count: 4,
                max_drop: 0.5
            })
        );
        // 10 → 5 loses exactly half: allowed.
        assert_eq!(default.judge(Some(10), 5), Ok(()));
        assert_eq!(default.judge(Some(10), 9), Ok(()));
        // Growing is never a drop.
        assert_eq!(default.judge(Some(10), 40), Ok(()));
        assert_eq!(default.judge(Some(0), 3), Ok(()));
        let strict = policy(false, 0.1);
        assert!(strict.judge(Some(10), 8).is_err());
        assert_eq!(strict.judge(Some(10), 9), Ok(()));
        let text = default
            .judge(Some(10), 4)
            .expect_err("held back")
            .explanation();
        assert!(
            text.contains("4 objects")
                && text.contains("6 fewer than the 10")
                && text.contains("60%")
                && text.contains("50%")
                && text.contains("max_desired_drop"),
            "{text}"
        );
    }

    #[test]
    fn a_first_non_empty_state_is_accepted() {
        assert_eq!(Plausibility::default().judge(None, 1), Ok(()));
    }

    #[test]
    fn a_threshold_of_one_turns_the_drop_check_off() {
        let off = policy(false, 1.0);
        assert_eq!(off.judge(Some(1000), 1), Ok(()));
        // Emptiness is a separate check.
        assert_eq!(
            off.judge(Some(1000), 0),
            Err(HeldBack::Empty {
                accepted: Some(1000)
            })
        );
        assert_eq!(policy(true, 1.0).judge(Some(1000), 0), Ok(()));
    }
}
