//! The load client of the fault and soak scripts (`benches/faults.sh`,
//! `benches/soak.sh`): requests against a gateway in front of the bundled
//! example `UserService`, every answer accounted for, one summary line at
//! the end.
//!
//! ```text
//! fault_load --base http://127.0.0.1:8261 --mix put,keyed --concurrency 16 --duration 20
//!            [--rate RPS] [--slowloris N]
//! ```
//!
//! Each of `--concurrency` tasks cycles through the kinds of `--mix` until
//! `--duration` seconds passed (a bound on the run, not a measurement):
//!
//! | kind    | request                                                            |
//! |---------|--------------------------------------------------------------------|
//! | `get`   | `GET /v1/users/1`                                                  |
//! | `put`   | `PUT /v1/users/{1..=16}` (a task's own ids)                        |
//! | `post`  | `POST /v1/users`                                                   |
//! | `keyed` | `POST /v1/users` with a new `Idempotency-Key`, sent again until 201 (at most 200 tries, 20 ms apart), then once more: the replay must carry the same `Location` |
//!
//! `--rate` caps the requests per second of all tasks together (0: as fast
//! as they go). `--slowloris N` instead holds N connections that send one
//! header line every second and never finish the head, for `--duration`
//! seconds, and counts those the gateway closed.
//!
//! The summary (`key=value`, one line): requests sent, answers by status,
//! `errors` (no answer: refused, reset, timed out; the first one's text
//! after it), latency p50/p99/max in ms, and for keyed POSTs the keys
//! created, those never created, and those whose replay named another
//! `Location` (`two_locations`).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::{Client, Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const BODY: &str = r#"{"displayName":"bench","email":"b@example.com"}"#;

/// What the run is asked to do.
struct Plan {
    base: String,
    mix: Vec<String>,
    concurrency: usize,
    duration: Duration,
    /// Requests per second of all tasks together; 0: no cap.
    rate: u64,
    slowloris: usize,
}

/// What came back, shared by the tasks.
#[derive(Default)]
struct Tally {
    by_status: Mutex<BTreeMap<u16, u64>>,
    errors: AtomicU64,
    first_error: Mutex<Option<String>>,
    /// Latency of every answer, in microseconds.
    latencies: Mutex<Vec<u64>>,
    keys: AtomicU64,
    keys_never_created: AtomicU64,
    /// Keys answered 502 or 504: the call may have reached the service
    /// when its connection broke or its deadline passed, so the gateway
    /// keeps that answer for the key and never runs the call again.
    keys_kept_error: AtomicU64,
    two_locations: AtomicU64,
}

impl Tally {
    fn answered(&self, status: StatusCode, took: Duration) {
        *self
            .by_status
            .lock()
            .expect("lock")
            .entry(status.as_u16())
            .or_default() += 1;
        let micros = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
        self.latencies.lock().expect("lock").push(micros);
    }

    fn failed(&self, error: &reqwest::Error) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().expect("lock");
        if first.is_none() {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                text = format!("{text}: {cause}");
                source = cause.source();
            }
            *first = Some(text);
        }
    }

    fn summary(&self, sent: u64) -> String {
        let mut latencies = self.latencies.lock().expect("lock").clone();
        latencies.sort_unstable();
        let at = |q: f64| {
            let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
            latencies.get(i).map_or(0.0, |us| *us as f64 / 1000.0)
        };
        let statuses: Vec<String> = self
            .by_status
            .lock()
            .expect("lock")
            .iter()
            .map(|(status, n)| format!("s{status}={n}"))
            .collect();
        format!(
            "sent={sent} {} errors={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} keys={} \
             keys_never_created={} keys_kept_error={} two_locations={} first_error={:?}",
            statuses.join(" "),
            self.errors.load(Ordering::Relaxed),
            at(0.5),
            at(0.99),
            at(1.0),
            self.keys.load(Ordering::Relaxed),
            self.keys_never_created.load(Ordering::Relaxed),
            self.keys_kept_error.load(Ordering::Relaxed),
            self.two_locations.load(Ordering::Relaxed),
            self.first_error
                .lock()
                .expect("lock")
                .as_deref()
                .unwrap_or(""),
        )
    }
}

/// One request; its answer's status and `Location`, or `None` when none came.
async fn send(
    client: &Client,
    tally: &Tally,
    method: Method,
    url: &str,
    key: Option<&str>,
) -> Option<(StatusCode, Option<String>)> {
    let mut request = client.request(method.clone(), url);
    if method != Method::GET {
        request = request
            .header("content-type", "application/json")
            .body(BODY);
    }
    if let Some(key) = key {
        request = request.header("idempotency-key", key);
    }
    let started = Instant::now();
    let response = match request.send().await {
        Ok(response) => response,
        Err(e) => {
            tally.failed(&e);
            return None;
        }
    };
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match response.bytes().await {
        Ok(_) => {
            tally.answered(status, started.elapsed());
            Some((status, location))
        }
        Err(e) => {
            tally.failed(&e);
            None
        }
    }
}

/// A keyed create, retried until 201 (then replayed once) or until the
/// gateway keeps a 502 or 504 for the key (every retry would be answered
/// the same); returns the requests sent.
async fn keyed(client: &Client, tally: &Tally, url: &str, key: &str) -> u64 {
    let mut sent = 0;
    for _ in 0..200 {
        sent += 1;
        let answer = send(client, tally, Method::POST, url, Some(key)).await;
        if let Some((StatusCode::BAD_GATEWAY | StatusCode::GATEWAY_TIMEOUT, _)) = answer {
            tally.keys_kept_error.fetch_add(1, Ordering::Relaxed);
            return sent;
        }
        if let Some((StatusCode::CREATED, location)) = answer {
            tally.keys.fetch_add(1, Ordering::Relaxed);
            sent += 1;
            if let Some((_, replayed)) = send(client, tally, Method::POST, url, Some(key)).await {
                if replayed != location {
                    tally.two_locations.fetch_add(1, Ordering::Relaxed);
                }
            }
            return sent;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tally.keys_never_created.fetch_add(1, Ordering::Relaxed);
    sent
}

/// One task's requests until the run ends; returns how many it sent.
async fn task(plan: Arc<Plan>, tally: Arc<Tally>, client: Client, id: usize, end: Instant) -> u64 {
    let pause = (plan.rate > 0)
        .then(|| Duration::from_secs_f64(plan.concurrency as f64 / plan.rate as f64));
    let mut ticks = pause.map(|p| {
        let mut t = tokio::time::interval(p);
        t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        t
    });
    let users = format!("{}/v1/users", plan.base);
    let mut sent = 0;
    let mut n = 0usize;
    while Instant::now() < end {
        if let Some(ticks) = ticks.as_mut() {
            ticks.tick().await;
        }
        let kind = &plan.mix[n % plan.mix.len()];
        n += 1;
        match kind.as_str() {
            "get" => {
                send(&client, &tally, Method::GET, &format!("{users}/1"), None).await;
                sent += 1;
            }
            "put" => {
                let url = format!("{users}/{}", id % 16 + 1);
                send(&client, &tally, Method::PUT, &url, None).await;
                sent += 1;
            }
            "post" => {
                send(&client, &tally, Method::POST, &users, None).await;
                sent += 1;
            }
            _ => {
                let key = format!("{}-{id}-{n}", std::process::id());
                sent += keyed(&client, &tally, &users, &key).await;
            }
        }
    }
    sent
}

/// Holds one connection that never finishes its head; whether the gateway
/// closed it before `end`.
async fn slow_connection(addr: String, end: Instant) -> bool {
    let Ok(mut stream) = TcpStream::connect(&addr).await else {
        return false;
    };
    let head = format!("GET /v1/users/1 HTTP/1.1\r\nHost: {addr}\r\n");
    if stream.write_all(head.as_bytes()).await.is_err() {
        return true;
    }
    let mut buffer = [0u8; 512];
    let mut line = 0u64;
    while Instant::now() < end {
        tokio::select! {
            read = stream.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            },
            () = tokio::time::sleep(Duration::from_secs(1)) => {
                line += 1;
                if stream.write_all(format!("X-Slow-{line}: a\r\n").as_bytes()).await.is_err() {
                    return true;
                }
            }
        }
    }
    false
}

fn parse(args: &[String]) -> Result<Plan, String> {
    let mut plan = Plan {
        base: "http://127.0.0.1:8261".to_owned(),
        mix: vec!["get".to_owned()],
        concurrency: 16,
        duration: Duration::from_secs(10),
        rate: 0,
        slowloris: 0,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(format!("{flag} needs a value"))?;
        let number = || {
            value
                .parse::<u64>()
                .map_err(|e| format!("{flag} {value}: {e}"))
        };
        match flag.as_str() {
            "--base" => plan.base = value.trim_end_matches('/').to_owned(),
            "--mix" => plan.mix = value.split(',').map(str::to_owned).collect(),
            "--concurrency" => plan.concurrency = number()?.clamp(1, 4096) as usize,
            "--duration" => plan.duration = Duration::from_secs(number()?.clamp(1, 86_400)),
            "--rate" => plan.rate = number()?,
            "--slowloris" => plan.slowloris = number()?.min(20_000) as usize,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if let Some(bad) = plan
        .mix
        .iter()
        .find(|k| !["get", "put", "post", "keyed"].contains(&k.as_str()))
    {
        return Err(format!("unknown kind {bad} (get, put, post, keyed)"));
    }
    Ok(plan)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let plan = match parse(&args) {
        Ok(plan) => Arc::new(plan),
        Err(e) => {
            eprintln!("fault_load: {e}");
            return ExitCode::from(2);
        }
    };
    let end = Instant::now() + plan.duration;
    if plan.slowloris > 0 {
        let addr = plan.base.trim_start_matches("http://").to_owned();
        let held: Vec<_> = (0..plan.slowloris)
            .map(|_| tokio::spawn(slow_connection(addr.clone(), end)))
            .collect();
        let mut closed = 0;
        for connection in held {
            closed += usize::from(connection.await.unwrap_or(false));
        }
        println!("slowloris={} closed_by_gateway={closed}", plan.slowloris);
        return ExitCode::SUCCESS;
    }
    let client = Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(plan.concurrency)
        .build()
        .expect("reqwest client");
    let tally = Arc::new(Tally::default());
    let tasks: Vec<_> = (0..plan.concurrency)
        .map(|id| {
            let (plan, tally, client) = (Arc::clone(&plan), Arc::clone(&tally), client.clone());
            tokio::spawn(task(plan, tally, client, id, end))
        })
        .collect();
    let mut sent = 0;
    for t in tasks {
        sent += t.await.unwrap_or(0);
    }
    println!("{}", tally.summary(sent));
    ExitCode::SUCCESS
}
