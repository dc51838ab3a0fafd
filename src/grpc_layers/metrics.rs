//! Prometheus metrics of the gRPC service: calls by method and status code,
//! call durations, bytes received and sent per method, refusals by reason,
//! and the memory budget (bytes in flight against the total).
//!
//! The families live here and are registered into the registry that the
//! gateway serves at `/metrics` (in `tensorwire serve` both listeners share
//! one page).

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, Request};
use hyper::body::{Body, Frame};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tonic::Code;

use super::{Answer, GrpcBody, GrpcService, WrapCall, method_label};
use crate::body::{FrameHook, HookedBody};
use crate::budget::MemoryBudget;
use crate::status::code_name;
use crate::store::TensorStore;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    method: &'static str,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MethodLabels {
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// The service's metric families and the budget they report.
#[derive(Debug)]
pub struct ServiceMetrics {
    calls: Family<CallLabels, Counter>,
    duration: Family<MethodLabels, Histogram>,
    received: Family<MethodLabels, Counter>,
    sent: Family<MethodLabels, Counter>,
    refused: Family<ReasonLabels, Counter>,
    budget: MemoryBudget,
    budget_total: Gauge,
    budget_in_use: Gauge,
    store: Option<TensorStore>,
    store_metrics: StoreMetrics,
}

/// The tensor store's families, brought up to date from its counts.
#[derive(Debug, Default)]
struct StoreMetrics {
    limit: Gauge,
    tensors: Gauge,
    bytes: Gauge,
    puts: Counter,
    hits: Counter,
    misses: Counter,
    expiries: Counter,
}

impl ServiceMetrics {
    /// Empty counters reporting on `budget`.
    pub fn new(budget: MemoryBudget) -> ServiceMetrics {
        ServiceMetrics {
            calls: Family::default(),
            duration: Family::new_with_constructor(
                (|| Histogram::new(exponential_buckets(0.0005, 2.0, 20))) as fn() -> Histogram,
            ),
            received: Family::default(),
            sent: Family::default(),
            refused: Family::default(),
            budget,
            budget_total: Gauge::default(),
            budget_in_use: Gauge::default(),
            store: None,
            store_metrics: StoreMetrics::default(),
        }
    }

    /// The same metrics reporting on the tensor store too.
    pub fn with_store(self, store: TensorStore) -> ServiceMetrics {
        ServiceMetrics {
            store: Some(store),
            ..self
        }
    }

    /// Registers every family into `registry` (under `tensorwire_grpc_` and
    /// `tensorwire_memory_budget_`).
    pub fn register_into(&self, registry: &mut Registry) {
        let grpc = registry.sub_registry_with_prefix("tensorwire_grpc");
        grpc.register(
            "calls",
            "gRPC calls answered, by method and status code",
            self.calls.clone(),
        );
        grpc.register(
            "call_duration_seconds",
            "Time from a call's start to the end of its answer, by method",
            self.duration.clone(),
        );
        grpc.register(
            "received_bytes",
            "Request body bytes received, by method",
            self.received.clone(),
        );
        grpc.register(
            "sent_bytes",
            "Response body bytes sent, by method",
            self.sent.clone(),
        );
        grpc.register(
            "refused_calls",
            "Calls refused, by reason (invalid_argument, unauthenticated, memory_budget, size_limit, deadline_exceeded)",
            self.refused.clone(),
        );
        let budget = registry.sub_registry_with_prefix("tensorwire_memory_budget");
        budget.register(
            "bytes",
            "The memory budget shared by every request (--memory-budget)",
            self.budget_total.clone(),
        );
        budget.register(
            "in_flight_bytes",
            "Tensor bytes reserved by requests in flight now",
            self.budget_in_use.clone(),
        );
        if self.store.is_none() {
            return;
        }
        let store = registry.sub_registry_with_prefix("tensorwire_store");
        let m = &self.store_metrics;
        let gauges = [
            ("limit_bytes", "The store's size (--store-bytes)", &m.limit),
            ("tensors", "Tensors held now", &m.tensors),
            ("bytes", "Bytes held now (with puts under way)", &m.bytes),
        ];
        for (name, help, gauge) in gauges {
            store.register(name, help, gauge.clone());
        }
        let counters = [
            ("puts", "Tensors stored (uploads and kept results)", &m.puts),
            ("hits", "Lookups of a stored tensor that found it", &m.hits),
            (
                "misses",
                "Lookups that found nothing (NOT_FOUND)",
                &m.misses,
            ),
            (
                "expiries",
                "Tensors dropped after --store-ttl-secs unused",
                &m.expiries,
            ),
        ];
        for (name, help, counter) in counters {
            store.register(name, help, counter.clone());
        }
    }

    /// Brings the budget gauges up to date (before rendering).
    pub fn refresh(&self) {
        let to_i64 = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.budget_total.set(to_i64(self.budget.total_bytes()));
        self.budget_in_use.set(to_i64(self.budget.in_use_bytes()));
        if let Some(store) = &self.store {
            let counts = store.counts();
            let m = &self.store_metrics;
            m.limit.set(to_i64(store.limits().max_bytes));
            m.tensors.set(to_i64(counts.tensors));
            m.bytes.set(to_i64(counts.bytes));
            for (counter, value) in [
                (&m.puts, counts.puts),
                (&m.hits, counts.hits),
                (&m.misses, counts.misses),
                (&m.expiries, counts.expiries),
            ] {
                counter.inc_by(value.saturating_sub(counter.get()));
            }
        }
    }

    fn record(&self, method: &'static str, code: Code, retryable: bool, started: Instant) {
        self.calls
            .get_or_create(&CallLabels {
                method,
                code: code_name(code),
            })
            .inc();
        self.duration
            .get_or_create(&MethodLabels { method })
            .observe(started.elapsed().as_secs_f64());
        let reason = match code {
            Code::InvalidArgument => Some("invalid_argument"),
            Code::Unauthenticated => Some("unauthenticated"),
            Code::ResourceExhausted if retryable => Some("memory_budget"),
            Code::ResourceExhausted => Some("size_limit"),
            Code::DeadlineExceeded => Some("deadline_exceeded"),
            _ => None,
        };
        if let Some(reason) = reason {
            self.refused.get_or_create(&ReasonLabels { reason }).inc();
        }
    }
}

/// The status in `grpc-status` (and whether it carries `retry-after`).
fn status_of(headers: &HeaderMap) -> Option<(Code, bool)> {
    let code = headers
        .get("grpc-status")?
        .to_str()
        .ok()?
        .parse::<i32>()
        .ok()?;
    Some((Code::from_i32(code), headers.contains_key("retry-after")))
}

/// Counts each call, its bytes both ways, its status and its duration (put
/// around the routes by a [`CallLayer`](super::CallLayer)).
#[derive(Clone, Debug)]
pub struct RecordMetrics {
    metrics: Arc<ServiceMetrics>,
}

impl RecordMetrics {
    /// Records into `metrics`.
    pub fn new(metrics: Arc<ServiceMetrics>) -> RecordMetrics {
        RecordMetrics { metrics }
    }
}

impl WrapCall for RecordMetrics {
    fn call<S: GrpcService, B: GrpcBody>(&self, inner: &mut S, request: Request<B>) -> Answer<S> {
        let method = method_label(request.uri().path());
        let started = Instant::now();
        let received = self
            .metrics
            .received
            .get_or_create(&MethodLabels { method })
            .clone();
        let request = request.map(|body| {
            tonic::body::Body::new(HookedBody::new(
                body,
                ByteCounter {
                    counter: received,
                    observer: None,
                },
            ))
        });
        let answer = inner.call(request);
        let metrics = self.metrics.clone();
        Box::pin(async move {
            let response = answer.await?;
            let sent = metrics.sent.get_or_create(&MethodLabels { method }).clone();
            // A trailers-only answer (every refusal) has its status here;
            // otherwise the status comes in the body's trailers.
            let status = status_of(response.headers());
            let observer = CallObserver {
                metrics,
                method,
                started,
                status,
                recorded: false,
            };
            Ok(response.map(|body| {
                tonic::body::Body::new(HookedBody::new(
                    body,
                    ByteCounter {
                        counter: sent,
                        observer: Some(observer),
                    },
                ))
            }))
        })
    }
}

/// Records a call once: when its trailers pass, or when its answer is
/// dropped (a call whose answer never finished counts as `CANCELLED`).
#[derive(Debug)]
struct CallObserver {
    metrics: Arc<ServiceMetrics>,
    method: &'static str,
    started: Instant,
    status: Option<(Code, bool)>,
    recorded: bool,
}

impl CallObserver {
    fn finish(&mut self, status: Option<(Code, bool)>) {
        if self.recorded {
            return;
        }
        self.recorded = true;
        let (code, retryable) = status.or(self.status).unwrap_or((Code::Cancelled, false));
        self.metrics
            .record(self.method, code, retryable, self.started);
    }
}

impl Drop for CallObserver {
    fn drop(&mut self) {
        self.finish(None);
    }
}

/// Counts the data bytes of a body (and, for answers, sees the status).
#[derive(Debug)]
struct ByteCounter {
    counter: Counter,
    observer: Option<CallObserver>,
}

impl<B: Body<Data = Bytes>> FrameHook<B> for ByteCounter {
    fn on_frame(&mut self, frame: &Frame<Bytes>) -> Result<(), B::Error> {
        if let Some(data) = frame.data_ref() {
            self.counter.inc_by(data.len() as u64);
        } else if let Some(trailers) = frame.trailers_ref()
            && let Some(observer) = &mut self.observer
        {
            observer.finish(status_of(trailers));
        }
        Ok(())
    }

    fn on_end(&mut self, failed: bool) {
        // A failed answer is recorded when it is dropped.
        if !failed && let Some(observer) = &mut self.observer {
            observer.finish(None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_counted_by_reason_and_budget_is_reported() {
        let budget = MemoryBudget::new(1 << 20);
        let metrics = ServiceMetrics::new(budget.clone());
        let mut registry = Registry::default();
        metrics.register_into(&mut registry);
        let _held = budget.try_reserve(4096).unwrap();
        let started = Instant::now();
        metrics.record("Describe", Code::Ok, false, started);
        metrics.record("Describe", Code::ResourceExhausted, true, started);
        metrics.record("GaussianFilter", Code::ResourceExhausted, false, started);
        metrics.refresh();
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        for line in [
            r#"tensorwire_grpc_calls_total{method="Describe",code="OK"} 1"#,
            r#"tensorwire_grpc_calls_total{method="Describe",code="RESOURCE_EXHAUSTED"} 1"#,
            r#"tensorwire_grpc_refused_calls_total{reason="memory_budget"} 1"#,
            r#"tensorwire_grpc_refused_calls_total{reason="size_limit"} 1"#,
            "tensorwire_memory_budget_bytes 1048576",
            "tensorwire_memory_budget_in_flight_bytes 4096",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }
}
