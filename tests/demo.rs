//! `restgate serve --demo`: the example service behind the gateway, and the
//! curl commands it prints work as printed (run with the real `curl`).

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn printed_curl_commands_work_as_printed() {
    let mut child = support::restgate()
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn restgate");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut commands = Vec::new();
    let mut table = Vec::new();
    let mut listening = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("utf-8 stdout");
        if line.starts_with("curl ") {
            commands.push(line);
        } else if let Some(rest) = line.strip_prefix("listening on ") {
            listening = Some(rest.to_owned());
            break;
        } else {
            table.push(line);
        }
    }
    assert!(listening.is_some(), "no listening line; got {table:?}");
    let base = listening.as_deref().and_then(|l| l.split(' ').next());
    let explorer = format!(
        "Or in a browser, the API explorer: {}/docs",
        base.unwrap_or("")
    );
    assert!(table.contains(&explorer), "no {explorer:?} in {table:?}");
    assert!(table[0].starts_with("METHOD  PATH"), "{table:?}");
    assert!(
        table.iter().any(|l| l.starts_with("POST    /v1/users  ")),
        "{table:?}"
    );

    let expected = [
        ("201", &["location: /v1/users/1"][..]),
        ("200", &[][..]),
        ("201", &["location: /v1/users/1/accounts/1"][..]),
        ("200", &["\"displayName\":\"Savings\""][..]),
        ("200", &["\"displayName\":\"Ada King\""][..]),
        (
            "200",
            &["\n{\"userid\":\"1\",\"displayname\":\"ada king\""][..],
        ),
        ("200", &["\ndata: {\"userid\":\"1\""][..]),
        (
            "200",
            &["\"users\":[{\"userid\":\"2\",\"displayname\":\"grace hopper\""][..],
        ),
        (
            "200",
            &["\n{\"userid\":\"1\",\"displayname\":\"ada king\""][..],
        ),
        ("200", &["\"contenttype\":\"image/svg+xml\""][..]),
        (
            "200",
            &[
                "content-type: image/svg+xml\r\n",
                "\r\n\r\n<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            ][..],
        ),
    ];
    assert_eq!(commands.len(), expected.len(), "{commands:?}");
    for (command, (status, contains)) in commands.iter().zip(expected) {
        // Bounded: curl gives up after 10 s.
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!("{} -sS --max-time 10", command))
            .output()
            .expect("run sh (is curl installed?)");
        let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
        assert!(
            out.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let status_line = text.lines().next().unwrap_or_default();
        assert!(
            status_line.contains(&format!(" {status}")),
            "{command}: {status_line}"
        );
        for needle in contains {
            assert!(text.contains(&needle.to_lowercase()), "{command}: {text}");
        }
    }

    // SIGTERM: stops accepting, drains, exits 0.
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(killed.success());
    let status = child.wait().expect("wait for restgate");
    assert_eq!(status.code(), Some(0));
}
