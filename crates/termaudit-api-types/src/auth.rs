//! How one signs in: what `GET /api/v1/auth/config` tells the web app.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A way of signing in the server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SignInMethod {
    /// Pasting a token (`termaudit token`, or one from the identity provider).
    Token,
    /// Picking a demo user (demo mode only).
    Demo,
    /// The organisation's OpenID Connect provider (authorization code flow with PKCE).
    Oidc,
}

/// The OpenID Connect provider to sign in through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct OidcSignIn {
    /// The issuer; its discovery document is at `{issuer}/.well-known/openid-configuration`.
    #[cfg_attr(feature = "openapi", schema(example = "https://login.example.com/realms/ops"))]
    pub issuer: String,
    /// The web app's public client at the provider.
    #[cfg_attr(feature = "openapi", schema(example = "termaudit"))]
    pub client_id: String,
    /// The scopes to ask for, space-separated.
    #[cfg_attr(feature = "openapi", schema(example = "openid profile email groups"))]
    pub scopes: String,
}

/// The sign-in methods the server offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct SignInConfig {
    pub methods: Vec<SignInMethod>,
    /// Present when `oidc` is among the methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<OidcSignIn>,
}
