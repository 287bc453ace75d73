//! Which methods each known path takes, read from the OpenAPI document the
//! routes generate, so that a method a path does not take is a 405 naming
//! the ones it does (`Allow`, RFC 9110 §15.5.6) rather than a 404, and HEAD
//! works wherever GET does (§9.3.2). actix-web's method guards make a route
//! that does not match the method invisible, hence this table.

use actix_web::{HttpRequest, dev::ResourceDef, http::Method, web};
use utoipa::openapi::OpenApi as Spec;

/// Marks a HEAD request that is being served as a GET (the response goes
/// out without its body): handlers whose GET has side effects, such as
/// auditing a download, skip them when it is present.
#[derive(Debug, Clone, Copy)]
pub struct HeadRequest;

/// The methods of every documented path.
#[derive(Debug, Default)]
pub struct MethodTable {
    paths: Vec<(ResourceDef, Vec<Method>)>,
}

impl MethodTable {
    /// The table of `spec`'s paths.
    pub fn from_spec(spec: &Spec) -> Self {
        let paths = spec
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let mut methods: Vec<Method> = [
                    (Method::GET, &item.get),
                    (Method::PUT, &item.put),
                    (Method::POST, &item.post),
                    (Method::DELETE, &item.delete),
                    (Method::PATCH, &item.patch),
                ]
                .into_iter()
                .filter(|(_, op)| op.is_some())
                .map(|(method, _)| method)
                .collect();
                if methods.contains(&Method::GET) {
                    methods.push(Method::HEAD);
                }
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        Self { paths }
    }

    /// The methods `path` takes, if it is a documented path that takes any:
    /// those of every documented path it matches (`.../recording/events`
    /// is also `.../recording/{rest}`), in a fixed order.
    pub fn allowed(&self, path: &str) -> Option<Vec<Method>> {
        let mut methods: Vec<Method> = Vec::new();
        for (_, taken) in self.paths.iter().filter(|(def, _)| def.is_match(path)) {
            for method in taken {
                if !methods.contains(method) {
                    methods.push(method.clone());
                }
            }
        }
        let order = |m: &Method| ORDER.iter().position(|o| o == m).unwrap_or(ORDER.len());
        methods.sort_by_key(order);
        (!methods.is_empty()).then_some(methods)
    }

    /// The `Allow` header's value for `path`'s methods.
    pub fn allow_header(methods: &[Method]) -> String {
        methods.iter().map(Method::as_str).collect::<Vec<_>>().join(", ")
    }
}

/// The `Allow` header's value for the request's path, when it is known:
/// the empty list when it takes no method at all.
pub fn allow_header(req: &HttpRequest) -> Option<String> {
    let table = req.app_data::<web::Data<MethodTable>>()?;
    Some(MethodTable::allow_header(&table.allowed(req.path()).unwrap_or_default()))
}

const ORDER: [Method; 6] =
    [Method::GET, Method::HEAD, Method::PUT, Method::POST, Method::DELETE, Method::PATCH];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_knows_every_documented_path() {
        let table = MethodTable::from_spec(&crate::openapi());
        assert_eq!(table.allowed("/api/v1/me"), Some(vec![Method::GET, Method::HEAD]));
        assert_eq!(
            table.allowed("/api/v1/projects/demo/policy"),
            Some(vec![Method::GET, Method::HEAD, Method::PUT])
        );
        // DELETE on a session answers (a 405 saying why), but is no method it takes.
        let id = "0194c1d2-7c1a-7e2b-9c55-3f1f6f3d2a10";
        assert_eq!(
            table.allowed(&format!("/api/v1/projects/demo/sessions/{id}")),
            Some(vec![Method::GET, Method::HEAD])
        );
        assert_eq!(
            table.allowed(&format!("/api/v1/projects/demo/sessions/{id}/recording/events")),
            Some(vec![Method::GET, Method::HEAD])
        );
        assert_eq!(
            table.allowed(&format!("/api/v1/projects/demo/sessions/{id}/recording/x")),
            None
        );
        assert_eq!(table.allowed("/api/v1/nothing"), None);
        assert_eq!(MethodTable::allow_header(&[Method::GET, Method::HEAD]), "GET, HEAD");
    }
}
