//! The `restgate` binary: parse the command line, run the command.

use std::process::ExitCode;

use clap::Parser;
use restgate::cli::{self, Args};

fn main() -> ExitCode {
    let args = Args::parse();
    // A bare `restgate` is the demo: the example service behind the gateway.
    let command = args
        .command
        .unwrap_or_else(|| cli::Command::Serve(Box::new(cli::ServeArgs::demo())));
    if matches!(command, cli::Command::Serve(_)) {
        memory::give_back_freed_memory();
    }
    cli::run(command)
}

/// Memory freed by the allocator returned to the system.
///
/// With glibc's allocator, the ~230 MB that 10,000 keep-alive connections
/// took stayed resident after they closed: freed, but kept in the
/// allocator's arenas (benches/conn_memory.sh, BENCHMARKS.md). Once a
/// second, a thread of its own (so that no worker's runtime is woken) asks
/// how much the arenas hold free, and past [`memory::FREE_BEFORE_TRIM`]
/// hands it back with `malloc_trim`. Under steady load freed memory is
/// reused at once and stays below that, so nothing is trimmed on the
/// request path's account. The system allocator rather than jemalloc: its
/// build needs `make`, which a machine with only a Rust toolchain lacks.
mod memory {
    /// Free bytes in the allocator's arenas that make it worth a trim.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    pub(super) const FREE_BEFORE_TRIM: usize = 8 << 20;

    /// Starts the thread that trims (Linux with glibc; elsewhere nothing).
    pub(super) fn give_back_freed_memory() {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        {
            let trimming = std::thread::Builder::new()
                .name("restgate-trim".to_owned())
                .spawn(|| loop {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    // SAFETY: both only read or release the allocator's own
                    // free memory; neither touches memory the program holds.
                    #[allow(unsafe_code)]
                    unsafe {
                        if libc::mallinfo2().fordblks > FREE_BEFORE_TRIM {
                            libc::malloc_trim(0);
                        }
                    }
                });
            if let Err(e) = trimming {
                tracing::debug!(error = %e, "no thread to give freed memory back");
            }
        }
    }
}
