//! The history list and the export read the same filters: for every filter
//! both accept (status, environment class, environment, target, user, mode),
//! alone and combined, the export's session records are exactly the
//! sessions the list pages through.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use termaudit_api_types::SessionPage;
use termaudit_domain::Permission::*;
use termaudit_tests::{TestApp, json};

struct Fixture {
    app: TestApp,
    gateway: String,
    viewer: String,
}

impl Fixture {
    async fn post(&self, path: &str, body: Value) -> Value {
        let response =
            self.app.post(&format!("/api/v1/projects/demo{path}"), &self.gateway, &body).await;
        let status = response.status().as_u16();
        assert!(status == 200 || status == 201, "POST {path}: {status}");
        response.json().await.expect("a JSON body")
    }

    /// Every session the list returns for `query`, through its pages.
    async fn listed(&self, query: &str) -> Vec<String> {
        let mut ids = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = format!("/api/v1/projects/demo/sessions?limit=4&{query}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page: SessionPage = json(self.app.get(&path, &self.viewer).await, 200).await;
            ids.extend(page.items.iter().map(|s| s.id.to_string()));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => return ids,
            }
        }
    }

    /// The session records of an NDJSON export for `query`.
    async fn exported(&self, query: &str) -> Vec<String> {
        let path = format!("/api/v1/projects/demo/export?format=ndjson&include=sessions&{query}");
        let response = self.app.get(&path, &self.viewer).await;
        assert_eq!(response.status(), 200, "export with {query}");
        let body = response.text().await.expect("a body");
        body.lines()
            .map(|line| {
                let record: Value = serde_json::from_str(line).expect("one JSON object a line");
                assert_eq!(record["record_type"], "session");
                record["session_id"].as_str().expect("a session id").to_owned()
            })
            .collect()
    }
}

const USERS: [&str; 3] = ["alice", "bob", "carol"];
const MODES: [&str; 4] = ["shell", "database", "runbook", "command"];

#[tokio::test]
async fn the_export_holds_exactly_the_sessions_the_list_shows_for_every_shared_filter() {
    let app = TestApp::spawn().await;
    app.create_project("demo").await;
    let gateway = app.token("gateway", "demo", &[Ingest]);
    let viewer = app.token("vera", "demo", &[ViewHistory]);
    let f = Fixture { app, gateway, viewer };

    let targets = [
        ("billing-api", "application", "prod-eu", "production"),
        ("orders-db", "database", "staging", "non_production"),
        ("search-api", "application", "dev", "non_production"),
    ];
    let mut target_ids = Vec::new();
    for (name, kind, environment, class) in targets {
        let target = f
            .post(
                "/targets",
                json!({"name": name, "kind": kind, "environment": environment, "environment_class": class}),
            )
            .await;
        target_ids.push(target["id"].as_str().expect("an id").to_owned());
    }

    // 24 sessions over every target, user, mode and status, in an order that
    // does not line the filters up with each other.
    for n in 0..24usize {
        let session = f
            .post(
                "/sessions",
                json!({
                    "target_id": target_ids[n % 3],
                    "user": {"subject": USERS[(n / 3) % 3], "name": USERS[(n / 3) % 3]},
                    "mode": MODES[(n * 7) % 4],
                    "reason": format!("CHG-{n}"),
                }),
            )
            .await;
        let id = session["id"].as_str().expect("an id").to_owned();
        match n % 5 {
            0 | 3 => {
                f.post(&format!("/sessions/{id}/drop"), json!({})).await;
            }
            1 => {
                f.post(&format!("/sessions/{id}/close"), json!({"reason": "user_exit"})).await;
            }
            _ => {}
        }
    }

    let mut singles: Vec<String> = Vec::new();
    singles.extend(["active", "dropped", "closed"].map(|s| format!("status={s}")));
    singles.extend(["production", "non_production"].map(|c| format!("environment_class={c}")));
    singles.extend(["prod-eu", "staging", "dev"].map(|e| format!("environment={e}")));
    singles.extend(target_ids.iter().map(|t| format!("target_id={t}")));
    singles.extend(USERS.map(|u| format!("user={u}")));
    singles.extend(MODES.map(|m| format!("mode={m}")));

    let mut queries = vec![String::new()];
    queries.extend(singles.iter().cloned());
    // Every pair of filters on different fields.
    for (i, a) in singles.iter().enumerate() {
        for b in &singles[i + 1..] {
            if a.split('=').next() != b.split('=').next() {
                queries.push(format!("{a}&{b}"));
            }
        }
    }
    // Three and more at once, and a value nothing has.
    queries.push(format!("status=dropped&user=bob&mode=shell&target_id={}", target_ids[1]));
    queries.push("environment_class=production&environment=staging".into());
    queries.push("user=nobody".into());

    let mut matched_something = 0;
    for query in &queries {
        let listed = f.listed(query).await;
        let exported = f.exported(query).await;
        let listed_set: BTreeSet<_> = listed.iter().collect();
        assert_eq!(listed_set.len(), listed.len(), "{query}: the list repeats a session");
        let exported_set: BTreeSet<_> = exported.iter().collect();
        assert_eq!(exported_set.len(), exported.len(), "{query}: the export repeats a session");
        assert_eq!(listed_set, exported_set, "{query}");
        if !listed.is_empty() {
            matched_something += 1;
        }
    }
    // The cases are not vacuous: most match some sessions, the unfiltered one all.
    assert_eq!(f.listed("").await.len(), 24);
    assert!(
        matched_something * 10 >= queries.len() * 8,
        "{matched_something} of {}",
        queries.len()
    );
}
