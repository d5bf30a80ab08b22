//! Requests for a full analysis, coalesced: however many arrive while an analysis runs,
//! at most one more analysis follows it.

use tokio::sync::Notify;

/// A coalescing request flag between the API (and the start of the service) and the
/// analysis loop.
#[derive(Debug, Default)]
pub(crate) struct AnalysisTrigger {
    notify: Notify,
}

impl AnalysisTrigger {
    /// Asks for one full analysis. Requests made before the loop next waits are merged
    /// into one.
    pub(crate) fn request(&self) {
        // `notify_one` stores at most one permit when nobody waits: that is the coalescing.
        self.notify.notify_one();
    }

    /// Waits until an analysis is requested, consuming every request made so far.
    pub(crate) async fn requested(&self) {
        self.notify.notified().await;
    }
}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt;

    use super::*;

    #[test]
    fn many_requests_while_nobody_waits_make_one() {
        let trigger = AnalysisTrigger::default();
        for _ in 0..5 {
            trigger.request();
        }
        assert_eq!(trigger.requested().now_or_never(), Some(()));
        assert_eq!(
            trigger.requested().now_or_never(),
            None,
            "a second run was requested"
        );
    }

    #[test]
    fn nothing_is_pending_without_a_request() {
        let trigger = AnalysisTrigger::default();
        assert_eq!(trigger.requested().now_or_never(), None);
    }
}
