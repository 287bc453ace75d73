//! The sequencer and the log over HTTP: every audit entry gets a leaf, the
//! signed tree heads and the proofs the API serves verify with the RFC's
//! own algorithms, a manifest is signed for every finalized recording.

use serde_json::{Value, json};
use termaudit_api::documents;
use termaudit_api_types as dto;
use termaudit_domain::{
    AuditEventType, EnvironmentClass, Permission,
    transparency::{AuditLeaf, KeyRing, PublicKey},
};
use termaudit_storage::NewAuditEvent;
use termaudit_tests::{
    TestApp, json, problem, rfc9162,
    seed::{end_session, project_id, seed_session},
};

use crate::{PROJECT, spawn, wait_until};

/// The keys `GET /api/v1/signing-keys` lists.
pub(crate) async fn keys(app: &TestApp, token: &str) -> KeyRing {
    let list: dto::SigningKeyList = json(app.get("/api/v1/signing-keys", token).await, 200).await;
    assert!(list.items.iter().any(|k| k.current), "the current key is listed");
    KeyRing::new(
        list.items.iter().map(|k| PublicKey::from_pem(&k.public_key_pem).expect("a PEM")).collect(),
    )
}

/// Waits until the log holds `size` entries, nothing is pending and a head
/// of that size is signed; returns the status.
pub(crate) async fn sequenced(app: &TestApp, token: &str, size: u64) -> dto::AuditLogStatus {
    let path = format!("/api/v1/projects/{PROJECT}/audit-log");
    wait_until(&format!("a signed head of {size} entries"), || async {
        let status: dto::AuditLogStatus = json(app.get(&path, token).await, 200).await;
        let signed = status.latest_tree_head.as_ref().map(|h| h.tree_size);
        (status.tree_size == size && status.pending_entries == 0 && signed == Some(size))
            .then_some(status)
    })
    .await
}

async fn append(app: &TestApp, n: usize, details: impl Fn(usize) -> Value) {
    let project = project_id(app, PROJECT).await;
    for i in 0..n {
        app.store
            .append_audit(
                &NewAuditEvent::new(project, AuditEventType::PolicyUpdated)
                    .actor("carol", "Carol \"Policy\" Manager")
                    .details(details(i)),
            )
            .await
            .expect("appended");
    }
}

#[tokio::test]
async fn every_entry_is_proven_into_a_signed_head_as_the_rfc_verifies() {
    let app = spawn().await;
    let token = app.token("auditor", PROJECT, &[Permission::ViewHistory]);
    append(&app, 9, |i| {
        json!({"i": i, "nested": {"z": [1, 2.5, "x"], "a": null}, "text": "naïve ✓ \"quoted\"\n"})
    })
    .await;
    let status = sequenced(&app, &token, 9).await;
    let head_doc = status.latest_tree_head.expect("a head");
    let keys = keys(&app, &token).await;
    let head = documents::tree_head(&head_doc).expect("a well-formed head");
    head.verify(&keys).expect("the head's signature verifies with the listed key");

    let page: Value = json(
        app.get(&format!("/api/v1/projects/{PROJECT}/audit-events?limit=200"), &token).await,
        200,
    )
    .await;
    let entries = page["items"].as_array().expect("items");
    assert_eq!(entries.len(), 9);
    let mut indexes = Vec::new();
    for entry in entries {
        let id = entry["id"].as_i64().expect("an id");
        let path = format!("/api/v1/projects/{PROJECT}/audit-log/proof/inclusion?entry={id}");
        let proof: dto::InclusionProof = json(app.get(&path, &token).await, 200).await;
        assert_eq!(proof.tree_size, 9);
        assert_eq!(proof.root_hash, head_doc.root_hash);
        assert_eq!(proof.tree_head.as_ref(), Some(&head_doc));
        // The independent verifier: its own leaf hash and the RFC's algorithm.
        let leaf_hash = rfc9162::leaf(proof.leaf.as_bytes());
        assert_eq!(
            proof.leaf_hash,
            leaf_hash.iter().map(|b| format!("{b:02x}")).collect::<String>()
        );
        let path_hashes: Vec<_> = proof.hashes.iter().map(|h| rfc9162::unhex(h)).collect();
        assert!(rfc9162::verify_inclusion(
            proof.leaf_index,
            proof.tree_size,
            &leaf_hash,
            &path_hashes,
            &rfc9162::unhex(&proof.root_hash)
        ));
        // The leaf is the entry as the audit log shows it.
        let leaf = AuditLeaf::decode(proof.leaf.as_bytes()).expect("a canonical leaf");
        assert_eq!(leaf.id, id);
        assert_eq!(leaf.event_type, entry["type"]);
        assert_eq!(leaf.details_json(), entry["details"]);
        assert_eq!(leaf.actor_name.as_deref(), entry["actor"]["name"].as_str());
        indexes.push(proof.leaf_index);
    }
    indexes.sort_unstable();
    assert_eq!(indexes, (0..9).collect::<Vec<u64>>(), "one leaf per entry");

    // The log grows; the later head is consistent with the earlier one.
    append(&app, 5, |i| json!({"later": i})).await;
    let later = sequenced(&app, &token, 14).await.latest_tree_head.expect("a head");
    let path = format!("/api/v1/projects/{PROJECT}/audit-log/proof/consistency?from=9&to=14");
    let proof: dto::ConsistencyProof = json(app.get(&path, &token).await, 200).await;
    assert_eq!(
        (proof.from_root.as_str(), proof.to_root.as_str()),
        (head_doc.root_hash.as_str(), later.root_hash.as_str())
    );
    let hashes: Vec<_> = proof.hashes.iter().map(|h| rfc9162::unhex(h)).collect();
    assert!(rfc9162::verify_consistency(
        9,
        14,
        &rfc9162::unhex(&head_doc.root_hash),
        &rfc9162::unhex(&later.root_hash),
        &hashes
    ));
    // The heads are listed, newest first.
    let heads: dto::TreeHeadPage = json(
        app.get(&format!("/api/v1/projects/{PROJECT}/audit-log/tree-heads"), &token).await,
        200,
    )
    .await;
    let sizes: Vec<u64> = heads.items.iter().map(|h| h.tree_size).collect();
    // The sequencer may also have signed heads on the way, whenever it saw
    // part of the nine or of the five: the two awaited ones are there, the
    // newest first.
    assert_eq!(sizes.first(), Some(&14), "{sizes:?}");
    assert!(sizes.contains(&9), "{sizes:?}");
    assert!(sizes.windows(2).all(|w| w[0] > w[1]), "{sizes:?}");

    // What the log does not hold is refused with a reason.
    let beyond = format!("/api/v1/projects/{PROJECT}/audit-log/proof/consistency?from=9&to=99");
    problem(app.get(&beyond, &token).await, 400, "invalid-input").await;
    let missing = format!("/api/v1/projects/{PROJECT}/audit-log/proof/inclusion?entry=999999");
    problem(app.get(&missing, &token).await, 404, "not-found").await;
    let other = app.token("outsider", "elsewhere", &[Permission::ViewHistory]);
    problem(
        app.get(&format!("/api/v1/projects/{PROJECT}/audit-log"), &other).await,
        404,
        "not-found",
    )
    .await;
}

#[tokio::test]
async fn a_finalized_recording_gets_a_signed_manifest_naming_its_log_entry() {
    let app = spawn().await;
    let token = app.token(
        "auditor",
        PROJECT,
        &[Permission::ViewHistory, Permission::ViewRecording, Permission::Ingest],
    );
    let session = seed_session(&app, PROJECT, EnvironmentClass::Production, true).await;
    let cast = "{\"version\":2,\"width\":80,\"height\":24,\"timestamp\":1767225600}\n\
                [0.5,\"o\",\"$ \"]\n[1.25,\"o\",\"hello\\r\\n\"]\n";
    let chunk = format!("/api/v1/projects/{PROJECT}/sessions/{session}/recording/chunks/0");
    let response = app
        .client
        .put(app.url(&chunk))
        .bearer_auth(&token)
        .header("content-type", "application/x-asciicast")
        .body(cast)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status(), 201);
    end_session(&app, session).await;

    let path = format!("/api/v1/projects/{PROJECT}/sessions/{session}/recording/manifest");
    let manifest: dto::RecordingManifest = wait_until("a signed manifest", || async {
        let response = app.get(&path, &token).await;
        (response.status() == 200).then_some(response)
    })
    .await
    .json()
    .await
    .expect("a manifest");
    let signed = documents::manifest(&manifest).expect("a well-formed manifest");
    signed.verify(&keys(&app, &token).await).expect("the signature verifies");

    let summary: Value = json(
        app.get(&format!("/api/v1/projects/{PROJECT}/sessions/{session}/recording"), &token).await,
        200,
    )
    .await;
    assert_eq!(manifest.sha256, summary["sha256"].as_str().expect("a digest"));
    assert_eq!(manifest.event_count, 2);
    assert_eq!(manifest.project, PROJECT);
    assert_eq!(manifest.session_id, session);
    // Event times are offsets from the recording's time zero.
    let started: chrono::DateTime<chrono::Utc> = app
        .db
        .connect()
        .await
        .query_one("SELECT started_at FROM recordings WHERE session_id = $1", &[&session])
        .await
        .expect("a recording")
        .get(0);
    assert_eq!(manifest.first_event_at, Some(started + chrono::Duration::milliseconds(500)));
    assert_eq!(manifest.last_event_at, Some(started + chrono::Duration::milliseconds(1250)));

    // The manifest names the leaf of its recording.finalized entry.
    let count: dto::AuditLogStatus =
        json(app.get(&format!("/api/v1/projects/{PROJECT}/audit-log"), &token).await, 200).await;
    sequenced(&app, &token, count.tree_size).await;
    let proof: dto::InclusionProof = json(
        app.get(
            &format!(
                "/api/v1/projects/{PROJECT}/audit-log/proof/inclusion?entry={}",
                manifest.audit_entry_id
            ),
            &token,
        )
        .await,
        200,
    )
    .await;
    assert_eq!(proof.leaf_index, manifest.log_index);
    let leaf = AuditLeaf::decode(proof.leaf.as_bytes()).expect("a leaf");
    assert_eq!(leaf.event_type, "recording.finalized");
    assert_eq!(leaf.details_json()["sha256"], manifest.sha256.as_str());
}
