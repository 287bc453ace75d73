//! The session lifecycle as OpenAPI links: from the answer that names a
//! session (or its recording, hold or reconnect grant) to the operations a
//! client calls next with it. Generated clients show them, and schemathesis'
//! stateful phase follows them from one call to the next.

use serde_json::{Value, json};
use utoipa::openapi::{OpenApi as Spec, RefOr, link::LinkBuilder};

/// Where a link's `id` comes from.
#[derive(Clone, Copy)]
enum Id {
    /// The answer's `id` (a session).
    Body,
    /// The answer's `session_id` (a hold).
    Hold,
    /// The answer's `session.id` (a reconnect grant).
    Grant,
    /// The `id` in the request's own path.
    Path,
}

impl Id {
    fn expression(self) -> &'static str {
        match self {
            Self::Body => "$response.body#/id",
            Self::Hold => "$response.body#/session_id",
            Self::Grant => "$response.body#/session/id",
            Self::Path => "$request.path.id",
        }
    }
}

/// A link's name and the operation it leads to.
type Targets = &'static [(&'static str, &'static str)];

/// What a session's answer leads to.
const FROM_SESSION: Targets = &[
    ("GetSession", "get_session"),
    ("Heartbeat", "heartbeat"),
    ("Drop", "drop_session"),
    ("Close", "close_session"),
    ("Revoke", "revoke_session"),
    ("Reconnect", "reconnect"),
    ("AppendActivity", "append_activity"),
    ("ListActivity", "list_activity"),
    ("AppendDatabaseEvents", "append_database_events"),
    ("ListDatabaseEvents", "list_database_events"),
    ("UploadFirstChunk", "put_chunk"),
    ("GetRecording", "get_recording"),
    ("PlaceHold", "place_hold"),
];

/// What a stored chunk leads to: the recording it belongs to.
const FROM_CHUNK: Targets = &[
    ("GetRecording", "get_recording"),
    ("RecordingEvents", "get_events"),
    ("SearchRecording", "search"),
    ("DownloadRecording", "download"),
];

const FROM_HOLD: Targets = &[("GetHold", "get_hold"), ("ReleaseHold", "release_hold")];

/// (operation, status, id source, links)
const LINKS: &[(&str, &str, Id, Targets)] = &[
    ("open_session", "201", Id::Body, FROM_SESSION),
    ("get_session", "200", Id::Body, FROM_SESSION),
    ("heartbeat", "200", Id::Body, FROM_SESSION),
    ("drop_session", "200", Id::Body, FROM_SESSION),
    ("close_session", "200", Id::Body, FROM_SESSION),
    ("revoke_session", "200", Id::Body, FROM_SESSION),
    ("redeem_reconnect", "200", Id::Body, FROM_SESSION),
    ("put_chunk", "201", Id::Path, FROM_CHUNK),
    ("put_chunk", "200", Id::Path, FROM_CHUNK),
    ("place_hold", "201", Id::Hold, FROM_HOLD),
    ("reconnect", "200", Id::Grant, &[("GetSession", "get_session")]),
];

/// Adds the links to `spec`'s responses.
pub fn add(spec: &mut Spec) {
    for (from, status, id, targets) in LINKS {
        for (name, to) in *targets {
            let mut parameters = vec![("project", json!("$request.path.project"))];
            parameters.push(("id", json!(id.expression())));
            if *to == "put_chunk" {
                parameters.push(("seq", json!("0")));
            }
            add_link(spec, from, status, name, to, &parameters, None);
        }
    }
    // A redeemed grant reattaches the session it was issued for.
    add_link(
        spec,
        "reconnect",
        "200",
        "RedeemReconnect",
        "redeem_reconnect",
        &[("project", json!("$request.path.project")), ("id", json!("$response.body#/session/id"))],
        Some(json!({"token": "$response.body#/token"})),
    );
    // A new target is where sessions open.
    add_link(
        spec,
        "create_target",
        "201",
        "OpenSession",
        "open_session",
        &[("project", json!("$request.path.project"))],
        Some(json!({
            "target_id": "$response.body#/id",
            "user": {"subject": "alice", "name": "Alice Example"},
            "mode": "shell",
            "reason": "INC-4211: restart stuck workers",
        })),
    );
}

fn add_link(
    spec: &mut Spec,
    from: &str,
    status: &str,
    name: &str,
    to: &str,
    parameters: &[(&str, Value)],
    request_body: Option<Value>,
) {
    let mut link = LinkBuilder::new().operation_id(to);
    for (parameter, value) in parameters {
        link = link.parameter(*parameter, value.clone());
    }
    if let Some(body) = request_body {
        link = link.request_body(Some(body));
    }
    let link = link.build();
    let operation = spec.paths.paths.values_mut().flat_map(|item| {
        [&mut item.get, &mut item.put, &mut item.post, &mut item.delete].into_iter().flatten()
    });
    for operation in operation.filter(|op| op.operation_id.as_deref() == Some(from)) {
        if let Some(RefOr::T(response)) = operation.responses.responses.get_mut(status) {
            response.links.insert(name.to_owned(), RefOr::T(link.clone()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every link leaves from an answer the document has and leads to an
    /// operation it has, with the path parameters that operation takes.
    #[test]
    fn every_link_joins_two_operations() {
        let spec = serde_json::to_value(crate::openapi()).expect("the spec serialises");
        let mut operations = std::collections::BTreeMap::new();
        for item in spec["paths"].as_object().expect("paths").values() {
            for op in item.as_object().expect("an item").values() {
                operations.insert(op["operationId"].as_str().expect("an id").to_owned(), op);
            }
        }
        let mut count = 0;
        for op in operations.values() {
            for response in op["responses"].as_object().expect("responses").values() {
                for link in response["links"].as_object().into_iter().flat_map(|l| l.values()) {
                    count += 1;
                    let target = &operations[link["operationId"].as_str().expect("an id")];
                    for param in target["parameters"].as_array().into_iter().flatten() {
                        if param["in"] == "path" {
                            let name = param["name"].as_str().expect("a name");
                            assert!(
                                link["parameters"][name].is_string()
                                    || link["parameters"][name].is_number(),
                                "a link to {} lacks its path parameter {name}",
                                link["operationId"]
                            );
                        }
                    }
                }
            }
        }
        let expected: usize =
            LINKS.iter().map(|(_, _, _, targets)| targets.len()).sum::<usize>() + 2;
        assert_eq!(count, expected, "a link leaves from an answer the document does not have");
    }
}
