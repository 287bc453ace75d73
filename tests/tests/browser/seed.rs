//! What the browser tests start from: the server with the built web app and
//! a project with three sessions ([`Seeded`]), and a 12-second recording
//! ([`CAST`]) for the player's and the session page's tests.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use termaudit_domain::Permission;
use termaudit_tests::{
    TestApp,
    browser::{Browser, require_built_frontend},
    json,
};

use crate::PROJECT;

/// The server with the built web app, and a project with three sessions:
/// a live production shell (alice), a closed staging database session (bob)
/// and a dropped staging command session (alice).
pub(crate) struct Seeded {
    pub(crate) app: TestApp,
    pub(crate) live: String,
    pub(crate) closed: String,
    pub(crate) dropped: String,
}

impl Seeded {
    pub(crate) async fn new() -> Seeded {
        let dist = require_built_frontend();
        let app =
            TestApp::spawn_with(Box::new(move |settings| settings.web_dir = Some(dist))).await;
        app.create_project(PROJECT).await;
        let gateway = app.token("gateway", PROJECT, &[Permission::Ingest]);
        let base = format!("/api/v1/projects/{PROJECT}");

        let target = |name: &str, kind: &str, environment: &str, class: &str| json!({ "name": name, "kind": kind, "environment": environment, "environment_class": class });
        let billing: Value = json(
            app.post(
                &format!("{base}/targets"),
                &gateway,
                &target("billing-api", "application", "prod-eu", "production"),
            )
            .await,
            201,
        )
        .await;
        let orders: Value = json(
            app.post(
                &format!("{base}/targets"),
                &gateway,
                &target("orders-db", "database", "staging", "non_production"),
            )
            .await,
            201,
        )
        .await;

        let open = |target: &Value, subject: &str, mode: &str, reason: &str| {
            json!({
                "target_id": target["id"],
                "user": { "subject": subject, "name": format!("{subject} (test)") },
                "mode": mode,
                "reason": reason,
            })
        };
        let mut ids = Vec::new();
        for body in [
            open(&orders, "bob", "database", "Check the slow order query"),
            open(&orders, "alice", "command", "Rebuild the search index"),
            open(&billing, "alice", "shell", "INC-4211: restart stuck workers"),
        ] {
            let session: Value =
                json(app.post(&format!("{base}/sessions"), &gateway, &body).await, 201).await;
            ids.push(session["id"].as_str().expect("an id").to_owned());
        }
        let [closed, dropped, live] = <[String; 3]>::try_from(ids).expect("three sessions");

        let now = Utc::now();
        let activity = json!({ "items": [
            { "event_id": "a1", "kind": "command", "text": "systemctl status workers",
              "occurred_at": now - Duration::seconds(50), "exit_code": 3, "duration_ms": 120 },
            { "event_id": "a2", "kind": "command", "text": "systemctl restart workers",
              "occurred_at": now - Duration::seconds(40), "exit_code": 0, "duration_ms": 840 },
        ] });
        json::<Value>(
            app.post(&format!("{base}/sessions/{live}/activity"), &gateway, &activity).await,
            200,
        )
        .await;
        let statements = json!({ "items": [
            { "event_id": "d1", "statement": "EXPLAIN ANALYZE SELECT * FROM orders WHERE state = 'open'",
              "database": "orders", "occurred_at": now - Duration::seconds(30), "rows_affected": 0, "duration_ms": 41 },
        ] });
        json::<Value>(
            app.post(&format!("{base}/sessions/{closed}/database-events"), &gateway, &statements)
                .await,
            200,
        )
        .await;
        json::<Value>(
            app.post(
                &format!("{base}/sessions/{closed}/close"),
                &gateway,
                &json!({ "reason": "user_exit" }),
            )
            .await,
            200,
        )
        .await;
        json::<Value>(
            app.post(&format!("{base}/sessions/{dropped}/drop"), &gateway, &json!({})).await,
            200,
        )
        .await;

        Seeded { app, live, closed, dropped }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        self.app.url(path)
    }

    /// Opens the sign-in page and pastes `token`, as a person does.
    pub(crate) async fn sign_in(&self, browser: &Browser, token: &str) {
        termaudit_tests::gateway_shell::sign_in(browser, &self.app, token).await;
    }

    /// A browser where carol, who may view history and recordings, has
    /// signed in and opened session `id`'s page.
    pub(crate) async fn watching(&self, id: &str) -> Browser {
        let browser = Browser::start().await;
        let viewer =
            self.app.token("carol", PROJECT, &[Permission::ViewHistory, Permission::ViewRecording]);
        self.sign_in(&browser, &viewer).await;
        browser.goto(&self.url(&self.session_path(id))).await;
        browser
    }

    /// A browser where erin, who may also download recordings, has signed
    /// in and opened session `id`'s page; and erin's token.
    pub(crate) async fn downloading(&self, id: &str) -> (Browser, String) {
        let browser = Browser::start().await;
        let auditor = self.app.token(
            "erin",
            PROJECT,
            &[Permission::ViewHistory, Permission::ViewRecording, Permission::DownloadRecording],
        );
        self.sign_in(&browser, &auditor).await;
        browser.goto(&self.url(&self.session_path(id))).await;
        (browser, auditor)
    }

    pub(crate) fn session_path(&self, id: &str) -> String {
        format!("/projects/{PROJECT}/sessions/{id}")
    }

    /// Revokes session `id` through the API, as the policy manager carol,
    /// saying `reason`.
    pub(crate) async fn revoke(&self, id: &str, reason: &str) {
        let manager = self.app.token("carol", PROJECT, &[Permission::ManagePolicy]);
        let path = format!("/api/v1{}/revoke", self.session_path(id));
        json::<Value>(self.app.post(&path, &manager, &json!({ "reason": reason })).await, 200)
            .await;
    }

    /// A closed production session with a 12-second recording, uploaded as
    /// the gateway does (see [`CAST`]); returns its id.
    pub(crate) async fn recorded(&self) -> String {
        self.recorded_with("payments-api", "CHG-7781: canary deploy", CAST).await
    }

    /// A closed production session of alice's on a new target `target`,
    /// opened for `reason`, recorded as the asciicast `cast`; returns its id.
    pub(crate) async fn recorded_with(&self, target: &str, reason: &str, cast: &str) -> String {
        let app = &self.app;
        let gateway = app.token("gateway", PROJECT, &[Permission::Ingest]);
        let base = format!("/api/v1/projects/{PROJECT}");
        let session = self.opened_on(target, "application", "production", "shell", reason).await;
        let id = session["id"].as_str().expect("an id").to_owned();
        let response = app
            .client
            .put(app.url(&format!("{base}/sessions/{id}/recording/chunks/0")))
            .bearer_auth(&gateway)
            .header("content-type", "application/x-asciicast")
            .body(cast.to_owned())
            .send()
            .await
            .expect("the chunk is sent");
        assert_eq!(
            response.status().as_u16(),
            201,
            "{}",
            response.text().await.unwrap_or_default()
        );
        self.close(&id).await;
        // Search reads the text the emulation extracts: wait for it.
        termaudit_tests::emulation::wait_until_emulated(
            &app.db,
            std::time::Duration::from_secs(60),
        )
        .await
        .expect("the recording is emulated");
        id
    }

    /// A session of alice's in `mode` on a new target `target` (`kind`,
    /// environment class `class`), opened for `reason`, as the gateway
    /// opens it; returns the session.
    pub(crate) async fn opened_on(
        &self,
        target: &str,
        kind: &str,
        class: &str,
        mode: &str,
        reason: &str,
    ) -> Value {
        let app = &self.app;
        let gateway = app.token("gateway", PROJECT, &[Permission::Ingest]);
        let base = format!("/api/v1/projects/{PROJECT}");
        let target: Value = json(
            app.post(
                &format!("{base}/targets"),
                &gateway,
                &json!({ "name": target, "kind": kind,
                         "environment": "prod-eu", "environment_class": class }),
            )
            .await,
            201,
        )
        .await;
        json(
            app.post(
                &format!("{base}/sessions"),
                &gateway,
                &json!({
                    "target_id": target["id"],
                    "user": { "subject": "alice", "name": "alice (test)" },
                    "mode": mode,
                    "reason": reason,
                }),
            )
            .await,
            201,
        )
        .await
    }

    /// Closes session `id` as its user's exit, as the gateway does.
    pub(crate) async fn close(&self, id: &str) {
        let gateway = self.app.token("gateway", PROJECT, &[Permission::Ingest]);
        let path = format!("/api/v1/projects/{PROJECT}/sessions/{id}/close");
        let close = json!({ "reason": "user_exit" });
        json::<Value>(self.app.post(&path, &gateway, &close).await, 200).await;
    }
}

/// A shell in which a canary deploy passes (at 0.9 s, bold green), a disk
/// alert shows (1.2 s, red background), a rollout starts after an idle gap
/// (7 s, also a marker) and ends with "zebra-7" (12 s).
pub(crate) const CAST: &str = concat!(
    r#"{"version": 2, "width": 72, "height": 14, "timestamp": 1767322800, "env": {"TERM": "xterm-256color"}}"#,
    "\n",
    r#"[0.2, "o", "\u001b[32malice@payments-api\u001b[0m:\u001b[34m~/deploy\u001b[0m$ "]"#,
    "\n",
    r#"[0.6, "o", "./deploy.sh --canary\r\n"]"#,
    "\n",
    r#"[0.6, "m", "$ ./deploy.sh --canary"]"#,
    "\n",
    r#"[0.7, "o", "building \u001b[2mrelease 2026.01.02\u001b[0m ... done\r\n"]"#,
    "\n",
    r#"[0.9, "o", "\u001b[1;32mCANARY-OK\u001b[0m all 14 checks passed\r\n"]"#,
    "\n",
    r#"[1.2, "o", "\u001b[41;97m ALERT \u001b[0m disk at 91% on \u001b[1mdb-2\u001b[0m\r\n"]"#,
    "\n",
    r#"[1.3, "o", "\u001b[32malice@payments-api\u001b[0m:\u001b[34m~/deploy\u001b[0m$ "]"#,
    "\n",
    r#"[7.0, "o", "./rollout.sh\r\n"]"#,
    "\n",
    r#"[7.0, "m", "$ ./rollout.sh"]"#,
    "\n",
    r#"[7.2, "o", "ROLLOUT-STARTED \u001b[33m3/12 pods\u001b[0m\r\n"]"#,
    "\n",
    r#"[9.5, "o", "\u001b[38;5;208m8/12 pods\u001b[0m healthy\r\n"]"#,
    "\n",
    r#"[12.0, "o", "\u001b[36mzebra-7\u001b[0m finished in 4.8 s\r\n\u001b[32malice@payments-api\u001b[0m:\u001b[34m~/deploy\u001b[0m$ "]"#,
    "\n",
);
