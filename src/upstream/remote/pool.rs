//! [`Pool`]: the endpoints ([`Slot`]s) of a remote upstream at one moment,
//! each an address with its connection and health; replaced whole when
//! names resolve anew.

use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU32;
use std::sync::Arc;
use std::time::Instant;

use super::health::Health;
use crate::upstream::http2::Link;

/// One endpoint: an address of a target, its connection and its health.
pub(super) struct Slot {
    /// Index into the remote's targets.
    pub(super) target: usize,
    pub(super) address: SocketAddr,
    pub(super) connection: tokio::sync::Mutex<Option<Link>>,
    /// The `SETTINGS_MAX_HEADER_LIST_SIZE` of its connection's server;
    /// `u32::MAX` when it stated none. Set before the connection is shared.
    pub(super) max_header_list_size: AtomicU32,
    pub(super) health: Health,
}

impl Slot {
    pub(super) fn new(target: usize, address: SocketAddr) -> Arc<Slot> {
        Arc::new(Slot {
            target,
            address,
            connection: tokio::sync::Mutex::new(None),
            max_header_list_size: AtomicU32::new(u32::MAX),
            health: Health::default(),
        })
    }
}

/// The endpoints at one moment; replaced whole when names resolve anew.
pub(in crate::upstream) struct Pool {
    pub(super) slots: Vec<Arc<Slot>>,
    /// When names were last resolved; `None`: never (or nothing to resolve).
    pub(super) resolved_at: Option<Instant>,
    /// When to resolve again; `None`: never.
    pub(super) refresh_at: Option<Instant>,
    /// Why there is no endpoint, when there is none.
    pub(super) error: Option<String>,
}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let addresses: Vec<SocketAddr> = self.slots.iter().map(|s| s.address).collect();
        f.debug_struct("Pool")
            .field("addresses", &addresses)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// The endpoints' addresses, in pick order.
    #[cfg(test)]
    pub(super) fn addresses(&self) -> Vec<SocketAddr> {
        self.slots.iter().map(|s| s.address).collect()
    }
}
