//! `restgate serve`: the settings merged and turned into a [`Prepared`]
//! gateway (table compiled, idempotency store opened, TLS loaded), then
//! bound and run through [`crate::serve::run`], with the signals and
//! `--watch` driving reloads until a stop. [`prepare`] is the part the
//! tests share with the binary.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::{init_logging, plural, print_table, reflected, ServeArgs};
use crate::compile::{Input, RouteTable};
use crate::config::ServeConfig;
use crate::serve::{Connections, Current, ListenerTls, Running, Shared, Signal, StopSignals};

/// Why `restgate serve` cannot start: the exit code and what to print.
#[derive(Debug)]
pub struct StartError {
    /// 2 for bad usage, 1 otherwise.
    pub code: u8,
    /// The message, as printed on stderr (may span lines).
    pub message: String,
}

impl StartError {
    fn usage(message: impl std::fmt::Display) -> StartError {
        StartError {
            code: 2,
            message: format!("restgate: {message}"),
        }
    }

    fn failure(message: impl std::fmt::Display) -> StartError {
        StartError {
            code: 1,
            message: format!("restgate: {message}"),
        }
    }
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// A gateway ready to be bound and run: its merged settings, the table it
/// serves and the listener's TLS.
#[derive(Debug)]
pub struct Prepared {
    /// The merged settings (with the demo's example service as upstream).
    pub config: ServeConfig,
    /// The table, options, store and upstreams to serve.
    pub shared: Arc<Shared>,
    /// How connections are accepted (TLS, header timeout).
    pub connections: Connections,
}

/// Merges the settings, starts the demo's example service when asked,
/// loads and compiles the table, opens the idempotency store and loads the
/// listener's certificate. Compile warnings go to stderr. Blocks: call it
/// outside any tokio runtime.
pub fn prepare(args: &ServeArgs) -> Result<Prepared, StartError> {
    let config = args.merged().map_err(StartError::usage)?;
    prepare_merged(args, config)
}

/// [`prepare`] reading its `RESTGATE_*` settings from `env` instead of the
/// process's environment (an empty `env`: the file and flags alone), for a
/// gateway embedded in a process whose environment is not its own.
pub fn prepare_with_env(
    args: &ServeArgs,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<Prepared, StartError> {
    let config = args.merged_with(env).map_err(StartError::usage)?;
    prepare_merged(args, config)
}

/// [`prepare`] with the settings already merged.
fn prepare_merged(args: &ServeArgs, mut config: ServeConfig) -> Result<Prepared, StartError> {
    if args.demo {
        // The bundled example is restgate's own API, under its licence.
        config.options.openapi_license = Some(env!("CARGO_PKG_LICENSE").to_owned());
        let addr = crate::example::start_example_service().map_err(|e| {
            StartError::failure(format_args!("cannot start the example service: {e}"))
        })?;
        config.upstreams.default = format!("http://{addr}").parse().ok();
    } else if config.upstreams.default.is_none() && config.upstreams.by_service.is_empty() {
        return Err(StartError::usage("no upstream: give --upstream [SERVICE=]URI (or upstream in the config file), or --demo"));
    }
    // With an upstream and no protos or descriptor sets: its reflection.
    let input = if !args.demo && config.input == Input::Bundled {
        reflected(&config.upstreams, config.options.timeout).map_err(StartError::failure)?
    } else {
        config.input.clone()
    };
    let compiled = RouteTable::load_with(&input, &config.compile).map_err(|err| {
        let diagnostics = err.diagnostics();
        let count = plural(diagnostics.error_count(), "error");
        StartError {
            code: 1,
            message: format!("{diagnostics}\nrestgate: {count}"),
        }
    })?;
    for warning in compiled.warnings.iter() {
        eprintln!("{warning}");
    }
    let store = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| {
            rt.block_on(config.idempotency.open())
                .map_err(|e| e.to_string())
        })
        .map_err(|e| {
            StartError::failure(format_args!(
                "idempotency store {}: {e}",
                config.idempotency
            ))
        })?;
    let shared = Shared::new(compiled.table, &config.upstreams, config.options.clone())
        .map_err(StartError::failure)?
        .with_store(store);
    let tls = match &config.tls {
        Some(files) => Some(Arc::new(
            ListenerTls::load(&files.cert, &files.key).map_err(StartError::failure)?,
        )),
        None => None,
    };
    let connections = Connections {
        header_read_timeout: config.header_read_timeout,
        tls,
    };
    Ok(Prepared {
        config,
        shared: Arc::new(shared),
        connections,
    })
}

impl Prepared {
    /// Binds the configured address (one listener per worker) and runs.
    pub fn start(self) -> Result<Running, StartError> {
        let listen = self.config.listen;
        let listeners = crate::serve::bind(listen, self.config.workers)
            .map_err(|e| StartError::failure(format_args!("cannot listen on {listen}: {e}")))?;
        crate::serve::run(listeners, self.shared, self.connections)
            .map_err(|e| StartError::failure(format_args!("cannot start workers: {e}")))
    }
}

/// `restgate serve`: load, check, bind, print `listening on`, serve until
/// Ctrl-C or SIGTERM, then drain (`--drain-delay`, still accepting) and
/// stop (`--shutdown-grace` for requests in flight).
pub(super) fn serve(args: &ServeArgs) -> ExitCode {
    let config = match args.merged() {
        Ok(config) => config,
        Err(e) => return exit(&StartError::usage(e)),
    };
    // Dropped last, when `serve` returns: every queued line is written.
    let _logs = init_logging(config.log_format);
    // What `--watch` compares against is taken before the inputs are read:
    // a file that changes while they load, or right after `listening on`,
    // is reloaded, never missed.
    let stamps = modified(&watched_files(args, &config));
    let prepared = match prepare_merged(args, config) {
        Ok(prepared) => prepared,
        Err(e) => return exit(&e),
    };
    let (config, tls) = (prepared.config.clone(), prepared.connections.tls.clone());
    let routes = prepared.shared.table.routes().len();
    let table = Arc::clone(&prepared.shared);
    let running = match prepared.start() {
        Ok(running) => running,
        Err(e) => return exit(&e),
    };
    // Listen for SIGTERM before saying we are ready: a signal right after
    // the `listening on` line must drain and exit 0, not kill the process.
    let signals = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .and_then(|rt| {
            let signals = rt.block_on(async { StopSignals::listen() })?;
            Ok((rt, signals))
        });
    let addr = running.local_addr();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let base = format!("{scheme}://{addr}");
    if args.demo {
        let mut out = std::io::stdout().lock();
        let _ = print_table(&mut out, table.table.routes());
        let _ = writeln!(out, "\nTry:\n{}\n", crate::example::demo_commands(&base));
        let docs = format!("{base}{}/docs", config.options.ops_prefix);
        let _ = writeln!(out, "Or in a browser, the API explorer: {docs}\n");
    }
    drop(table);
    let workers = config.workers;
    println!("listening on {base} ({routes} routes, {workers} workers)");
    let _ = std::io::stdout().flush();
    tracing::info!(%addr, workers, "serving");
    match signals {
        Ok((rt, signals)) => {
            serve_until_stopped(args, &config, &running, tls.as_deref(), rt, signals, stamps)
        }
        Err(e) => eprintln!("restgate: cannot wait for signals: {e}"),
    }
    running.drain(config.drain_delay);
    tracing::info!("stopping: draining requests in flight");
    running.shutdown(config.shutdown_grace);
    ExitCode::SUCCESS
}

fn exit(error: &StartError) -> ExitCode {
    eprintln!("{error}");
    ExitCode::from(error.code)
}

/// Waits for signals (and, with `--watch`, file changes), reloading on
/// SIGHUP or a change, until a stop signal.
fn serve_until_stopped(
    args: &ServeArgs,
    config: &ServeConfig,
    running: &Running,
    tls: Option<&ListenerTls>,
    rt: tokio::runtime::Runtime,
    mut signals: StopSignals,
    mut stamps: Stamps,
) {
    let watched = watched_files(args, config);
    loop {
        let signal = rt.block_on(async {
            tokio::select! {
                signal = signals.next() => Some(signal),
                _ = tokio::time::sleep(WATCH_EVERY), if config.watch => None,
            }
        });
        match signal {
            Some(Signal::Stop) => return,
            Some(Signal::Reload) => {}
            None => {
                let now = modified(&watched);
                if now == stamps {
                    continue;
                }
                stamps = now;
                tracing::info!("a watched file changed; reloading");
            }
        }
        let upstreams = args.demo.then(|| config.upstreams.clone());
        match reload(args, running.current(), tls, upstreams) {
            Ok(routes) => tracing::info!(routes, "reloaded"),
            Err(e) => {
                tracing::error!(error = %e, "reload rejected; the previous table keeps serving")
            }
        }
    }
}

/// How often `--watch` looks at the watched files.
const WATCH_EVERY: std::time::Duration = std::time::Duration::from_secs(2);

/// What `--watch` watches: the config file, the inputs given, and the
/// listener's certificate and key. (Imported protos are not watched: touch
/// an input or send SIGHUP.)
fn watched_files(args: &ServeArgs, config: &ServeConfig) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = args.config.iter().cloned().collect();
    if let Input::Protos { files: protos, .. } = &config.input {
        files.extend(protos.iter().cloned());
    }
    if let Input::DescriptorSets(sets) = &config.input {
        files.extend(sets.iter().cloned());
    }
    if let Some(tls) = &config.tls {
        files.extend([tls.cert.clone(), tls.key.clone()]);
    }
    files
}

/// The modification times of `files` (`None` for one that cannot be read).
/// The modification times of the watched files, in order (`None`: unreadable).
type Stamps = Vec<Option<std::time::SystemTime>>;

fn modified(files: &[PathBuf]) -> Stamps {
    files
        .iter()
        .map(|f| std::fs::metadata(f).and_then(|m| m.modified()).ok())
        .collect()
}

/// SIGHUP: reads the config file, flags and environment again, loads and
/// compiles the protos or descriptor sets again (or asks the upstreams'
/// reflection again), and swaps the route table
/// whole; reloads the listener's certificate. Any error leaves everything
/// as it was. The listen address, workers, ops prefix, CORS and idempotency
/// store stay as they started. `demo_upstreams` keeps the demo's example
/// service as the upstream.
fn reload(
    args: &ServeArgs,
    current: &Current,
    tls: Option<&ListenerTls>,
    demo_upstreams: Option<crate::serve::Upstreams>,
) -> Result<usize, String> {
    let config = args.merged().map_err(|e| e.to_string())?;
    let input = if demo_upstreams.is_none() && config.input == Input::Bundled {
        reflected(&config.upstreams, config.options.timeout)?
    } else {
        config.input.clone()
    };
    let upstreams = demo_upstreams.unwrap_or(config.upstreams.clone());
    let compiled =
        RouteTable::load_with(&input, &config.compile).map_err(|e| e.diagnostics().to_string())?;
    let before = current.get();
    let shared = Shared::new(compiled.table, &upstreams, config.options.clone())
        .map_err(|e| e.to_string())?
        .succeeding(&before);
    if let Some(tls) = tls {
        // The same files, read again (a renewed certificate).
        tls.reload()?;
    }
    let routes = shared.table.routes().len();
    current.swap(Arc::new(shared));
    Ok(routes)
}
