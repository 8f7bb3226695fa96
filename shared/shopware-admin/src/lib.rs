//! The Shopware Admin API adapter behind `ShopwareAdminApi`.
//!
//! The shop created an integration for our app at registration and sent us its access key and
//! secret (the confirmation). With them we get a bearer token by OAuth client credentials
//! (`POST /api/oauth/token`, valid for `expires_in` seconds, 600 on Shopware 6.5/6.6) and search
//! entities (`POST /api/search/{entity}` with `Accept: application/json`, the simple JSON format
//! rather than JSON:API). Tokens are kept per shop and credentials for this process's lifetime (a
//! warm Lambda, the local runner) and fetched again when they expire or the shop refuses one.
//!
//! Credentials only go over HTTPS, except to a loopback host (a shop on the developer's machine).
//! The TLS client is built on first use, so a cold start that never calls a shop does not pay for
//! loading the system's root certificates.

mod url;

use async_trait::async_trait;
use bytes::Bytes;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::OnceCell;
use tokio::time::Instant;

use stammkunde_domain::error::ShopApiError;
use stammkunde_domain::ports::ShopwareAdminApi;
use stammkunde_domain::registration::ShopwareRegistration;

pub use url::AdminUrl;

/// How long one request to a shop may take, connection included. Shopware waits 20 s for our
/// answer to its webhook and we make two requests at most (token, search), plus one retry.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest answer we read. A search for 100 customers with two associations is a few hundred KB.
const RESPONSE_BYTES_MAX: usize = 8 * 1024 * 1024;

/// A token is used until this long before Shopware says it expires.
const TOKEN_EXPIRY_MARGIN: Duration = Duration::from_secs(30);

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

pub struct HttpShopwareAdmin {
    client: OnceCell<HttpsClient>,
    /// Bearer tokens by shop URL and access key, so changed credentials never reuse a token.
    tokens: Mutex<HashMap<(String, String), Token>>,
}

#[derive(Clone)]
struct Token {
    bearer: Arc<str>,
    valid_until: Instant,
}

impl Default for HttpShopwareAdmin {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpShopwareAdmin {
    pub fn new() -> Self {
        HttpShopwareAdmin { client: OnceCell::new(), tokens: Mutex::new(HashMap::new()) }
    }

    async fn client(&self) -> Result<&HttpsClient, ShopApiError> {
        self.client
            .get_or_try_init(|| async {
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                let connector = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_provider_and_native_roots(provider)
                    .map_err(|e| unreachable_because("no TLS root certificates", e))?
                    .https_or_http()
                    .enable_http1()
                    .build();
                Ok(Client::builder(TokioExecutor::new()).build(connector))
            })
            .await
    }

    fn cached_token(&self, key: &(String, String)) -> Option<Token> {
        let tokens = self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        tokens.get(key).filter(|t| t.valid_until > Instant::now()).cloned()
    }

    fn forget_token(&self, key: &(String, String)) {
        self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).remove(key);
    }

    async fn token(&self, url: &AdminUrl, key: &(String, String), secret_key: &str) -> Result<Token, ShopApiError> {
        if let Some(token) = self.cached_token(key) {
            return Ok(token);
        }
        let body = serde_json::json!({
            "grant_type": "client_credentials",
            "client_id": key.1,
            "client_secret": secret_key,
        });
        let (status, answer) = self.post(url.token(), None, &body).await?;
        if !status.is_success() {
            return Err(ShopApiError::Status { status: status.as_u16(), request: "the token request" });
        }
        let json: serde_json::Value = serde_json::from_slice(&answer).map_err(|e| bad("the token request", e))?;
        let bearer = json
            .get("access_token")
            .and_then(serde_json::Value::as_str)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| bad("the token request", "no access_token"))?;
        let lifetime = json.get("expires_in").and_then(serde_json::Value::as_u64).unwrap_or(0);
        let token = Token {
            bearer: Arc::from(bearer),
            valid_until: Instant::now() + Duration::from_secs(lifetime).saturating_sub(TOKEN_EXPIRY_MARGIN),
        };
        self.tokens.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).insert(key.clone(), token.clone());
        Ok(token)
    }

    /// One POST with a JSON body; the status and the (bounded) answer.
    async fn post(
        &self,
        uri: http::Uri,
        bearer: Option<&str>,
        body: &serde_json::Value,
    ) -> Result<(StatusCode, Bytes), ShopApiError> {
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(uri)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json");
        if let Some(bearer) = bearer {
            request = request.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
        }
        let request = request
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| ShopApiError::RefusedUrl(e.to_string()))?;
        let client = self.client().await?;
        let exchange = async {
            let response = client.request(request).await.map_err(|e| unreachable_because("request failed", e))?;
            let status = response.status();
            let answer = Limited::new(response.into_body(), RESPONSE_BYTES_MAX)
                .collect()
                .await
                .map_err(|e| ShopApiError::Unreachable {
                    message: "reading the answer failed".into(),
                    source: Some(e),
                })?
                .to_bytes();
            Ok((status, answer))
        };
        tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| ShopApiError::Unreachable { message: "timed out".into(), source: None })?
    }
}

#[async_trait]
impl ShopwareAdminApi for HttpShopwareAdmin {
    async fn search(
        &self,
        registration: &ShopwareRegistration,
        entity: &str,
        criteria: &serde_json::Value,
    ) -> Result<Vec<u8>, ShopApiError> {
        let (Some(api_key), Some(secret_key)) = (&registration.api_key, &registration.secret_key) else {
            return Err(ShopApiError::NoCredentials);
        };
        let url = AdminUrl::parse(&registration.shop_url)?;
        let search = url.search(entity)?;
        let key = (url.to_string(), api_key.expose().to_owned());
        // A token can be revoked before it expires (credentials regenerated in the shop): one
        // fresh token and one more try, then the shop's answer stands.
        for attempt in 0..2 {
            let token = self.token(&url, &key, secret_key.expose()).await?;
            let (status, answer) = self.post(search.clone(), Some(&token.bearer), criteria).await?;
            if status == StatusCode::UNAUTHORIZED && attempt == 0 {
                self.forget_token(&key);
                continue;
            }
            if !status.is_success() {
                return Err(ShopApiError::Status { status: status.as_u16(), request: "the search" });
            }
            tracing::debug!(shop = %registration.shop, entity, bytes = answer.len(), "admin api search");
            return Ok(answer.to_vec());
        }
        Err(ShopApiError::Status { status: StatusCode::UNAUTHORIZED.as_u16(), request: "the search" })
    }
}

fn unreachable_because(message: &str, source: impl std::error::Error + Send + Sync + 'static) -> ShopApiError {
    ShopApiError::Unreachable { message: message.to_owned(), source: Some(Box::new(source)) }
}

fn bad(request: &'static str, reason: impl std::fmt::Display) -> ShopApiError {
    ShopApiError::BadResponse { request, reason: reason.to_string() }
}
