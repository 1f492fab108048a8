//! [`Metrics`]: what `/metrics` shows, in Prometheus text format (the
//! `prometheus` crate), shared by every worker.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `restgate_requests_total` | counter | `route`, `method`, `status` |
//! | `restgate_request_duration_seconds` | histogram | `route`, `method` |
//! | `restgate_requests_in_flight` | gauge | |
//! | `restgate_request_body_bytes_in_flight` | gauge | |
//! | `restgate_upstream_errors_total` | counter | `route`, `code` (gRPC code name, or `unavailable`/`deadline`) |
//! | `restgate_upstream_retries_total` | counter | |
//! | `restgate_upstream_connection_failures_total` | counter | `stage` (`connect`: could not be made; `broken`: closed with an error once made) |
//! | `restgate_idempotency_replays_total` | counter | |
//! | `restgate_log_lines_dropped_total` | counter | |
//!
//! `route` is the route's template (`/v1/users/{user_id}`), never the raw
//! path, so the label set stays bounded; requests that match no route count
//! under `route="-"`.

use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// The gateway's metrics.
#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    duration: HistogramVec,
    in_flight: IntGauge,
    body_bytes: IntGauge,
    upstream_errors: IntCounterVec,
    replays: IntCounter,
}

/// Decrements the in-flight gauge when dropped.
#[derive(Debug)]
pub struct InFlight(IntGauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh set of metrics in its own registry.
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "restgate_requests_total",
                "Requests answered, by route, method and status.",
            ),
            &["route", "method", "status"],
        )
        .unwrap_or_else(|e| unreachable!("valid metric: {e}"));
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "restgate_request_duration_seconds",
                "Time from request to answer, by route and method.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0,
            ]),
            &["route", "method"],
        )
        .unwrap_or_else(|e| unreachable!("valid metric: {e}"));
        let in_flight = IntGauge::new("restgate_requests_in_flight", "Requests being served now.")
            .unwrap_or_else(|e| unreachable!("valid metric: {e}"));
        let body_bytes = IntGauge::new(
            "restgate_request_body_bytes_in_flight",
            "Bytes of request bodies held now, within max-in-flight-bytes.",
        )
        .unwrap_or_else(|e| unreachable!("valid metric: {e}"));
        let upstream_errors = IntCounterVec::new(
            Opts::new(
                "restgate_upstream_errors_total",
                "Failed upstream calls, by route and gRPC code (or unavailable/deadline).",
            ),
            &["route", "code"],
        )
        .unwrap_or_else(|e| unreachable!("valid metric: {e}"));
        let replays = IntCounter::new(
            "restgate_idempotency_replays_total",
            "Keyed requests answered from the idempotency store without calling the service.",
        )
        .unwrap_or_else(|e| unreachable!("valid metric: {e}"));
        for collector in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(duration.clone()),
            Box::new(in_flight.clone()),
            Box::new(body_bytes.clone()),
            Box::new(upstream_errors.clone()),
            Box::new(replays.clone()),
        ] {
            registry
                .register(collector)
                .unwrap_or_else(|e| unreachable!("metrics are registered once: {e}"));
        }
        Metrics {
            registry,
            requests,
            duration,
            in_flight,
            body_bytes,
            upstream_errors,
            replays,
        }
    }

    /// Counts a request as in flight until the guard drops.
    pub fn in_flight(&self) -> InFlight {
        self.in_flight.inc();
        InFlight(self.in_flight.clone())
    }

    /// The gauge of request body bytes held, for the body budget.
    pub fn body_bytes(&self) -> IntGauge {
        self.body_bytes.clone()
    }

    /// Records one answered request.
    pub fn answered(&self, route: &str, method: &str, status: u16, elapsed: Duration) {
        let digits = status_digits(status);
        let status = std::str::from_utf8(&digits).unwrap_or("000");
        self.requests
            .with_label_values(&[route, method, status])
            .inc();
        self.duration
            .with_label_values(&[route, method])
            .observe(elapsed.as_secs_f64());
    }

    /// Records a failed upstream call.
    pub fn upstream_error(&self, route: &str, code: &str) {
        self.upstream_errors.with_label_values(&[route, code]).inc();
    }

    /// Records an idempotent replay.
    pub fn replayed(&self) {
        self.replays.inc();
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::with_capacity(4096);
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        let mut text = String::from_utf8(out).unwrap_or_default();
        // Retries are counted where they happen, in the upstream client.
        text.push_str(
            "# HELP restgate_upstream_retries_total Retries of idempotent calls (PUT, GET, DELETE).\n\
             # TYPE restgate_upstream_retries_total counter\n",
        );
        text.push_str(&format!(
            "restgate_upstream_retries_total {}\n",
            crate::upstream::retries_total()
        ));
        // Dropped where the process's log writer drops them.
        text.push_str(
            "# HELP restgate_log_lines_dropped_total Log lines dropped because stderr could not keep up.\n\
             # TYPE restgate_log_lines_dropped_total counter\n",
        );
        text.push_str(&format!(
            "restgate_log_lines_dropped_total {}\n",
            super::log_writer::lines_dropped()
        ));
        // So are connection failures, where connections are made.
        let failures = crate::upstream::connection_failures();
        text.push_str(&format!(
            "# HELP restgate_upstream_connection_failures_total Upstream HTTP/2 connections that could not be made (stage=connect) or broke once made (stage=broken).\n\
             # TYPE restgate_upstream_connection_failures_total counter\n\
             restgate_upstream_connection_failures_total{{stage=\"connect\"}} {}\n\
             restgate_upstream_connection_failures_total{{stage=\"broken\"}} {}\n",
            failures.connect, failures.broken
        ));
        text
    }
}

/// A status code's three digits, without allocating.
fn status_digits(status: u16) -> [u8; 3] {
    let s = status.min(999);
    [
        b'0' + (s / 100) as u8,
        b'0' + (s / 10 % 10) as u8,
        b'0' + (s % 10) as u8,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counts_by_route_method_and_status() {
        let m = Metrics::new();
        m.answered("/v1/users", "POST", 201, Duration::from_millis(3));
        m.answered("/v1/users", "POST", 201, Duration::from_millis(4));
        m.answered("-", "GET", 404, Duration::from_millis(1));
        m.upstream_error("/v1/users", "unavailable");
        m.replayed();
        {
            let _guard = m.in_flight();
            assert!(m.render().contains("restgate_requests_in_flight 1"));
        }
        let text = m.render();
        assert!(
            text.contains(
                r#"restgate_requests_total{method="POST",route="/v1/users",status="201"} 2"#
            ),
            "{text}"
        );
        assert!(
            text.contains(r#"restgate_requests_total{method="GET",route="-",status="404"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"restgate_upstream_errors_total{code="unavailable",route="/v1/users"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("restgate_idempotency_replays_total 1"),
            "{text}"
        );
        assert!(text.contains("restgate_requests_in_flight 0"), "{text}");
        assert!(
            text.contains(
                r#"restgate_request_duration_seconds_count{method="POST",route="/v1/users"} 2"#
            ),
            "{text}"
        );
        assert!(text.contains("restgate_upstream_retries_total "), "{text}");
        assert!(text.contains("restgate_log_lines_dropped_total "), "{text}");
        assert!(
            text.contains(r#"restgate_upstream_connection_failures_total{stage="broken"} "#),
            "{text}"
        );
    }
}
