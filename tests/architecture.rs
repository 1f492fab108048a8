//! What may import what: the rooms under the server stay free of it.
//!
//! The rule, read from the code of `src/compile/**` and `src/transcode/**`
//! (comments and string literals are not code):
//!
//! - `compile` is pure: it may name only `crate::compile` and `crate::pb`,
//!   and no async code (`async`, `.await`).
//! - `transcode` knows fields, not sockets: it may name only
//!   `crate::transcode`, `crate::compile` and `crate::pb`, and no async code.
//! - Neither names `serve`, `upstream`, `idempotency`, `config`, `cli`,
//!   `example`, `openapi` or `codegen` — by `crate::`, by a `super::` chain
//!   that climbs out of the room, or inside a `use crate::{..}` group — nor
//!   the crates of the network and the runtime (tokio, hyper, axum, tonic,
//!   tower, rustls, sockets, Redis, redb, reqwest) or `std::net`.
//!
//! Each finding names its `file:line`. The other half of the rule — the
//! build-script API (`--no-default-features --features build`) builds
//! without the server's crates — is `.ci/run`'s `cargo clippy --lib
//! --no-default-features --features build`, plus the feature list check
//! at the end of this file.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The rooms of the crate a room may name, per checked room.
const RULES: &[(&str, &[&str])] = &[
    ("compile", &["compile", "pb"]),
    ("transcode", &["transcode", "compile", "pb"]),
];

/// Crates of the network and the async runtime: the server's business.
const SERVER_CRATES: &[&str] = &[
    "axum",
    "hyper",
    "hyper_util",
    "redb",
    "redis",
    "reqwest",
    "socket2",
    "tokio",
    "tokio_rustls",
    "tonic",
    "tonic_prost",
    "tonic_reflection",
    "tower",
    "tower_http",
];

#[test]
fn compile_and_transcode_import_nothing_of_the_server() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut findings = Vec::new();
    for (room, allowed) in RULES {
        let files = room_files(&src, room);
        assert!(
            files.len() > 3,
            "found only {} files of src/{room}: is the room still there?",
            files.len()
        );
        let on_disk = rust_files(&src.join(room));
        let reached: BTreeSet<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
        for file in on_disk.difference(&reached) {
            findings.push(format!(
                "src/{}: not reached by any `mod` line from src/{room}/mod.rs, so not checked",
                file.strip_prefix(&src).unwrap_or(file).display()
            ));
        }
        for (path, module) in &files {
            let text = fs::read_to_string(path).expect("read source file");
            let shown = Path::new("src").join(path.strip_prefix(&src).expect("under src"));
            for (line, what) in violations(&text, module, allowed) {
                findings.push(format!("{}:{line}: {what}", shown.display()));
            }
        }
    }
    assert!(
        findings.is_empty(),
        "imports that break the room rule (see tests/architecture.rs):\n{}",
        findings.join("\n")
    );
}

#[test]
fn the_check_sees_through_comments_strings_and_super_chains() {
    let module = |p: &str| p.split("::").map(str::to_owned).collect::<Vec<_>>();
    let compile = &["compile", "pb"][..];
    let found = |text: &str, m: &str| violations(text, &module(m), compile);
    assert!(found(
        "//! see crate::serve\n/* crate::upstream */\nconst A: &str = \"crate::cli\";\nfn f<'a>(c: char) -> bool { c == '\\'' || c == '\"' }\n",
        "compile::rule"
    )
    .is_empty());
    assert_eq!(
        found("use super::super::serve::Thing;\n", "compile::rule"),
        [(
            1,
            "`super::super::serve::Thing` names `serve`; compile may name only crate::{compile, pb}"
                .to_owned()
        )]
    );
    assert_eq!(
        found(
            "\nuse crate::{compile::Route, upstream::Call};\n",
            "compile::table"
        )[0]
        .0,
        2
    );
    assert!(found(
        "mod tests {\n use super::super::template::X;\n}\n",
        "compile::table"
    )
    .is_empty());
    assert_eq!(
        found("fn f() { tokio::spawn(async {}); }", "compile").len(),
        2
    );
    assert_eq!(found("use std::net::TcpStream;", "compile").len(), 1);
    assert!(found("use super::binding::{self, Body};", "compile::table").is_empty());
}

#[test]
fn the_build_feature_enables_none_of_the_servers_crates() {
    let manifest = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .expect("read Cargo.toml");
    let manifest: toml::Table = manifest.parse().expect("Cargo.toml is TOML");
    let features = manifest["features"].as_table().expect("[features]");
    let list = |name: &str| -> BTreeSet<String> {
        features[name]
            .as_array()
            .unwrap_or_else(|| panic!("feature {name} is a list"))
            .iter()
            .map(|v| v.as_str().expect("feature entries are strings").to_owned())
            .collect()
    };
    let (server, build) = (list("server"), list("build"));
    assert!(
        server.contains("dep:tokio"),
        "the server feature is what enables the server's crates"
    );
    assert!(
        !build.contains("server") && build.is_disjoint(&server),
        "the build feature must not enable the server or its crates: {build:?}"
    );
}

/// Every file of `room` reached through its `mod` lines from `mod.rs`, with
/// its module path (`["compile", "template", "parser"]`).
fn room_files(src: &Path, room: &str) -> Vec<(PathBuf, Vec<String>)> {
    let mut out = Vec::new();
    let mut todo = vec![(src.join(room).join("mod.rs"), vec![room.to_owned()])];
    while let Some((path, module)) = todo.pop() {
        let text = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let dir = path.parent().expect("a file has a directory").to_owned();
        let own_dir = match path.file_name().and_then(|n| n.to_str()) {
            Some("mod.rs") => dir.clone(),
            _ => dir.join(path.file_stem().expect("a file has a stem")),
        };
        let mut attribute_path = None;
        for line in text.lines().map(str::trim) {
            if let Some(rest) = line.strip_prefix("#[path = \"") {
                attribute_path = rest.strip_suffix("\"]").map(|p| dir.join(p));
                continue;
            }
            if let Some(name) = mod_line(line) {
                let child = attribute_path.take().unwrap_or_else(|| {
                    let flat = own_dir.join(format!("{name}.rs"));
                    if flat.is_file() {
                        flat
                    } else {
                        own_dir.join(name).join("mod.rs")
                    }
                });
                let mut child_module = module.clone();
                child_module.push(name.to_owned());
                todo.push((child, child_module));
            } else if !line.starts_with("#[") && !line.is_empty() {
                attribute_path = None;
            }
        }
        out.push((path, module));
    }
    out
}

/// `NAME` of a `mod NAME;` line (any visibility).
fn mod_line(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("pub").map_or(line, |r| {
        r.trim_start()
            .strip_prefix('(')
            .and_then(|r| r.split_once(')'))
            .map_or(r, |(_, r)| r)
    });
    let name = rest.trim_start().strip_prefix("mod ")?.strip_suffix(';')?;
    Some(name.trim())
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    for entry in fs::read_dir(dir).expect("read room directory") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.insert(path);
        }
    }
    out
}

/// A token of code: an identifier, `::`, or one other character.
#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Path,
    Punct(char),
}

/// The findings of `text`, module `module`, whose room may name `allowed`:
/// `(line, what)`.
fn violations(text: &str, module: &[String], allowed: &[&str]) -> Vec<(usize, String)> {
    let tokens = tokens(text);
    let room = module[0].as_str();
    let rule = format!("{room} may name only crate::{{{}}}", allowed.join(", "));
    let mut found = Vec::new();
    // Inline `mod NAME {` blocks: (name, brace depth inside).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0;
    let ident = |i: usize| match tokens.get(i) {
        Some((_, Token::Ident(s))) => Some(s.as_str()),
        _ => None,
    };
    for (i, (line, token)) in tokens.iter().enumerate() {
        match token {
            Token::Punct('{') => {
                depth += 1;
                if i >= 2 && ident(i - 2) == Some("mod") {
                    if let Some(name) = ident(i - 1) {
                        inline.push((name.to_owned(), depth));
                    }
                }
                continue;
            }
            Token::Punct('}') => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth -= 1;
                continue;
            }
            Token::Ident(word) if word == "async" || word == "await" => {
                found.push((*line, format!("`{word}`: {room} has no async code")));
                continue;
            }
            Token::Ident(_) => {}
            _ => continue,
        }
        // The start of a path: an identifier not after `::`.
        if i > 0 && tokens[i - 1].1 == Token::Path {
            continue;
        }
        let mut parts = vec![ident(i).expect("an identifier").to_owned()];
        let mut j = i + 1;
        while tokens.get(j).map(|t| &t.1) == Some(&Token::Path) {
            match ident(j + 1) {
                Some(next) => parts.push(next.to_owned()),
                None => break,
            }
            j += 2;
        }
        let group = tokens.get(j).map(|t| &t.1) == Some(&Token::Path)
            && tokens.get(j + 1).map(|t| &t.1) == Some(&Token::Punct('{'));
        let mut written = parts.join("::");
        if group {
            written.push_str("::{..}");
        }
        if SERVER_CRATES.contains(&parts[0].as_str()) {
            found.push((*line, format!("`{written}`: {room} names no server crate")));
            continue;
        }
        if parts.len() > 1 && parts[0] == "std" && parts[1] == "net" {
            found.push((*line, format!("`{written}`: {room} opens no sockets")));
            continue;
        }
        // Where the path starts, as a module path from the crate root.
        let mut here: Vec<&str> = module.iter().map(String::as_str).collect();
        here.extend(inline.iter().map(|(n, _)| n.as_str()));
        let rest: &[String] = match parts[0].as_str() {
            "crate" => {
                here.clear();
                &parts[1..]
            }
            "super" => {
                let supers = parts.iter().take_while(|p| *p == "super").count();
                if supers > here.len() {
                    found.push((*line, format!("`{written}` climbs above the crate")));
                    continue;
                }
                here.truncate(here.len() - supers);
                &parts[supers..]
            }
            _ => continue,
        };
        if !here.is_empty() {
            continue; // still inside the room
        }
        let named: Vec<&str> = match rest.first() {
            Some(first) => vec![first.as_str()],
            None if group => group_heads(&tokens, j + 1),
            None => Vec::new(),
        };
        for target in named {
            if !allowed.contains(&target) {
                found.push((*line, format!("`{written}` names `{target}`; {rule}")));
            }
        }
    }
    found
}

/// The first identifier of each item of the `{ .. }` group opening at
/// `open`: `a` and `b` of `{a::X, b}`.
fn group_heads(tokens: &[(usize, Token)], open: usize) -> Vec<&str> {
    let mut heads = Vec::new();
    let mut depth = 0;
    let mut at_start = false;
    for (_, token) in &tokens[open..] {
        match token {
            Token::Punct('{') => {
                depth += 1;
                at_start = depth == 1;
            }
            Token::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    break;
                }
            }
            Token::Punct(',') if depth == 1 => at_start = true,
            Token::Ident(name) if at_start => {
                heads.push(name.as_str());
                at_start = false;
            }
            _ => at_start = false,
        }
    }
    heads
}

/// The code of `text` as tokens with their line: comments, string and
/// character literals left out.
fn tokens(text: &str) -> Vec<(usize, Token)> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut nesting = 0;
            while i < chars.len() {
                if chars[i] == '/' && chars.get(i + 1) == Some(&'*') {
                    nesting += 1;
                    i += 2;
                } else if chars[i] == '*' && chars.get(i + 1) == Some(&'/') {
                    nesting -= 1;
                    i += 2;
                    if nesting == 0 {
                        break;
                    }
                } else {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
        } else if c == '"' || (c == 'r' && matches!(next, Some('"' | '#'))) {
            // A string; raw (r"..", r#".."#) when it starts with `r`.
            let hashes = if c == 'r' {
                i += 1;
                let n = chars[i..].iter().take_while(|&&h| h == '#').count();
                i += n;
                Some(n)
            } else {
                None
            };
            if chars.get(i) != Some(&'"') {
                continue; // `r#ident`, a raw identifier
            }
            i += 1;
            while i < chars.len() {
                match (chars[i], hashes) {
                    ('\\', None) => i += 1,
                    ('"', None) => break,
                    ('"', Some(n))
                        if chars[i + 1..].iter().take(n).filter(|&&h| h == '#').count() == n =>
                    {
                        i += n;
                        break;
                    }
                    ('\n', _) => line += 1,
                    _ => {}
                }
                i += 1;
            }
            i += 1;
        } else if c == '\'' && (next == Some('\\') || chars.get(i + 2) == Some(&'\'')) {
            // A character literal ('x', '\n', '\u{..}'), not a lifetime.
            i += if next == Some('\\') { 3 } else { 2 };
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            out.push((line, Token::Ident(chars[start..i].iter().collect())));
        } else if c == ':' && next == Some(':') {
            out.push((line, Token::Path));
            i += 2;
        } else {
            if !c.is_whitespace() {
                out.push((line, Token::Punct(c)));
            }
            i += 1;
        }
    }
    out
}
