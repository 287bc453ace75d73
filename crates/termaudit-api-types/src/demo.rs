//! Demo sign-in: offered only when the server runs with demo data.

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use utoipa::ToSchema;

/// A demo user one may sign in as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DemoUser {
    #[cfg_attr(feature = "openapi", schema(example = "carol"))]
    pub subject: String,
    #[cfg_attr(feature = "openapi", schema(example = "Carol Reyes"))]
    pub name: String,
    /// What this user can do, for the sign-in page.
    #[cfg_attr(
        feature = "openapi",
        schema(example = "Policy manager: revokes sessions, sets retention and legal holds")
    )]
    pub role: String,
    /// The permissions their token grants in the `demo` project.
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DemoUserList {
    pub items: Vec<DemoUser>,
}

/// Sign in as a demo user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
#[cfg_attr(feature = "openapi", schema(example = json!({"subject": "carol"})))]
pub struct DemoSignIn {
    pub subject: String,
}

/// A bearer token for a demo user (valid 12 hours).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(ToSchema))]
pub struct DemoToken {
    pub token: String,
    pub user: DemoUser,
}
