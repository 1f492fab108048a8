//! Reload without dropping requests: [`Current`] holds the table being
//! served and is swapped whole by a reload; each worker's [`Live`] view
//! rebuilds its [`Gateway`] for the new table, keeping the connections of
//! the upstreams that did not change. Requests in flight keep the table
//! they started with. [`Current`] also says whether the server is draining
//! (SIGTERM came), which every worker reads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::serve::{Gateway, Shared};
use crate::upstream::UpstreamError;

/// The table being served, swapped whole by a reload: requests in flight
/// keep the one they started with; and whether the server is draining.
#[derive(Debug)]
pub struct Current(std::sync::RwLock<Arc<Shared>>, AtomicBool);

impl Current {
    /// Serves `shared`.
    pub fn new(shared: Arc<Shared>) -> Arc<Current> {
        Arc::new(Current(
            std::sync::RwLock::new(shared),
            AtomicBool::new(false),
        ))
    }

    /// From now on `/readyz` answers 503 "draining" and HTTP/1 replies
    /// carry `Connection: close`; the listeners still accept.
    pub fn start_draining(&self) {
        self.1.store(true, Ordering::Relaxed);
    }

    /// Whether [`Current::start_draining`] was called.
    pub fn draining(&self) -> bool {
        self.1.load(Ordering::Relaxed)
    }

    /// The table now.
    pub fn get(&self) -> Arc<Shared> {
        Arc::clone(
            &self
                .0
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }

    /// Serves `shared` from the next request on.
    pub fn swap(&self, shared: Arc<Shared>) {
        *self
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = shared;
    }
}

/// A worker's view of [`Current`]: its gateway for the table now, rebuilt
/// (keeping the connections of unchanged upstreams) when a reload swapped
/// the table.
#[derive(Debug)]
pub struct Live {
    current: Arc<Current>,
    gateway: std::sync::Mutex<Arc<Gateway>>,
}

impl Live {
    /// A worker's view of `current`.
    pub fn new(current: Arc<Current>) -> Result<Live, UpstreamError> {
        let gateway = Arc::new(Gateway::new(current.get())?);
        Ok(Live {
            current,
            gateway: std::sync::Mutex::new(gateway),
        })
    }

    /// A fixed gateway that never reloads (REST in process).
    pub fn fixed(gateway: Arc<Gateway>) -> Live {
        Live {
            current: Current::new(Arc::clone(&gateway.shared)),
            gateway: std::sync::Mutex::new(gateway),
        }
    }

    /// Whether the server is draining (see [`Current::start_draining`]).
    pub fn draining(&self) -> bool {
        self.current.draining()
    }

    /// The gateway for the table being served now.
    pub fn gateway(&self) -> Arc<Gateway> {
        let shared = self.current.get();
        let mut gateway = self
            .gateway
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !Arc::ptr_eq(&gateway.shared, &shared) {
            match Gateway::succeeding(&gateway, shared) {
                Ok(next) => *gateway = Arc::new(next),
                Err(e) => {
                    tracing::error!(error = %e, "cannot serve the reloaded table; keeping the old one")
                }
            }
        }
        Arc::clone(&gateway)
    }
}
