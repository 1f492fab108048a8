//! The endpoints of a remote upstream and how a call picks one.
//!
//! - **Endpoints.** Every address of every URI of the [`RemoteSpec`](super::RemoteSpec) is one
//!   endpoint ([`Slot`](pool::Slot)) holding at most one HTTP/2 connection, made on first
//!   use and remade when it breaks. A [`Remote`] belongs to one worker
//!   runtime, so connections never cross runtimes.
//! - **Connected.** A connection counts as made once the server's first
//!   SETTINGS frame arrived (within `connect_timeout`); the endpoint keeps
//!   its `SETTINGS_MAX_HEADER_LIST_SIZE`, against which every call's
//!   metadata is checked before it is sent (see [`preface`](super::preface)).
//! - **Round robin.** Each call starts at the next endpoint (one relaxed
//!   atomic counter per worker): HTTP/2 multiplexes calls over each
//!   connection, so spreading calls, not connections, spreads the load.
//! - **Down endpoints.** When connecting to an endpoint fails (refused,
//!   timed out, TLS handshake failed), it is marked down for a backoff of
//!   1 s, doubling with each further failure up to 30 s, and the call moves
//!   on to the next endpoint at once. An endpoint comes back by connecting
//!   again after its backoff. Only when no endpoint is up (or every one
//!   failed) does a call try the down ones too, as a last resort, and answer
//!   [`UpstreamError::Unavailable`](super::UpstreamError::Unavailable) when they fail as well: a single-endpoint
//!   upstream thus behaves as before, trying on every call.
//! - **Broken connections.** A connection found closed is remade. A call
//!   that its connection gives back unsent (it had just closed) is sent
//!   over another endpoint's connection, once; a call already written to a
//!   connection that then broke answers `UNAVAILABLE`, since the service may
//!   have seen it: [`retry`](super::retry) tries idempotent ones again.
//!   Connections that could not be made or broke are counted
//!   ([`connection_failures`], `restgate_upstream_connection_failures_total`).
//! - **Flow control.** A connection's windows are fixed (see
//!   `connect::CONNECTION_WINDOW`), large enough that a burst of calls whose
//!   small replies all arrive before the worker reads them stays within
//!   h2's allowance for buffered small DATA frames (half the connection
//!   window, 256 bytes counted per small frame); past it h2 closes the
//!   connection (`ENHANCE_YOUR_CALM`, `too_many_data_frames`) and fails every
//!   call on it.
//! - **Concurrent connecting.** A caller that finds an endpoint busy
//!   connecting moves on to the next endpoint instead of waiting, and waits
//!   for it only when nothing else is up: a blackholed endpoint costs
//!   `connect_timeout` to the one call that tried it, not to every call.
//! - **Names.** Host names are resolved with [`tokio::net::lookup_host`]
//!   lazily on the call path: the first call waits for the resolution; after
//!   that, the call that finds it `resolve_every` old starts a new one in a
//!   background task and goes on with the addresses it has. Addresses that
//!   stay keep their connection and their health; a name that fails to
//!   resolve keeps its old addresses (and is tried again within 5 s); with
//!   no address at all, calls answer 503 with the resolver's error, which is
//!   cached for 1 s. When every endpoint fails, a resolution is brought
//!   forward (at most once a second), since the addresses may have moved —
//!   unless `resolve_every` is `None`: then names are resolved once (until
//!   that succeeds). Each worker resolves for itself.
//!
//! The hot path — a resolved pool, an up endpoint with a live connection —
//! costs a read lock and an `Arc` clone of the pool, one atomic increment
//! and an uncontended `try_lock`: no allocation.
//!
//! The modules: `state` (the [`Remote`] and the checks of its spec),
//! `target` (one URI of the spec), `pool` (the endpoints at one moment),
//! `health` (an endpoint's backoff), `resolve` (names to pools) and
//! `connect` (picking an endpoint and connecting to it), `failures` (the
//! counts of failed connections).

mod connect;
mod failures;
mod health;
mod pool;
mod resolve;
mod state;
mod target;

pub use failures::{connection_failures, ConnectionFailures};
pub(super) use pool::Pool;
pub(super) use state::Remote;

#[cfg(test)]
mod tests;
