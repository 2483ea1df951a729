//! Logging: `pretty` for people, `json` (one object per line, event fields at the top level)
//! for machines. `RUST_LOG` sets levels.

use std::io::IsTerminal;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::config::LogFormat;

/// The JSON log layer, writing to `writer`: security events come out as one line each with
/// `event`, `reason`, `request_id`… at the top level. Every line logged while a request is
/// handled also carries the request's span in `spans` (`[{"name":"request","request_id":…,
/// "method":…,"path":…}]`), so all lines of one request can be found by its id.
pub fn json_layer<W>(writer: W) -> impl Layer<Registry> + Send + Sync
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(true)
        .with_writer(writer)
}

/// Installs the global subscriber. Logs go to standard error; standard output stays for what
/// a command prints (tokens, schemas).
pub fn init(format: Option<LogFormat>) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let format = format.unwrap_or(if std::io::stderr().is_terminal() {
        LogFormat::Pretty
    } else {
        LogFormat::Json
    });
    let layer = match format {
        LogFormat::Json => json_layer(std::io::stderr).boxed(),
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .boxed(),
    };
    // A second call (tests, embedding) keeps the first subscriber.
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}
