//! The Grafana dashboard (`deploy/grafana/restgate.json`) and the Prometheus
//! alert rules (`deploy/prometheus/alerts.yaml`) held true to the gateway:
//! both files parse, every PromQL expression in them parses (GreptimeDB's
//! PromQL parser), and every metric an expression names is one the gateway
//! exports — read from a real `/metrics` scrape of `restgate serve --demo`
//! after a few requests (a histogram's `_bucket`, `_sum` and `_count` count;
//! `up` is Prometheus's own, per scrape target). The dashboard shows every
//! metric the gateway exports. `promtool check rules` (Prometheus's own
//! checker, installed by `scripts/install-test-tools`) accepts the rules, and
//! `promtool test rules` shows they fire on the series they are meant for.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use promql_parser::parser::{self, Expr};
use promql_parser::util::{walk_expr, ExprVisitor};
use serde_json::{json, Value};
use support::Gateway;
use yaml_rust2::{Yaml, YamlLoader};

const DASHBOARD: &str = "deploy/grafana/restgate.json";
const ALERTS: &str = "deploy/prometheus/alerts.yaml";
const ALERTS_TEST: &str = "deploy/prometheus/alerts.test.yaml";

/// The series Prometheus itself adds for every scrape target.
const PROMETHEUS_OWN: &[&str] = &["up"];

fn repo_file(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// The metric names in the Prometheus text exposition `text`, histograms
/// with their `_bucket`, `_sum` and `_count` series.
fn exported_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("# TYPE ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let (Some(name), Some(kind)) = (words.next(), words.next()) else {
            panic!("a TYPE line without a name and a type: {line:?}");
        };
        if kind == "histogram" {
            for suffix in ["_bucket", "_sum", "_count"] {
                names.insert(format!("{name}{suffix}"));
            }
        }
        names.insert(name.to_owned());
    }
    names
}

/// Collects the metric name of every selector in an expression.
#[derive(Default)]
struct MetricNames(BTreeSet<String>);

impl ExprVisitor for MetricNames {
    type Error = String;

    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, String> {
        let selector = match expr {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &ms.vs,
            _ => return Ok(true),
        };
        match &selector.name {
            Some(name) => self.0.insert(name.clone()),
            None => return Err(format!("a selector without a metric name: {selector}")),
        };
        Ok(true)
    }
}

/// The metric names `expr` selects; panics when it is no valid PromQL.
fn names_in(source: &str, expr: &str) -> BTreeSet<String> {
    let parsed = parser::parse(expr).unwrap_or_else(|e| panic!("{source}: {expr:?}: {e}"));
    let mut names = MetricNames::default();
    walk_expr(&mut names, &parsed).unwrap_or_else(|e| panic!("{source}: {expr:?}: {e}"));
    assert!(!names.0.is_empty(), "{source}: {expr:?} names no metric");
    names.0
}

/// `query` with Grafana's variables replaced as Grafana would: the
/// dashboard's own (`$job`, `${route}`) by a regex matching all, the
/// built-in intervals by a duration. Panics on a variable left over.
fn with_grafana_variables(query: &str, variables: &[String]) -> String {
    let mut query = query.replace("$__rate_interval", "5m");
    for name in variables {
        query = query
            .replace(&format!("${{{name}}}"), ".*")
            .replace(&format!("${name}"), ".*");
    }
    assert!(
        !query.contains('$'),
        "an unknown Grafana variable in {query:?}"
    );
    query
}

/// Every PromQL query of the dashboard, variables replaced: the panels'
/// targets (rows' nested panels too) and the variables' `label_values`
/// queries (their selector).
fn dashboard_queries(dashboard: &Value) -> Vec<(String, String)> {
    let templating = dashboard["templating"]["list"]
        .as_array()
        .expect("templating.list");
    let variables: Vec<String> = templating
        .iter()
        .map(|v| v["name"].as_str().expect("a variable's name").to_owned())
        .collect();
    let mut queries = Vec::new();
    for variable in templating.iter().filter(|v| v["type"] == "query") {
        let query = variable["query"]["query"].as_str().expect("query.query");
        let selector = query
            .strip_prefix("label_values(")
            .and_then(|q| q.rsplit_once(','))
            .map(|(selector, _label)| selector)
            .unwrap_or_else(|| panic!("not label_values(selector, label): {query:?}"));
        let name = format!("variable {}", variable["name"]);
        queries.push((name, with_grafana_variables(selector, &variables)));
    }
    let mut panels: Vec<&Value> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .collect();
    while let Some(panel) = panels.pop() {
        panels.extend(panel["panels"].as_array().into_iter().flatten());
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().expect("a target's expr");
            let name = format!("panel {}", panel["title"]);
            queries.push((name, with_grafana_variables(expr, &variables)));
        }
    }
    queries
}

/// Every rule's `expr` in the rules file, by alert name.
fn alert_queries(rules: &Yaml) -> Vec<(String, String)> {
    let mut queries = Vec::new();
    let groups = rules["groups"].as_vec().expect("groups: a list");
    for rule in groups
        .iter()
        .flat_map(|g| g["rules"].as_vec().expect("rules: a list"))
    {
        let alert = rule["alert"].as_str().expect("every rule is an alert");
        let expr = rule["expr"].as_str().expect("an alert's expr");
        assert!(
            rule["annotations"]["summary"].as_str().is_some(),
            "{alert} has no summary"
        );
        queries.push((format!("alert {alert}"), expr.to_owned()));
    }
    queries
}

/// A few requests of every kind, so every metric has a series, then the
/// scrape.
async fn scrape_after_traffic(gw: &Gateway) -> String {
    let user = json!({"displayName": "Ada Lovelace"});
    gw.post("/v1/users", &user).await.assert_status(201);
    for _ in 0..2 {
        let reply = gw
            .keyed(http::Method::POST, "/v1/users", "dashboard-key", &user)
            .await;
        reply.assert_status(201);
    }
    gw.get("/v1/users/404").await.assert_status(404);
    gw.get("/no/such/route").await.assert_status(404);
    let metrics = gw.get("/metrics").await;
    metrics.assert_status(200);
    assert!(
        metrics
            .text
            .contains("restgate_idempotency_replays_total 1"),
        "{}",
        metrics.text
    );
    metrics.text
}

#[tokio::test]
async fn dashboard_and_alerts_name_only_exported_metrics() {
    let gw = Gateway::start(&["--demo"]).await;
    let exported = exported_names(&scrape_after_traffic(&gw).await);
    let known: BTreeSet<String> = exported
        .iter()
        .cloned()
        .chain(PROMETHEUS_OWN.iter().map(|s| s.to_string()))
        .collect();

    let text = std::fs::read_to_string(repo_file(DASHBOARD)).expect("read the dashboard");
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert_eq!(dashboard["uid"], "restgate", "a stable uid for links");
    let text = std::fs::read_to_string(repo_file(ALERTS)).expect("read the alert rules");
    let rules = YamlLoader::load_from_str(&text).expect("the alert rules are YAML");
    assert_eq!(rules.len(), 1, "one YAML document");

    let mut on_dashboard = BTreeSet::new();
    let queries = dashboard_queries(&dashboard);
    assert!(queries.len() >= 10, "{queries:?}");
    for (source, query) in queries.iter().chain(&alert_queries(&rules[0])) {
        let names = names_in(source, query);
        let unknown: Vec<_> = names.difference(&known).collect();
        assert!(
            unknown.is_empty(),
            "{source} names {unknown:?}, which the gateway does not export ({exported:?})"
        );
        if source.starts_with("panel") {
            on_dashboard.extend(names);
        }
    }

    // Each metric family the gateway exports is on the dashboard.
    let families = exported.iter().filter(|n| {
        !["_bucket", "_sum", "_count"]
            .iter()
            .any(|s| n.ends_with(s) && exported.contains(n.trim_end_matches(s)))
    });
    for family in families {
        let shown = on_dashboard
            .iter()
            .any(|n| n == family || n.strip_prefix(family.as_str()) == Some("_bucket"));
        assert!(shown, "the dashboard shows nothing of {family}");
    }
}

/// `promtool`: `PROMTOOL`, or the one `scripts/install-test-tools` puts in
/// `target/tools/bin`, or one on `PATH`.
fn promtool() -> PathBuf {
    if let Ok(path) = std::env::var("PROMTOOL") {
        return PathBuf::from(path);
    }
    let tools = repo_file("target/tools/bin/promtool");
    if tools.is_file() {
        return tools;
    }
    match Command::new("promtool").arg("--version").output() {
        Ok(out) if out.status.success() => PathBuf::from("promtool"),
        _ => panic!(
            "promtool is missing (neither {} nor on PATH): run scripts/install-test-tools",
            tools.display()
        ),
    }
}

#[test]
fn promtool_accepts_the_rules_and_they_fire() {
    let promtool = promtool();
    for args in [["check", "rules", ALERTS], ["test", "rules", ALERTS_TEST]] {
        let out = Command::new(&promtool)
            .args(args)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", promtool.display()));
        assert!(
            out.status.success(),
            "promtool {}:\n{}\n{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
