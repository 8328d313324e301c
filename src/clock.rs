//! The server's clock: the one source of "now" for handlers and services, so that a test or the simulator can move
//! every timestamp (to cross deadlines without waiting for them).

use std::sync::Arc;

/// The server's clock: the system's, moved by an offset that only tests change (to cross deadlines without
/// waiting for them).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    offset_ms: Arc<std::sync::atomic::AtomicI64>,
}

impl Clock {
    /// Now (UTC).
    pub fn now(&self) -> chrono::NaiveDateTime {
        chrono::Utc::now().naive_utc()
            + chrono::Duration::milliseconds(
                self.offset_ms.load(std::sync::atomic::Ordering::Relaxed),
            )
    }

    /// Moves the clock on by `by`.
    pub fn advance(&self, by: chrono::Duration) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), std::sync::atomic::Ordering::Relaxed);
    }
}
