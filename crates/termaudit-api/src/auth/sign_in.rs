//! `GET /api/v1/auth/config`: the sign-in methods the server offers, read
//! by the web app before anyone is signed in.

use actix_web::{get, web};
use termaudit_api_types as dto;

use crate::AppState;

/// The sign-in methods this server offers (no token needed).
#[utoipa::path(
    tag = "auth",
    responses(
        (status = 200, description = "The sign-in methods, with the OpenID provider when one is configured", body = dto::SignInConfig),
    )
)]
#[get("/auth/config")]
pub async fn config(state: web::Data<AppState>) -> web::Json<dto::SignInConfig> {
    let mut methods = vec![dto::SignInMethod::Token];
    if state.demo.is_some() {
        methods.push(dto::SignInMethod::Demo);
    }
    let oidc = state.authenticator.oidc().map(|oidc| {
        let config = oidc.config();
        dto::OidcSignIn {
            issuer: config.issuer.clone(),
            client_id: config.client_id.clone(),
            scopes: config.scopes.clone(),
        }
    });
    if oidc.is_some() {
        methods.push(dto::SignInMethod::Oidc);
    }
    web::Json(dto::SignInConfig { methods, oidc })
}
