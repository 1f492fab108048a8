//! REST served in process (SPEC §8): the same route table, transcoding,
//! statuses and idempotency as the standalone gateway, in front of tonic
//! service implementations in this process — no network hop, no second port.
//!
//! ```ignore
//! let rest = restgate::serve::InProcess::new(DESCRIPTOR_SET)?
//!     .service(OrdersServer::new(orders))
//!     .router()?;
//! let grpc = tonic::service::Routes::new(OrdersServer::new(orders2));
//! // gRPC and REST on one listener: gRPC by content type, REST otherwise.
//! axum::serve(listener, restgate::serve::grpc_and_rest(grpc, rest)).await?;
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use tower::ServiceExt as _;

use super::{app, Live, WorkerService};
use crate::compile::{CompileError, CompileOptions, Descriptors, Diagnostics, RouteTable};
use crate::idempotency::IdempotencyStore;
use crate::serve::{Gateway, ServeOptions, SetupError, Shared};
use crate::upstream::LocalService;

/// Builds the REST router for tonic services in this process.
#[derive(Debug)]
pub struct InProcess {
    table: RouteTable,
    services: HashMap<String, LocalService>,
    options: ServeOptions,
    store: Option<Arc<dyn IdempotencyStore>>,
}

impl InProcess {
    /// Compiles the route table of an encoded descriptor set — the
    /// `restgate_descriptor.bin` that `restgate::build` writes to `OUT_DIR`.
    pub fn new(descriptor_set: &[u8]) -> Result<InProcess, CompileError> {
        InProcess::with_compile_options(descriptor_set, &CompileOptions::default())
    }

    /// [`InProcess::new`], compiling the table with `options` (the build
    /// step's `google_api_creates`, say, so both agree).
    pub fn with_compile_options(
        descriptor_set: &[u8],
        options: &CompileOptions,
    ) -> Result<InProcess, CompileError> {
        let descriptors = Descriptors::decode(descriptor_set)
            .map_err(|d| CompileError::Load(Diagnostics::new(vec![d])))?;
        let compiled = RouteTable::compile_with(&descriptors, options)?;
        Ok(InProcess {
            table: compiled.table,
            services: HashMap::new(),
            options: ServeOptions::default(),
            store: None,
        })
    }

    /// Serves the REST routes of `service` (a tonic `FooServer::new(..)`).
    pub fn service<S>(mut self, service: S) -> Self
    where
        S: tonic::server::NamedService
            + tower::Service<
                http::Request<tonic::body::Body>,
                Response = http::Response<tonic::body::Body>,
                Error = Infallible,
            > + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
    {
        self.services.insert(
            S::NAME.to_owned(),
            tower::util::BoxCloneSyncService::new(service),
        );
        self
    }

    /// The gateway's options (deadline, body limit, JSON, retries...).
    pub fn options(mut self, options: ServeOptions) -> Self {
        self.options = options;
        self
    }

    /// Keeps `Idempotency-Key`s in `store` (default: in memory).
    pub fn idempotency_store(mut self, store: Arc<dyn IdempotencyStore>) -> Self {
        self.store = Some(store);
        self
    }

    /// The axum router serving the REST routes of the services given.
    pub fn router(self) -> Result<axum::Router, SetupError> {
        Ok(app(self.gateway()?))
    }

    /// The same as a hyper service, the one a listener's connections call:
    /// REST requests go straight to the handler, the rest through
    /// [`InProcess::router`]'s router ([`WorkerService`]).
    pub fn worker_service(self) -> Result<WorkerService, SetupError> {
        Ok(WorkerService::new(Arc::new(Live::fixed(self.gateway()?))))
    }

    /// The gateway serving the REST routes of the services given.
    fn gateway(self) -> Result<Arc<Gateway>, SetupError> {
        let names: Vec<String> = self.services.keys().cloned().collect();
        tracing::debug!(services = ?names, "serving REST in process");
        let table = self.table.retain_services(&names);
        let mut shared = Shared::local(table, &self.services, self.options)?;
        if let Some(store) = self.store {
            shared = shared.with_store(store);
        }
        Ok(Arc::new(Gateway::new(Arc::new(shared))?))
    }
}

/// One router for gRPC and REST on one listener: requests whose content
/// type is `application/grpc…` go to `grpc`, everything else to `rest`.
pub fn grpc_and_rest(grpc: tonic::service::Routes, rest: axum::Router) -> axum::Router {
    axum::Router::new().fallback_service(GrpcOrRest {
        grpc: grpc.into_axum_router(),
        rest,
    })
}

/// The dispatcher behind [`grpc_and_rest`].
#[derive(Clone)]
struct GrpcOrRest {
    grpc: axum::Router,
    rest: axum::Router,
}

impl tower::Service<Request> for GrpcOrRest {
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let is_grpc = request
            .headers()
            .get(http::header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
        let router = if is_grpc {
            self.grpc.clone()
        } else {
            self.rest.clone()
        };
        Box::pin(router.oneshot(request))
    }
}
