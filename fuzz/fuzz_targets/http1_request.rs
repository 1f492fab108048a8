//! One whole HTTP/1 exchange through the gateway's service in process:
//! arbitrary bytes sent on a connection that hyper's HTTP/1 server reads
//! (as the gateway's listener does), every request it parses answered by
//! the bundled example's worker service (what a listener's connections
//! call: REST straight to the handler, the rest through the router).
//! Never panics, never hangs, never a 5xx,
//! and every 4xx from the gateway is the JSON error body; the answer is
//! HTTP/1.1, or HTTP/1.0 to an HTTP/1.0 request (hyper's own
//! refusals of what does not parse are bare 400s, before any handler).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fuzz_target!(|bytes: &[u8]| {
    let exchange = async {
        let (client, server) = tokio::io::duplex(64 * 1024);
        let service =
            hyper_util::service::TowerToHyperService::new(restgate_fuzz::checked_service());
        let connection = hyper::server::conn::http1::Builder::new()
            .half_close(true)
            .serve_connection(hyper_util::rt::TokioIo::new(server), service);
        let (mut read, mut write) = tokio::io::split(client);
        let send = async {
            let _ = write.write_all(bytes).await;
            let _ = write.shutdown().await;
        };
        let receive = async {
            let mut answer = Vec::new();
            let _ = read.read_to_end(&mut answer).await;
            answer
        };
        let (_, _, answer) = tokio::join!(connection, send, receive);
        answer
    };
    // The bound is wall-clock time: generous, so that a fuzzer starved of
    // CPU by other work on the machine does not report a hang that is not
    // there (an exchange takes well under a millisecond).
    let answer = restgate_fuzz::runtime()
        .block_on(async { tokio::time::timeout(Duration::from_secs(30), exchange).await })
        .expect("the exchange ends once the client is done");
    assert!(
        answer.is_empty() || answer.starts_with(b"HTTP/1.1 ") || answer.starts_with(b"HTTP/1.0 "),
        "not HTTP: {}",
        String::from_utf8_lossy(&answer)
    );
});
