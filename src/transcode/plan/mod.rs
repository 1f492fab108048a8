//! The compiled transcoder: proto3 JSON bytes straight to protobuf wire
//! bytes and back, with no `DynamicMessage` in between.
//!
//! A [`MessagePlan`] is compiled once per message type from its
//! descriptor (field numbers, wire keys, JSON and proto names, enums'
//! names and numbers, maps, oneofs, the well-known types, nested types by
//! index so recursive ones are one entry); [`PlanCache`] keeps one per
//! descriptor. Its two codecs, [`MessagePlan::json_to_wire`] and
//! [`MessagePlan::wire_to_json`], keep the rules of [`super::json`] (which
//! stays, as the reference the property tests hold them to:
//! `tests/transcode_plan.rs`, and protobuf's conformance suite:
//! `tests/conformance.rs`).
//!
//! Knows bytes, not sockets: nothing here does I/O.

mod compile;
mod fault;
mod json_in;
mod json_in_scalar;
mod json_in_wkt;
mod json_out;
mod json_out_map;
mod json_out_runs;
mod json_out_wkt;
mod lexer;
mod lookup;
#[cfg(test)]
mod tests;
mod wire;
mod wire_check;
mod write;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prost_reflect::MessageDescriptor;

pub use compile::MessagePlan;

/// One compiled plan per message of one descriptor pool (by full name),
/// compiled on first use.
#[derive(Debug, Default)]
pub struct PlanCache {
    plans: Mutex<HashMap<String, Arc<MessagePlan>>>,
}

impl PlanCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// The plan of `desc`, compiled the first time it is asked for.
    pub fn plan(&self, desc: &MessageDescriptor) -> Arc<MessagePlan> {
        let mut plans = self
            .plans
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        plans
            .entry(desc.full_name().to_owned())
            .or_insert_with(|| MessagePlan::compile(desc))
            .clone()
    }
}
