//! The real-time metrics of `/metrics` (docs/api.md#metrics): open sockets and active
//! subscriptions (gauges), events delivered, slow-consumer closes and listener reconnects
//! (counters). Process-wide, like the recorder.

pub const SOCKETS: &str = "ws_open_sockets";
pub const SUBSCRIPTIONS: &str = "ws_active_subscriptions";
pub const DELIVERED: &str = "task_events_delivered_total";
pub const SLOW_CONSUMERS: &str = "ws_slow_consumer_closes_total";
pub const RECONNECTS: &str = "event_listener_reconnects_total";

/// Describes the metrics above (called when the recorder is installed).
pub fn describe() {
    metrics::describe_gauge!(SOCKETS, "Open GraphQL WebSockets");
    metrics::describe_gauge!(SUBSCRIPTIONS, "Active task event subscriptions");
    metrics::describe_counter!(DELIVERED, "Task events delivered to subscribers");
    metrics::describe_counter!(SLOW_CONSUMERS, "Subscriptions ended with SLOW_CONSUMER");
    metrics::describe_counter!(RECONNECTS, "Reconnections of the PostgreSQL event listener");
}

pub fn event_delivered() {
    metrics::counter!(DELIVERED).increment(1);
}

pub fn slow_consumer() {
    metrics::counter!(SLOW_CONSUMERS).increment(1);
}

pub fn listener_reconnected() {
    metrics::counter!(RECONNECTS).increment(1);
}

/// Counts in a gauge while it lives.
pub struct Held(&'static str);

impl Held {
    fn start(gauge: &'static str) -> Self {
        metrics::gauge!(gauge).increment(1.0);
        Self(gauge)
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        metrics::gauge!(self.0).decrement(1.0);
    }
}

/// An active subscription, counted while it lives.
pub struct ActiveSubscription(#[allow(dead_code)] Held);

impl ActiveSubscription {
    pub fn start() -> Self {
        Self(Held::start(SUBSCRIPTIONS))
    }
}

/// An open socket, counted while it lives.
pub struct OpenSocket(#[allow(dead_code)] Held);

impl OpenSocket {
    pub fn start() -> Self {
        Self(Held::start(SOCKETS))
    }
}
