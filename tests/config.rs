//! Config precedence through the real binary: the TOML file, then flags,
//! then `RESTGATE_*` environment variables, each overriding the one before;
//! unknown keys and bad values stop the gateway with a message naming them.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use support::start_fixture;

/// A gateway process started with `args` and `env`; killed on drop.
struct Proc(Child, String);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(args: &[&str], env: &[(&str, &str)]) -> Proc {
    let mut child = support::restgate()
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn restgate");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        match lines.next() {
            Some(Ok(line)) => {
                if let Some(rest) = line.strip_prefix("listening on ") {
                    break rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_owned();
                }
            }
            _ => panic!("restgate exited before listening"),
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    Proc(child, base)
}

/// Runs `restgate serve <args>` expecting it to refuse to start.
fn refuses(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let out = support::restgate()
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run restgate");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn status(url: String) -> u16 {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    client
        .get(url)
        .send()
        .await
        .expect("request")
        .status()
        .as_u16()
}

#[tokio::test]
async fn flags_override_the_file_and_the_environment_overrides_both() {
    let fixture = start_fixture().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("restgate.toml");
    std::fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:0\"\ntimeout = \"5s\"\nupstream = [\"http://{}\"]\n[input]\nproto = [\"proto/testing/v1/fixture.proto\"]\ninclude = [\"proto\"]\n",
            fixture.addr
        ),
    )
    .unwrap();
    let config = file.to_str().unwrap();

    // The file alone: a 1 s call fits its 5 s deadline.
    let gw = start(&["--config", config], &[]);
    assert_eq!(status(format!("{}/v1/sleep/1000", gw.1)).await, 200);
    drop(gw);

    // A flag beats the file: 300 ms.
    let gw = start(&["--config", config, "--timeout", "300ms"], &[]);
    assert_eq!(status(format!("{}/v1/sleep/1000", gw.1)).await, 504);
    drop(gw);

    // The environment beats the flag: 5 s again.
    let gw = start(
        &["--config", config, "--timeout", "300ms"],
        &[("RESTGATE_TIMEOUT", "5s")],
    );
    assert_eq!(status(format!("{}/v1/sleep/1000", gw.1)).await, 200);
    drop(gw);
}

#[test]
fn unknown_keys_and_bad_values_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\ntimout = \"5s\"\n").unwrap();
    let (code, stderr) = refuses(
        &[
            "--config",
            file.to_str().unwrap(),
            "--upstream",
            "http://127.0.0.1:1",
        ],
        &[],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown field `timout`"), "{stderr}");
    assert!(stderr.contains("bad.toml"), "{stderr}");

    std::fs::write(&file, "max-body-bytes = \"big\"\n").unwrap();
    let (code, stderr) = refuses(&["--config", file.to_str().unwrap()], &[]);
    assert_eq!(code, 2);
    assert!(stderr.contains("max-body-bytes"), "{stderr}");

    let (code, stderr) = refuses(
        &["--upstream", "http://127.0.0.1:1"],
        &[("RESTGATE_RETRY_ATTEMPTS", "99")],
    );
    assert_eq!(code, 2);
    assert!(
        stderr.contains("retry-attempts: must be 1 to 10, not 99"),
        "{stderr}"
    );

    let (code, stderr) = refuses(
        &["--upstream", "http://127.0.0.1:1"],
        &[("RESTGATE_LISTN", "x")],
    );
    assert_eq!(code, 2);
    assert!(stderr.contains("RESTGATE_LISTN"), "{stderr}");

    let (code, stderr) = refuses(&["--config", "does/not/exist.toml"], &[]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read config file does/not/exist.toml"),
        "{stderr}"
    );
}

#[test]
fn the_example_config_starts_a_gateway() {
    let gw = start(
        &[
            "--config",
            "restgate.example.toml",
            "--listen",
            "127.0.0.1:0",
            "--demo",
        ],
        &[],
    );
    assert!(gw.1.starts_with("http://127.0.0.1:"));
}
