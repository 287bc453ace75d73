//! The retention preview: the sweep's dry run for retention values not yet
//! saved, per environment class, for policy managers only; nothing changes.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use termaudit_domain::Permission::*;
use termaudit_tests::{json, problem};

use crate::retention::{Fixture, fixture};

/// [`fixture`] with the default retention (365 and 90 days).
async fn project() -> Fixture {
    let f = fixture().await;
    f.set_retention(365, 90).await;
    f
}

/// A closed, recorded session on `target`; when it ended.
async fn recorded(f: &Fixture, target: &str) -> DateTime<Utc> {
    f.recorded(target, false).await.1.expect("closed")
}

fn at(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true).replace('+', "%2B")
}

#[tokio::test]
async fn the_preview_counts_what_a_shorter_retention_would_purge_per_class() {
    let f = project().await;
    let (app, manager) = (&f.app, &f.manager);
    let prod_end = recorded(&f, &f.prod).await;
    recorded(&f, &f.prod).await;
    let staging_end = recorded(&f, &f.staging).await;
    let latest = prod_end.max(staging_end);

    // Ten days on, with production kept 7 days and the rest 30: two
    // production recordings go, none of the other; the policy purges none.
    let as_of = latest + Duration::days(10);
    let preview: Value = json(
        app.get(
            &format!(
                "/api/v1/projects/demo/retention/preview?retention_days_production=7\
                 &retention_days_non_production=30&as_of={}",
                at(as_of)
            ),
            manager,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(preview["as_of"].as_str().map(|t| t.parse::<DateTime<Utc>>().unwrap()), Some(as_of));
    let classes = preview["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 2);
    let production = &classes[0];
    assert_eq!(production["environment_class"], "production");
    assert_eq!(production["retention_days"], 7);
    assert_eq!(production["current_retention_days"], 365);
    assert_eq!(production["recordings"], 2);
    assert_eq!(production["recordings_with_current"], 0);
    assert!(production["size_bytes"].as_i64().unwrap() > 0, "{production}");
    assert!(production["bytes_freed"].as_i64().unwrap() > 0, "{production}");
    let other = &classes[1];
    assert_eq!(other["environment_class"], "non_production");
    assert_eq!(
        (other["retention_days"].clone(), other["recordings"].clone()),
        (json!(30), json!(0))
    );

    // Exactly at the cut-off the rule is the sweep's: a microsecond before, not yet.
    let just_before = staging_end + Duration::days(1) - Duration::microseconds(1);
    let path = |time: DateTime<Utc>| {
        format!(
            "/api/v1/projects/demo/retention/preview?retention_days_non_production=1&as_of={}",
            at(time)
        )
    };
    let before: Value = json(app.get(&path(just_before), manager).await, 200).await;
    assert_eq!(before["classes"][1]["recordings"], 0);
    let on: Value = json(app.get(&path(staging_end + Duration::days(1)), manager).await, 200).await;
    assert_eq!(on["classes"][1]["recordings"], 1);
    // Absent values are the policy's.
    assert_eq!(on["classes"][0]["retention_days"], 365);

    // Without `as_of`: the next sweep, which is now or later.
    let next: Value =
        json(app.get("/api/v1/projects/demo/retention/preview", manager).await, 200).await;
    let next_at: DateTime<Utc> = next["as_of"].as_str().unwrap().parse().unwrap();
    assert!(next_at >= latest, "{next}");
    assert_eq!(next["classes"][0]["recordings"], 0);

    // Nothing changed: the policy and the recordings are as they were.
    let policy: Value = json(app.get("/api/v1/projects/demo/policy", manager).await, 200).await;
    assert_eq!(policy["retention_days_production"], 365);
    let purged: i64 = app
        .db
        .connect()
        .await
        .query_one("SELECT count(*) FROM recordings WHERE purged_at IS NOT NULL", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(purged, 0);
}

#[tokio::test]
async fn a_held_recording_is_left_out_and_bounds_are_checked() {
    let f = project().await;
    let (app, manager) = (&f.app, &f.manager);
    let ended = recorded(&f, &f.prod).await;
    let sessions: Value = json(app.get("/api/v1/projects/demo/sessions", manager).await, 200).await;
    let id = sessions["items"][0]["id"].as_str().unwrap().to_owned();
    json::<Value>(
        app.post(
            &format!("/api/v1/projects/demo/sessions/{id}/hold"),
            manager,
            &json!({"reason": "Litigation"}),
        )
        .await,
        201,
    )
    .await;
    let held: Value = json(
        app.get(
            &format!(
                "/api/v1/projects/demo/retention/preview?retention_days_production=1&as_of={}",
                at(ended + Duration::days(5))
            ),
            manager,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(held["classes"][0]["recordings"], 0, "a legal hold keeps it: {held}");

    let out_of_bounds = problem(
        app.get("/api/v1/projects/demo/retention/preview?retention_days_production=0", manager)
            .await,
        400,
        "invalid-input",
    )
    .await;
    assert_eq!(out_of_bounds["errors"][0]["field"], "retention_days_production", "{out_of_bounds}");
    let too_long = app
        .get("/api/v1/projects/demo/retention/preview?retention_days_non_production=3651", manager)
        .await;
    assert_eq!(too_long.status(), 400);
}

#[tokio::test]
async fn only_policy_managers_may_preview() {
    let f = project().await;
    let app = &f.app;
    let reader = app.token("dana", "demo", &[ViewHistory]);
    problem(app.get("/api/v1/projects/demo/retention/preview", &reader).await, 403, "forbidden")
        .await;
    let stranger = app.token("eve", "other", &[ManagePolicy]);
    let response = app.get("/api/v1/projects/demo/retention/preview", &stranger).await;
    assert_eq!(response.status(), 404);
}
