mod links;

use utoipa::{
    OpenApi,
    openapi::{
        Content, OpenApi as Spec, RefOr, Response,
        security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme},
    },
};

use crate::error::{PROBLEM_JSON, ProblemKind};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "termaudit",
        description = "History and recordings of operators' terminal sessions.\n\nEvery path under `/api/v1/projects/{project}` is scoped to one project; a caller never sees another project's data. Errors are RFC 9457 `application/problem+json`: branch on `type`, show `detail`, quote `request_id` when reporting a problem.\n\nHEAD is answered wherever GET is, without the body. A method a path does not take is answered 405 with `Allow` listing the ones it does. Text may hold any character but U+0000, which is refused (400, naming the field), as are times before 4713 BC.\n\nThe HTTP parser refuses some requests before the API sees them, with a status and an empty body rather than a problem: 400 for a malformed request line or header (a NUL in a header, a raw byte above 0x7f in the path), 431 for more than 96 header fields, 408 for a request head that does not arrive in time.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    components(schemas(
        termaudit_api_types::Problem,
        termaudit_api_types::ProblemField,
        // Referenced only by query parameters, which utoipa does not follow.
        termaudit_api_types::ExportInclude,
    )),
    tags(
        (name = "projects", description = "The projects a caller may see"),
        (name = "targets", description = "The application and database targets sessions open on"),
        (name = "sessions", description = "Terminal sessions: history, lifecycle (the gateway's ingest side), revoke and reconnect"),
        (name = "audit", description = "The append-only audit log"),
        (name = "policy", description = "The terminal policy (retention, recording, reasons, reconnect grace) and legal holds"),
        (name = "export", description = "History export for an external audit trail: CSV, JSON or NDJSON, streamed"),
        (name = "control", description = "Control events for terminal gateways"),
        (name = "recordings", description = "Sessions' terminal recordings (asciicast v2): ingest in chunks, summary, windows for players, search, download. They cannot be deleted: retention policy purges them."),
        (name = "auth", description = "How to sign in: the methods the server offers (no token needed)"),
        (name = "demo", description = "Demo sign-in, offered only when the server runs with demo data (no token needed)"),
        (name = "operations", description = "Health and readiness probes"),
    ),
)]
pub struct ApiDoc;

/// Bytes, for a request or response body of a media type that generated
/// clients should hand over as they are (`type: string, format: binary`).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(#[allow(dead_code)] Vec<u8>);

const COMMON_PROBLEMS: [(ProblemKind, &str); 6] = [
    (
        ProblemKind::InvalidInput,
        "The request is invalid: a parameter or the body does not parse or is out of bounds (`errors` names each field), or U+0000 is in a text",
    ),
    (ProblemKind::Unauthorized, "The bearer token is missing or invalid"),
    (ProblemKind::Forbidden, "The caller lacks the permission this operation needs"),
    (
        ProblemKind::NotFound,
        "The project (or a resource in it) does not exist or is not visible to the caller",
    ),
    (ProblemKind::Internal, "The server failed; the request id finds the cause in its log"),
    (
        ProblemKind::Unavailable,
        "The database, or the object store holding recordings, cannot be reached right now (restarting, or down): try again after `Retry-After` seconds",
    ),
];

/// Applies what every `/api/v1` operation has in common: bearer
/// authentication and the problem responses any of them may give. (Run on
/// the finished document: the paths are collected from the app, after
/// `ApiDoc`'s own modifiers.)
pub fn apply_conventions(spec: &mut Spec) {
    {
        let components = spec.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT: HS256 from `termaudit token`, RS256/EdDSA signed by the configured identity provider's key, or an ID token (RS256, ES256, EdDSA) from the configured OpenID Connect provider, verified with the keys it publishes. Claims: `sub`, `name`, `iss`, `aud`, `exp`, `nbf`, and `projects` mapping project slugs to permission names (or, for the OpenID provider, the claim the server maps to projects).",
                    ))
                    .build(),
            ),
        );
        for (path, item) in spec.paths.paths.iter_mut() {
            // Demo sign-in is how one gets a token in demo mode; the sign-in
            // configuration is read before there is one.
            if !path.starts_with("/api/v1/")
                || path.starts_with("/api/v1/demo/")
                || path.starts_with("/api/v1/auth/")
            {
                continue;
            }
            for operation in
                [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch]
                    .into_iter()
                    .flatten()
            {
                operation.security =
                    Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
                let too_large =
                    (ProblemKind::PayloadTooLarge, "The body is larger than this operation takes");
                let body_problems = operation.request_body.is_some().then_some(too_large);
                for (kind, description) in COMMON_PROBLEMS.into_iter().chain(body_problems) {
                    let status = kind.status().as_u16().to_string();
                    operation
                        .responses
                        .responses
                        .entry(status)
                        .or_insert_with(|| RefOr::T(problem_response_for(kind, description)));
                }
            }
        }
    }
    links::add(spec);
}

/// A problem response; a 503 also names its `Retry-After` header.
fn problem_response_for(kind: ProblemKind, description: &str) -> Response {
    let mut response = problem_response(description);
    if kind == ProblemKind::Unavailable {
        let seconds = utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .build();
        let header = utoipa::openapi::header::HeaderBuilder::new()
            .schema(Some(seconds))
            .description(Some("Seconds to wait before trying again"))
            .build();
        response.headers.insert("Retry-After".into(), RefOr::T(header));
    }
    response
}

pub fn problem_response(description: &str) -> Response {
    utoipa::openapi::ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            Content::new(Some(RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Problem")))),
        )
        .build()
}

#[cfg(test)]
mod tests {
    use termaudit_domain::{
        AuditEventType, CloseReason, DropCause, EnvironmentClass, RecordType, SessionMode,
        SessionStatus, TargetKind,
    };

    /// The enumerations of the document, as `termaudit-api-types` declares
    /// them for the DTOs' string fields, hold exactly the domain's values.
    #[test]
    fn the_documents_enums_are_the_domains_values() {
        let spec = serde_json::to_value(crate::openapi()).expect("the spec serialises");
        let values = |name: &str| -> Vec<String> {
            let schema = &spec["components"]["schemas"][name]["enum"];
            let values = schema.as_array().unwrap_or_else(|| panic!("{name} is an enum"));
            values.iter().map(|v| v.as_str().expect("a string").to_owned()).collect()
        };
        fn names<'a>(all: impl Iterator<Item = &'a str>) -> Vec<String> {
            all.map(ToOwned::to_owned).collect()
        }
        let domain: [(&str, Vec<String>); 10] = [
            ("SessionMode", names(SessionMode::ALL.iter().map(|v| v.as_str()))),
            ("SessionStatus", names(SessionStatus::ALL.iter().map(|v| v.as_str()))),
            ("EnvironmentClass", names(EnvironmentClass::ALL.iter().map(|v| v.as_str()))),
            ("TargetKind", names(TargetKind::ALL.iter().map(|v| v.as_str()))),
            ("CloseReason", names(CloseReason::ALL.iter().map(|v| v.as_str()))),
            (
                "GatewayCloseReason",
                CloseReason::ALL
                    .iter()
                    .filter(|r| r.is_reported_by_gateway())
                    .map(|r| r.as_str().to_owned())
                    .collect(),
            ),
            ("DropCause", names(DropCause::ALL.iter().map(|v| v.as_str()))),
            ("AuditEventType", names(AuditEventType::ALL.iter().map(|v| v.as_str()))),
            ("RecordType", names(RecordType::ALL.iter().map(|v| v.as_str()))),
            ("ActivityKind", names(crate::timeline::ACTIVITY_KINDS.into_iter())),
        ];
        for (name, expected) in domain {
            let mut documented = values(name);
            let mut expected = expected;
            documented.sort();
            expected.sort();
            assert_eq!(documented, expected, "{name}");
        }
        let include: Vec<String> =
            RecordType::ALL.iter().map(|r| r.include_name().to_owned()).collect();
        let mut documented = values("ExportInclude");
        documented.sort();
        let mut include = include;
        include.sort();
        assert_eq!(documented, include, "ExportInclude");
    }
}
