//! [`Readiness`]: the switch that a service flips once it can take requests.

use std::sync::Arc;

use tokio::sync::watch;

/// Whether the service is ready, as reported by gRPC health. Starts NOT ready; [`serve`]
/// reports every served service (and the overall server, `""`) as NOT_SERVING until
/// [`Readiness::set_ready`] is called, SERVING afterwards, and NOT_SERVING again from the moment
/// shutdown begins. Cheap to clone; all clones share the switch.
///
/// [`serve`]: crate::serve
#[derive(Debug, Clone)]
pub struct Readiness {
    ready: Arc<watch::Sender<bool>>,
}

impl Readiness {
    /// A new switch, not ready.
    pub fn new() -> Self {
        Self {
            ready: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Marks the service ready: health reports SERVING.
    pub fn set_ready(&self) {
        self.ready.send_replace(true);
    }

    /// Marks the service not ready (e.g. a dependency went away): health reports NOT_SERVING.
    pub fn set_not_ready(&self) {
        self.ready.send_replace(false);
    }

    /// The current state.
    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    /// A receiver that sees every change.
    pub(crate) fn subscribe(&self) -> watch::Receiver<bool> {
        self.ready.subscribe()
    }
}

impl Default for Readiness {
    fn default() -> Self {
        Self::new()
    }
}
