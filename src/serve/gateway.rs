//! [`Gateway`]: what a worker needs to serve requests — the [`Shared`]
//! route table, options and per-route [`RouteServing`] data, and the
//! worker's own upstream connections.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http::uri::PathAndQuery;

use super::body::BodyBudget;
use super::metrics::Metrics;
use super::{ServeOptions, Upstreams};
use crate::compile::{Route, RouteId, RouteTable};
use crate::idempotency::{IdempotencyStore, MemoryStore};
use crate::transcode::{self, MessagePlan, PlanCache, RequestPlan};
use crate::upstream::{Endpoint, LocalService, RemoteSpec, Upstream, UpstreamError};

/// What every worker shares: the table, the options, and for each route
/// what serving it takes, resolved once at start-up.
#[derive(Debug)]
pub struct Shared {
    /// The routes.
    pub table: RouteTable,
    /// The settings.
    pub options: ServeOptions,
    /// Where `Idempotency-Key`s are kept; shared by every worker.
    pub store: Arc<dyn IdempotencyStore>,
    /// The OpenAPI 3.1 document of the table, served at `/openapi.json`.
    pub openapi: bytes::Bytes,
    /// What `/metrics` shows; shared by every worker.
    pub metrics: Metrics,
    /// Permits for `max_concurrent_requests`, shared by every worker.
    pub limiter: Option<Arc<tokio::sync::Semaphore>>,
    /// The request body bytes held now (`max_in_flight_bytes`), shared by
    /// every worker.
    pub body_budget: BodyBudget,
    /// One per route of `table`, in its order.
    serving: Vec<RouteServing>,
    /// The distinct upstreams, each with what identifies it (so that a
    /// reload keeps the connections of the upstreams it keeps).
    endpoints: Vec<(UpstreamKey, Endpoint)>,
}

/// What serving one route takes beyond the route itself.
#[derive(Debug, Clone)]
pub struct RouteServing {
    /// `/package.Service/Method`.
    pub grpc_path: PathAndQuery,
    /// The call deadline when the request sends no `Grpc-Timeout` (its
    /// upstream's `timeout`, else the gateway's).
    pub timeout: Duration,
    /// Which of [`Shared`]'s upstreams serves it.
    upstream: usize,
    /// The compiled transcoder of its reply type, when its unary replies
    /// are written as JSON straight from their protobuf encoding
    /// ([`transcode::wire_reply_fits`]); else replies are decoded.
    pub reply_plan: Option<Arc<MessagePlan>>,
    /// How its unary requests are written as wire bytes by the compiled
    /// transcoder, when they are ([`RequestPlan::for_route`]); else they are
    /// built as a message.
    pub request_plan: Option<RequestPlan>,
}

/// What identifies an upstream: routes with equal keys share one (its
/// endpoints, TLS and timeouts), and a reload keeps its connections.
#[derive(Debug, Clone, PartialEq, Eq)]
enum UpstreamKey {
    /// `--upstream`: equal settings are one upstream.
    Remote(RemoteSpec),
    /// A tonic service in this process, by service full name.
    Local(String),
}

/// Why the gateway cannot start with these upstreams.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A routed service has no `--upstream`.
    #[error(
        "no --upstream for service {0}; give --upstream URI (every service) or --upstream {0}=URI"
    )]
    NoUpstream(String),
    /// An `--upstream SERVICE=` names no loaded service.
    #[error("--upstream names service {0}, which the loaded descriptors do not have")]
    UnknownService(String),
    /// An upstream address is unusable.
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
}

impl Shared {
    /// Resolves every route's upstream; fails when one has none.
    pub fn new(
        table: RouteTable,
        upstreams: &Upstreams,
        options: ServeOptions,
    ) -> Result<Shared, SetupError> {
        for service in upstreams.by_service.keys() {
            if !table
                .routes()
                .iter()
                .any(|r| r.rpc.parent_service().full_name() == service)
            {
                return Err(SetupError::UnknownService(service.clone()));
            }
        }
        Shared::resolve(table, options, |service| {
            let spec = upstreams
                .by_service
                .get(service)
                .or(upstreams.default.as_ref())?;
            Some((
                UpstreamKey::Remote(spec.clone()),
                Endpoint::Remote(spec.clone()),
            ))
        })
    }

    /// Every route served by a tonic service in this process, by service
    /// full name: REST with no network hop.
    pub fn local(
        table: RouteTable,
        services: &HashMap<String, LocalService>,
        options: ServeOptions,
    ) -> Result<Shared, SetupError> {
        Shared::resolve(table, options, |service| {
            let local = services.get(service)?;
            Some((
                UpstreamKey::Local(service.to_owned()),
                Endpoint::Local(local.clone()),
            ))
        })
    }

    /// Gives each route its gRPC path and the endpoint `endpoint_of` names
    /// for its service (routes with equal keys share one).
    fn resolve(
        table: RouteTable,
        options: ServeOptions,
        endpoint_of: impl Fn(&str) -> Option<(UpstreamKey, Endpoint)>,
    ) -> Result<Shared, SetupError> {
        let mut endpoints: Vec<(UpstreamKey, Endpoint)> = Vec::new();
        let mut serving = Vec::with_capacity(table.routes().len());
        let plans = PlanCache::new();
        for route in table.routes() {
            let service = route.rpc.parent_service();
            let (key, endpoint) = endpoint_of(service.full_name())
                .ok_or_else(|| SetupError::NoUpstream(service.full_name().to_owned()))?;
            let upstream = match endpoints.iter().position(|(k, _)| *k == key) {
                Some(i) => i,
                None => {
                    Upstream::from_endpoint(&endpoint)?;
                    endpoints.push((key, endpoint));
                    endpoints.len() - 1
                }
            };
            let timeout = match &endpoints[upstream].1 {
                Endpoint::Remote(spec) => spec.timeout.unwrap_or(options.timeout),
                Endpoint::Local(_) => options.timeout,
            };
            let path = format!("/{}/{}", service.full_name(), route.rpc.name());
            let grpc_path = PathAndQuery::try_from(path)
                .unwrap_or_else(|e| unreachable!("proto names are valid paths: {e}"));
            let reply_plan = (transcode::wire_reply_fits(route)
                && !route.rpc.is_client_streaming()
                && !route.rpc.is_server_streaming())
            .then(|| plans.plan(&route.rpc.output()));
            serving.push(RouteServing {
                grpc_path,
                timeout,
                upstream,
                reply_plan,
                request_plan: RequestPlan::for_route(route, &plans),
            });
        }
        let openapi_options = crate::openapi::OpenApiOptions {
            proto_field_names: options.json.proto_field_names,
            path_params: options.openapi_path_params,
            license: options.openapi_license.clone(),
            ..crate::openapi::OpenApiOptions::default()
        };
        let openapi = serde_json::to_vec(&crate::openapi::document(&table, &openapi_options))
            .unwrap_or_default()
            .into();
        let limiter = options
            .max_concurrent_requests
            .map(|n| Arc::new(tokio::sync::Semaphore::new(n)));
        let metrics = Metrics::new();
        let body_budget = BodyBudget::new(options.max_in_flight_bytes, metrics.body_bytes());
        Ok(Shared {
            table,
            options,
            openapi,
            metrics,
            limiter,
            body_budget,
            store: Arc::new(MemoryStore::new()),
            serving,
            endpoints,
        })
    }
}

impl Shared {
    /// Route `id` of the table.
    pub fn route(&self, id: RouteId) -> &Route {
        &self.table.routes()[id]
    }

    /// What serving route `id` takes.
    pub fn serving(&self, id: RouteId) -> &RouteServing {
        &self.serving[id.index()]
    }

    /// The default call deadline of a route.
    pub fn timeout(&self, route: impl Into<RouteId>) -> Duration {
        self.serving(route.into()).timeout
    }

    /// Keeps idempotency keys in `store` instead of memory.
    pub fn with_store(mut self, store: Arc<dyn IdempotencyStore>) -> Shared {
        self.store = store;
        self
    }

    /// Takes over what outlives a reload from the table serving before:
    /// the idempotency store, the metrics, the concurrency permits and the
    /// body budget (a new limit starts a new budget, the bodies held in the
    /// old one still shown by the same gauge).
    pub fn succeeding(mut self, before: &Shared) -> Shared {
        self.store = Arc::clone(&before.store);
        self.metrics = before.metrics.clone();
        if self.options.max_concurrent_requests == before.options.max_concurrent_requests {
            self.limiter = before.limiter.clone();
        }
        self.body_budget = if self.options.max_in_flight_bytes == before.body_budget.limit() {
            before.body_budget.clone()
        } else {
            BodyBudget::new(self.options.max_in_flight_bytes, self.metrics.body_bytes())
        };
        self
    }
}

/// One worker's gateway: the shared part plus its own connections.
#[derive(Debug)]
pub struct Gateway {
    /// The table, options and per-route resolution.
    pub shared: Arc<Shared>,
    /// One per upstream of `shared`, in its order.
    upstreams: Vec<Arc<Upstream>>,
}

impl Gateway {
    /// A worker's gateway; connections are made on first use.
    pub fn new(shared: Arc<Shared>) -> Result<Gateway, UpstreamError> {
        let upstreams = shared
            .endpoints
            .iter()
            .map(|(_, e)| Upstream::from_endpoint(e).map(Arc::new))
            .collect::<Result<_, _>>()?;
        Ok(Gateway { shared, upstreams })
    }

    /// The gateway for a reloaded table, keeping `before`'s upstreams (and
    /// their connections) whose endpoints did not change.
    pub(crate) fn succeeding(
        before: &Gateway,
        shared: Arc<Shared>,
    ) -> Result<Gateway, UpstreamError> {
        let upstreams = shared
            .endpoints
            .iter()
            .map(|(key, endpoint)| {
                match before.shared.endpoints.iter().position(|(k, _)| k == key) {
                    Some(i) => Ok(Arc::clone(&before.upstreams[i])),
                    None => Upstream::from_endpoint(endpoint).map(Arc::new),
                }
            })
            .collect::<Result<_, _>>()?;
        Ok(Gateway { shared, upstreams })
    }

    /// Checks every upstream: `Ok` when each answers `grpc.health.v1`
    /// Check with SERVING, or has no health service (UNIMPLEMENTED) but
    /// answers; else why not.
    pub async fn check_upstreams(&self) -> Result<(), String> {
        use prost_reflect::{DescriptorPool, DynamicMessage};
        // grpc.health.v1 is part of the embedded descriptor set.
        static POOL: std::sync::OnceLock<Option<DescriptorPool>> = std::sync::OnceLock::new();
        let pool = POOL
            .get_or_init(|| DescriptorPool::decode(crate::pb::DESCRIPTOR_SET).ok())
            .as_ref()
            .ok_or("the embedded descriptor set does not decode")?;
        let (Some(request), Some(reply)) = (
            pool.get_message_by_name("grpc.health.v1.HealthCheckRequest"),
            pool.get_message_by_name("grpc.health.v1.HealthCheckResponse"),
        ) else {
            return Err("grpc.health.v1 is missing from the embedded descriptor set".to_owned());
        };
        let request = DynamicMessage::new(request);
        let path = PathAndQuery::from_static("/grpc.health.v1.Health/Check");
        for (i, upstream) in self.upstreams.iter().enumerate() {
            let answer = upstream
                .unary(
                    path.clone(),
                    request.clone(),
                    Default::default(),
                    reply.clone(),
                    Duration::from_secs(2),
                )
                .await;
            let status = |m: &DynamicMessage| {
                m.get_field_by_name("status")
                    .and_then(|v| v.as_enum_number())
            };
            match answer {
                Ok(r) if status(&r.message) == Some(1) => {}
                Ok(r) => {
                    return Err(format!(
                        "upstream {i} is not serving (health status {:?})",
                        status(&r.message)
                    ))
                }
                Err(UpstreamError::Status(s)) if s.code() == tonic::Code::Unimplemented => {}
                Err(e) => return Err(format!("upstream {i}: {e}")),
            }
        }
        Ok(())
    }

    /// The upstream and gRPC path of a route.
    pub fn target(&self, route: impl Into<RouteId>) -> (&Upstream, &PathAndQuery) {
        let serving = self.shared.serving(route.into());
        (&self.upstreams[serving.upstream], &serving.grpc_path)
    }
}
