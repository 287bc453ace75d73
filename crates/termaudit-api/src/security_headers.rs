//! Headers every response carries, so that a script injected into the web
//! app cannot run or send its bearer token (kept in `localStorage`) away, and
//! no other site can frame the revoke and policy pages.
//!
//! The policy allows what the web app and the bundled Swagger UI use: their
//! own scripts (no inline script; WebAssembly compiled by the page), inline
//! styles (Yew and Swagger UI set `style` attributes), `data:` images, and
//! requests to the server itself (the API; the gateway's WebSockets, which
//! `'self'` covers). An identity provider the app signs in through adds its
//! origin to `connect-src` (token and user-info requests) and `form-action`.
//! Headers a handler set already (the export's `nosniff`) are kept.

use actix_web::{
    http::header::{HeaderName, HeaderValue},
    middleware::DefaultHeaders,
};

/// The security headers of this server, built once from its configuration.
#[derive(Debug, Clone)]
pub struct SecurityHeaders {
    content_security_policy: HeaderValue,
}

#[derive(Debug, thiserror::Error)]
#[error(
    "the identity provider's origin must be `https://host` or `http://host:port`, without a path: {0:?}"
)]
pub struct InvalidOrigin(String);

impl SecurityHeaders {
    /// The headers for a server whose web app may sign in through the
    /// identity provider at `identity_provider_origin` (`https://login.example.com`).
    pub fn new(identity_provider_origin: Option<&str>) -> Result<Self, InvalidOrigin> {
        let extra = match identity_provider_origin {
            Some(origin) => format!(" {}", parse_origin(origin)?),
            None => String::new(),
        };
        let policy = format!(
            "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; \
             style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
             connect-src 'self'{extra}; form-action 'self'{extra}; \
             object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
        );
        let content_security_policy =
            HeaderValue::from_str(&policy).map_err(|_| InvalidOrigin(policy.clone()))?;
        Ok(Self { content_security_policy })
    }

    /// The middleware that adds the headers a response does not have yet.
    pub fn middleware(&self) -> DefaultHeaders {
        DefaultHeaders::new()
            .add((
                HeaderName::from_static("content-security-policy"),
                self.content_security_policy.clone(),
            ))
            // For browsers older than CSP's frame-ancestors.
            .add((HeaderName::from_static("x-frame-options"), HeaderValue::from_static("DENY")))
            .add((
                HeaderName::from_static("x-content-type-options"),
                HeaderValue::from_static("nosniff"),
            ))
            .add((
                HeaderName::from_static("referrer-policy"),
                HeaderValue::from_static("no-referrer"),
            ))
    }
}

impl Default for SecurityHeaders {
    /// Without an identity provider.
    fn default() -> Self {
        Self::new(None).unwrap_or_else(|_| unreachable!("the fixed policy is a valid header"))
    }
}

/// `scheme://host[:port]`, http or https, nothing else (a path or a quote
/// would change the policy's meaning).
fn parse_origin(origin: &str) -> Result<&str, InvalidOrigin> {
    let invalid = || InvalidOrigin(origin.to_owned());
    let authority = origin
        .strip_prefix("https://")
        .or_else(|| origin.strip_prefix("http://"))
        .ok_or_else(invalid)?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && !host.starts_with(['.', '-'])
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-".contains(&b));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok());
    if host_ok && port_ok { Ok(origin) } else { Err(invalid()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        for good in ["https://login.example.com", "http://127.0.0.1:8081", "https://idp:443"] {
            assert_eq!(parse_origin(good).ok(), Some(good), "{good}");
        }
        for bad in [
            "login.example.com",
            "ftp://login.example.com",
            "https://login.example.com/",
            "https://login.example.com/realms/x",
            "https://",
            "https://a.example; script-src *",
            "https://a.example 'unsafe-inline'",
            "https://a.example:",
            "https://a.example:99999",
            "https://*.example.com",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_identity_provider_joins_connect_src_and_form_action_only() {
        let headers = SecurityHeaders::new(Some("https://login.example.com")).expect("valid");
        let policy = headers.content_security_policy.to_str().expect("ASCII");
        assert!(policy.contains("connect-src 'self' https://login.example.com;"), "{policy}");
        assert!(policy.contains("form-action 'self' https://login.example.com;"), "{policy}");
        assert!(policy.contains("script-src 'self' 'wasm-unsafe-eval';"), "{policy}");
        let plain = SecurityHeaders::default();
        assert!(!plain.content_security_policy.to_str().expect("ASCII").contains("example"));
    }
}
