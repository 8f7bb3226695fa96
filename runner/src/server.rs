//! One HTTP port for every function: the same routes as the HTTP API on AWS.

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::extract::{ConnectInfo, Path};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::Router;
use bytes::Bytes;
use http::{Request, StatusCode};
use std::net::SocketAddr;
use std::sync::Arc;

use stammkunde_api::ApiService;
use stammkunde_http::{ClientIp, Reply};
use stammkunde_preferences::PreferencesService;
use stammkunde_webhooks::{WebhookService, BODY_BYTES_MAX};

pub struct Functions {
    pub webhooks: WebhookService,
    pub api: ApiService,
    pub preferences: PreferencesService,
    pub sweeps: crate::sweeps::Sweeps,
    pub outbox: Arc<stammkunde_local::OutboxMailer>,
    /// SES's bounce and complaint events, posted by hand.
    pub ses_events: crate::ses_events::SesEvents,
}

pub fn router(functions: Arc<Functions>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/webhooks/{*rest}", any(webhooks))
        .route("/api/{*rest}", any(api))
        .route("/u/{token}", any(preferences))
        .route("/p/{token}", any(preferences))
        .route("/c/{token}", any(preferences))
        .route("/d/{token}", any(preferences))
        .route("/x/{token}", any(preferences))
        .route("/l", any(preferences))
        .route("/l/{shop}", any(preferences))
        // Local only: what the schedules do on AWS, on demand.
        .route("/dev/sweeps/{sweep}", post(sweep))
        .route("/dev/outbox", get(outbox_list))
        .route("/dev/outbox/{name}", get(outbox_mail))
        // What SES publishes to EventBridge for a bounce or complaint, to simulate one.
        .route("/dev/ses-events", post(ses_events))
        .fallback(|| async {
            to_axum(Reply::error(StatusCode::NOT_FOUND, "not_found", "no such route").into_response())
        })
        .with_state(functions)
}

async fn webhooks(State(functions): State<Arc<Functions>>, request: Request<Body>) -> Response {
    match buffered(request).await {
        Ok(request) => to_axum(functions.webhooks.handle(request).await),
        Err(response) => response,
    }
}

async fn api(State(functions): State<Arc<Functions>>, request: Request<Body>) -> Response {
    match buffered(request).await {
        Ok(request) => to_axum(functions.api.handle(request).await),
        Err(response) => response,
    }
}

async fn preferences(State(functions): State<Arc<Functions>>, request: Request<Body>) -> Response {
    match buffered(request).await {
        Ok(request) => to_axum(functions.preferences.handle(request).await),
        Err(response) => response,
    }
}

async fn sweep(State(functions): State<Arc<Functions>>, Path(sweep): Path<String>) -> Response {
    to_axum(functions.sweeps.run(&sweep).await.into_response())
}

async fn ses_events(State(functions): State<Arc<Functions>>, request: Request<Body>) -> Response {
    match buffered(request).await {
        Ok(request) => to_axum(functions.ses_events.handle(request).await.into_response()),
        Err(response) => response,
    }
}

async fn outbox_list(State(functions): State<Arc<Functions>>) -> Response {
    crate::outbox_pages::list(&functions.outbox)
}

async fn outbox_mail(State(functions): State<Arc<Functions>>, Path(name): Path<String>) -> Response {
    crate::outbox_pages::read(&functions.outbox, &name)
}

/// Reads the body, at most one byte past the limit so the handler can still answer 413 itself.
/// The body read whole (bounded), and the peer's address as `ClientIp`, as `from_lambda` gives
/// API Gateway's source address to the same handlers.
async fn buffered(request: Request<Body>) -> Result<Request<Bytes>, Response> {
    let (mut parts, body) = request.into_parts();
    if let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>().copied() {
        parts.extensions.insert(ClientIp(peer.ip()));
    }
    match to_bytes(body, BODY_BYTES_MAX + 1).await {
        Ok(bytes) => Ok(Request::from_parts(parts, bytes)),
        Err(_) => Err(to_axum(
            Reply::error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("body exceeds {BODY_BYTES_MAX} bytes"),
            )
            .into_response(),
        )),
    }
}

fn to_axum(response: http::Response<String>) -> Response {
    let (parts, body) = response.into_parts();
    (parts.status, parts.headers, body).into_response()
}
