//! The shop example: an `Orders` tonic service kept in memory, served over
//! gRPC and — through restgate, in process — over REST, on one listener.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use tonic::{Request, Response, Status};

/// The generated code and the build step's outputs.
pub mod pb {
    #![allow(missing_docs, clippy::all)]
    include!(concat!(env!("OUT_DIR"), "/shop.v1.rs"));

    /// The encoded descriptor set `restgate::build` wrote.
    pub const DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/restgate_descriptor.bin"));
    /// The OpenAPI 3.1 document `restgate::build` wrote.
    pub const OPENAPI: &str = include_str!(concat!(env!("OUT_DIR"), "/restgate_openapi.json"));
}

use pb::orders_server::{Orders, OrdersServer};
use pb::{
    CreateOrderRequest, GetOrderRequest, ListOrdersRequest, ListOrdersResponse, Order,
    ReplaceOrderRequest,
};

/// The orders, by (shop, order id).
#[derive(Debug, Clone, Default)]
pub struct Shop {
    orders: Arc<Mutex<BTreeMap<(String, String), Order>>>,
}

impl Shop {
    fn orders(&self) -> std::sync::MutexGuard<'_, BTreeMap<(String, String), Order>> {
        self.orders.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[tonic::async_trait]
impl Orders for Shop {
    async fn create_order(
        &self,
        request: Request<CreateOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let request = request.into_inner();
        let mut order = request
            .order
            .ok_or_else(|| Status::invalid_argument("order is required"))?;
        let mut orders = self.orders();
        order.order_id = format!("o{}", orders.len() + 1);
        order.shop_id = request.shop_id.clone();
        orders.insert((request.shop_id, order.order_id.clone()), order.clone());
        Ok(Response::new(order))
    }

    async fn replace_order(
        &self,
        request: Request<ReplaceOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let request = request.into_inner();
        let mut order = request
            .order
            .ok_or_else(|| Status::invalid_argument("order is required"))?;
        order.order_id = request.order_id.clone();
        order.shop_id = request.shop_id.clone();
        self.orders()
            .insert((request.shop_id, request.order_id), order.clone());
        Ok(Response::new(order))
    }

    async fn get_order(
        &self,
        request: Request<GetOrderRequest>,
    ) -> Result<Response<Order>, Status> {
        let request = request.into_inner();
        let key = (request.shop_id, request.order_id);
        let order = self.orders().get(&key).cloned();
        order.map(Response::new).ok_or_else(|| {
            Status::not_found(format!("order {} of shop {} not found", key.1, key.0))
        })
    }

    async fn list_orders(
        &self,
        request: Request<ListOrdersRequest>,
    ) -> Result<Response<ListOrdersResponse>, Status> {
        let shop = request.into_inner().shop_id;
        let orders = self
            .orders()
            .iter()
            .filter(|((s, _), _)| *s == shop)
            .map(|(_, o)| o.clone())
            .collect();
        Ok(Response::new(ListOrdersResponse { orders }))
    }
}

/// gRPC and REST for one shop on one router: gRPC by content type, REST
/// (with its OpenAPI document at `/openapi.json`) otherwise.
pub fn app(shop: Shop) -> Result<axum::Router, Box<dyn std::error::Error + Send + Sync>> {
    let rest = restgate::serve::InProcess::new(pb::DESCRIPTOR_SET)?
        .service(OrdersServer::new(shop.clone()))
        .router()?;
    let grpc = tonic::service::Routes::new(OrdersServer::new(shop));
    Ok(restgate::serve::grpc_and_rest(grpc, rest))
}
