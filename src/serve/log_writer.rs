//! The writer behind every log line of `restgate serve`, the access log's
//! among them: a line goes into a bounded in-memory queue, and a background
//! thread writes what has queued up to stderr in one buffered `write` per
//! batch. A request thus pays for formatting its line and a queue push,
//! never for a `write(2)` of its own. The thread pauses for [`BATCH_PAUSE`]
//! after each batch, so that under load the lines of many requests make one
//! batch, and a line seldom finds the thread asleep on an empty queue (then
//! the request would wake it: a `futex` call of its own).
//!
//! When stderr cannot keep up (a stalled pipe, a slow log collector) and
//! [`QUEUED_LINES`] lines are waiting, further lines are dropped rather than
//! slowing requests down, and counted: [`lines_dropped`], exported as
//! `restgate_log_lines_dropped_total`. The [`LogFlush`] guard, held until
//! the process ends, writes out every queued line when it drops.
//!
//! Also here: the subscriber that formats lines into that writer
//! ([`subscriber`]). The access log's lines go into the same writer,
//! formatted by hand ([`super::access_log`]).

use std::io::{BufWriter, Write};
use std::sync::OnceLock;
use std::time::Duration;

use tracing::Subscriber;
use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// How many lines may wait for the writer thread before new ones are
/// dropped: about a second of access lines at full load, a few MB at most.
pub const QUEUED_LINES: usize = 16 * 1024;

/// How long the writer thread waits after writing a batch before it looks
/// at the queue again: lines reach stderr at most this much later.
pub const BATCH_PAUSE: Duration = Duration::from_millis(10);

/// The dropped-line count of the process's writer, once there is one.
static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Flushes the queued lines to stderr when dropped (waiting at most about
/// a second for a stalled stderr).
#[derive(Debug)]
#[must_use = "queued log lines are written out when the guard drops"]
pub struct LogFlush {
    _worker: WorkerGuard,
}

/// A non-blocking writer to stderr, and the guard that flushes it. Lines
/// dropped by this writer count in [`lines_dropped`] (the first writer made
/// in the process: there is one per process).
pub fn stderr_writer() -> (NonBlocking, LogFlush) {
    // stderr is unbuffered: the writer thread's batch goes out as one write.
    let (writer, flush) = writer_to(std::io::stderr());
    let _ = DROPPED.set(writer.error_counter());
    (writer, flush)
}

/// The writer [`stderr_writer`] makes, writing to `sink` instead.
pub fn writer_to<W: Write + Send + Sync + 'static>(sink: W) -> (NonBlocking, LogFlush) {
    queued(
        Paused(BufWriter::with_capacity(64 * 1024, sink)),
        QUEUED_LINES,
    )
}

/// The subscriber of `restgate serve`: lines filtered by `filter`, pretty
/// (coloured when `ansi`) or one JSON object each, written to `writer`.
pub fn subscriber(
    format: LogFormat,
    filter: EnvFilter,
    ansi: bool,
    writer: NonBlocking,
) -> Box<dyn Subscriber + Send + Sync> {
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(writer);
    match format {
        LogFormat::Pretty => Box::new(builder.finish()),
        LogFormat::Json => Box::new(builder.json().flatten_event(true).finish()),
    }
}

/// A lossy writer queueing at most `lines` lines for `sink`.
fn queued<W: Write + Send + Sync + 'static>(sink: W, lines: usize) -> (NonBlocking, LogFlush) {
    let (writer, guard) = NonBlockingBuilder::default()
        .buffered_lines_limit(lines)
        .lossy(true)
        .thread_name("restgate-log")
        .finish(sink);
    (writer, LogFlush { _worker: guard })
}

/// A sink that pauses for [`BATCH_PAUSE`] after each flush: the writer
/// thread flushes once per batch.
struct Paused<W>(W);

impl<W: Write> Write for Paused<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0.write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let flushed = self.0.flush();
        std::thread::sleep(BATCH_PAUSE);
        flushed
    }
}

/// Log lines dropped so far because the queue was full (0 without a
/// non-blocking writer).
pub fn lines_dropped() -> u64 {
    DROPPED.get().map_or(0, |c| c.dropped_lines() as u64)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex, PoisonError};

    use super::queued;

    /// A sink whose writes wait while the test holds `gate`.
    #[derive(Clone, Default)]
    struct Gated {
        gate: Arc<Mutex<()>>,
        out: Arc<Mutex<Vec<u8>>>,
    }

    impl Write for Gated {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _open = self.gate.lock().unwrap_or_else(PoisonError::into_inner);
            let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
            out.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Gated {
        fn lines(&self) -> usize {
            let out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
            out.iter().filter(|b| **b == b'\n').count()
        }
    }

    #[test]
    fn every_queued_line_is_written_when_the_guard_drops() {
        let sink = Gated::default();
        let closed = sink.gate.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut writer, flush) = queued(sink.clone(), 100);
        for i in 0..50 {
            writer.write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        assert!(
            sink.lines() < 50,
            "the sink is closed: lines wait in the queue"
        );
        drop(closed);
        drop(flush);
        assert_eq!(sink.lines(), 50);
        assert_eq!(writer.error_counter().dropped_lines(), 0);
    }

    #[test]
    fn a_full_queue_drops_lines_and_counts_them() {
        let sink = Gated::default();
        let closed = sink.gate.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut writer, flush) = queued(sink.clone(), 4);
        for i in 0..10 {
            writer.write_all(format!("line {i}\n").as_bytes()).unwrap();
        }
        // Four wait in the queue, and perhaps one in the closed sink.
        let dropped = writer.error_counter().dropped_lines();
        assert!((5..=6).contains(&dropped), "dropped {dropped} of 10");
        drop(closed);
        drop(flush);
        assert_eq!(sink.lines() + dropped, 10);
    }
}
