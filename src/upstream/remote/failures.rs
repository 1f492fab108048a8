//! Counts of upstream connections that failed, since start, for
//! `/metrics`: those that could not be made (refused, timed out, TLS or
//! HTTP/2 handshake failed) and those that broke once made (closed with an
//! error: reset, GOAWAY with an error code, a protocol error). A connection
//! the server closes gracefully is not counted.

use std::sync::atomic::{AtomicU64, Ordering};

static CONNECT: AtomicU64 = AtomicU64::new(0);
static BROKEN: AtomicU64 = AtomicU64::new(0);

/// Upstream connection failures since the gateway started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionFailures {
    /// Connections that could not be made.
    pub connect: u64,
    /// Connections that broke once made.
    pub broken: u64,
}

/// The failures counted so far.
pub fn connection_failures() -> ConnectionFailures {
    ConnectionFailures {
        connect: CONNECT.load(Ordering::Relaxed),
        broken: BROKEN.load(Ordering::Relaxed),
    }
}

/// Counts a connection that could not be made.
pub(super) fn connect_failed() {
    CONNECT.fetch_add(1, Ordering::Relaxed);
}

/// Counts a connection that broke.
pub(super) fn broke() {
    BROKEN.fetch_add(1, Ordering::Relaxed);
}
