//! The bundled example service on a fixed loopback address that a test can
//! take down and bring back while its data lives on: one
//! [`ExampleState`] served again and again on the same port.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use restgate::example::ExampleState;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::server::TcpIncoming;
use tonic::transport::Server;

use super::gateway::WAIT;

/// A server task and the switch that stops it.
struct Running {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Result<(), tonic::transport::Error>>,
}

/// The example service, restartable on its address. Dropping it stops it.
pub(crate) struct RestartableExample {
    /// Where it listens, across restarts (127.0.0.1, a free port).
    pub(crate) addr: SocketAddr,
    state: ExampleState,
    running: Option<Running>,
    /// How many times it was stopped.
    pub(crate) stops: usize,
}

impl RestartableExample {
    /// Serves a fresh, empty example service on 127.0.0.1:0.
    pub(crate) async fn start() -> RestartableExample {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind example");
        let addr = listener.local_addr().expect("example address");
        let mut example = RestartableExample {
            addr,
            state: ExampleState::new(),
            running: None,
            stops: 0,
        };
        example.serve(listener);
        example
    }

    fn serve(&mut self, listener: TcpListener) {
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(
            Server::builder()
                .add_routes(self.state.routes())
                .serve_with_incoming_shutdown(TcpIncoming::from(listener), async {
                    let _ = stopped.await;
                }),
        );
        self.running = Some(Running { stop, task });
    }

    /// Stops the server the way a process on SIGTERM does: no new
    /// connections or calls, the calls in flight finish. Waits (at most
    /// 20 s) until it has stopped and the port is closed.
    pub(crate) async fn stop(&mut self) {
        let Running { stop, task } = self.running.take().expect("the example is running");
        let _ = stop.send(());
        match tokio::time::timeout(WAIT, task).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => panic!("the example server failed: {e}"),
            Ok(Err(e)) => panic!("the example server task: {e}"),
            Err(_) => panic!("the example server did not stop within 20 s"),
        }
        self.stops += 1;
    }

    /// Serves the same data on the same address again. The port was just
    /// released, so binding is retried for at most 20 s.
    pub(crate) async fn resume(&mut self) {
        assert!(self.running.is_none(), "the example is already running");
        let started = Instant::now();
        let listener = loop {
            match TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                // The old socket may linger a moment; only persistence fails.
                Err(_) if started.elapsed() < WAIT => {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => panic!("cannot bind {} again within 20 s: {e}", self.addr),
            }
        };
        self.serve(listener);
    }

    /// [`stop`](Self::stop), stay down for `down`, [`resume`](Self::resume).
    pub(crate) async fn restart(&mut self, down: Duration) {
        self.stop().await;
        tokio::time::sleep(down).await;
        self.resume().await;
    }
}

impl Drop for RestartableExample {
    fn drop(&mut self) {
        if let Some(Running { stop, task }) = self.running.take() {
            let _ = stop.send(());
            task.abort();
        }
    }
}
