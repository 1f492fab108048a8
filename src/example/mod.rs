//! The bundled example service: users, accounts under users, and blogs with
//! posts, kept in memory.
//!
//! This module owns the tonic implementation of the three services of
//! `proto/examples/v1/` (`UserService`, `AccountService`, `BlogService`),
//! the backend the gateway is demonstrated and tested against. One
//! [`ExampleState`] implements all three, so the services share their data:
//! deleting a user deletes its accounts.
//!
//! The rules every method follows:
//!
//! - **Ids.** Create assigns the id, a decimal string from a counter per
//!   kind (`"1"`, `"2"`, …). Replace takes the id from the URI, forces it into
//!   the body, and creates the item when it is absent (upsert). Lists are
//!   ordered by id, numerically for decimal ids.
//! - **Service-owned fields.** `create_time` is set on creation and kept by
//!   replace; `update_time` is set on every write; `etag` changes on every
//!   write. Values the client sends for these fields are ignored.
//! - **Errors.** A missing item is `NOT_FOUND` ("user 42 not found"); a
//!   missing request message, an empty id or a malformed resource name is
//!   `INVALID_ARGUMENT`; publishing a published post is
//!   `FAILED_PRECONDITION`.
//!
//! The data lives behind one `std::sync::Mutex`, never held across an
//! `.await`.
//!
//! [`start_example_service`] runs it on a loopback port for `restgate serve
//! --demo`, which prints [`demo_commands`] to try.
//!
//! The served routes also answer gRPC server reflection (v1 and v1alpha)
//! from the embedded descriptor set, options included, so a gateway given
//! only `--upstream` finds the services and their REST annotations.

mod accounts;
mod avatars;
mod blogs;
mod demo;
mod store;
mod users;

pub use demo::{demo_commands, start_example_service};

use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::net::TcpListener;
use tonic::service::Routes;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;

use crate::pb::examples::v1::account_service_server::AccountServiceServer;
use crate::pb::examples::v1::blog_service_server::BlogServiceServer;
use crate::pb::examples::v1::user_service_server::UserServiceServer;

use self::store::Store;

/// The in-memory data of the example services, and their implementation:
/// it implements `UserService`, `AccountService` and `BlogService`.
///
/// Clones share the same data, so the servers made by
/// [`ExampleState::services`] all see each other's writes.
#[derive(Clone, Debug, Default)]
pub struct ExampleState {
    store: Arc<Mutex<Store>>,
}

impl ExampleState {
    /// An empty state: no users, accounts, blogs or posts.
    pub fn new() -> Self {
        Self::default()
    }

    /// The three tonic servers, all backed by this state.
    pub fn services(
        &self,
    ) -> (
        UserServiceServer<ExampleState>,
        AccountServiceServer<ExampleState>,
        BlogServiceServer<ExampleState>,
    ) {
        (
            UserServiceServer::new(self.clone()),
            AccountServiceServer::new(self.clone()),
            BlogServiceServer::new(self.clone()),
        )
    }

    /// The three services, and gRPC server reflection of them (v1 and
    /// v1alpha), as one set of tonic routes, for a caller that builds its
    /// own server.
    pub fn routes(&self) -> Routes {
        let (users, accounts, blogs) = self.services();
        let routes = Routes::new(users).add_service(accounts).add_service(blogs);
        with_reflection(routes)
    }

    /// The store, locked. A poisoned lock is taken over as is: writes build
    /// the new item first and insert it in one step, so a panicking request
    /// cannot leave an item half-written.
    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// `routes` plus reflection v1 and v1alpha of the embedded descriptor set,
/// served as encoded so that the REST annotations reach the client. A
/// version that cannot be built is left out, logged (the set is checked at
/// build time, so this does not happen).
fn with_reflection(mut routes: Routes) -> Routes {
    let builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::pb::DESCRIPTOR_SET)
    };
    match builder().build_v1() {
        Ok(v1) => routes = routes.add_service(v1),
        Err(e) => tracing::warn!(error = %e, "example service: no reflection v1"),
    }
    match builder().build_v1alpha() {
        Ok(v1alpha) => routes = routes.add_service(v1alpha),
        Err(e) => tracing::warn!(error = %e, "example service: no reflection v1alpha"),
    }
    routes
}

/// Serves the three example services and their reflection, on a fresh empty [`ExampleState`],
/// over plaintext HTTP/2 on an already-bound `listener`, until `shutdown`
/// completes; then finishes the requests in flight and returns.
///
/// Bind `127.0.0.1:0` and read `listener.local_addr()` first to get a free
/// port without races.
pub async fn serve(
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    Server::builder()
        .add_routes(ExampleState::new().routes())
        // Without TCP_NODELAY a reply's trailers wait for the peer's
        // delayed ACK after a body of a few KB: ~40 ms per call.
        .serve_with_incoming_shutdown(
            TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown,
        )
        .await
}
