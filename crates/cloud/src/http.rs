//! The HTTP routes (docs/SYNC.md sections 2-4): thin adapters that read the request, call
//! `batch`/`store`, and answer in Pitlane's envelope.

use std::collections::HashMap;
use std::io::Read;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::json;
use sqlx::PgPool;

use crate::batch::{self, Identity, MAX_BYTES};
use crate::error::{ok, CloudError};
use crate::store;

/// The routes over one pool.
pub fn router(pool: PgPool) -> Router {
    Router::new()
        .route("/v1/events", post(post_events).get(get_events))
        .route("/v1/devices", get(get_devices))
        .route("/health", get(health))
        .with_state(pool)
}

async fn who(pool: &PgPool, headers: &HeaderMap) -> Result<Identity, CloudError> {
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let token = crate::token::bearer(value).ok_or(CloudError::Unauthorized)?;
    store::identity(pool, token).await
}

async fn post_events(State(pool): State<PgPool>, headers: HeaderMap, body: Body) -> Result<Response, CloudError> {
    let who = who(&pool, &headers).await?;
    let body = read_body(&headers, body).await?;
    let batch = batch::read(&body, &who)?;
    let answer = store::ingest(&pool, &who, &batch).await?;
    tracing::info!(
        device_id = %who.device_id,
        accepted = answer.accepted.len(),
        duplicates = answer.duplicates.len(),
        holes = answer.holes.len(),
        device_last_seq = answer.device_last_seq,
        "batch stored"
    );
    Ok(ok(json!(answer)))
}

/// The body, gunzipped when `Content-Encoding: gzip`, refused past 16 MiB either way.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, CloudError> {
    let too_large = || CloudError::BatchTooLarge { limit: format!("{MAX_BYTES} bytes") };
    let read = |limit: usize, body: Body| async move {
        axum::body::to_bytes(body, limit).await.map_err(|e| {
            let over = std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>())
                || e.to_string().contains("length limit");
            if over {
                too_large()
            } else {
                CloudError::BadRequest { message: "the body could not be read".into(), field: None }
            }
        })
    };
    let encoding = headers.get(header::CONTENT_ENCODING).and_then(|v| v.to_str().ok()).unwrap_or("identity");
    match encoding.trim().to_ascii_lowercase().as_str() {
        "identity" | "" => read(MAX_BYTES, body).await,
        "gzip" => {
            let compressed = read(MAX_BYTES, body).await?;
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(&compressed[..])
                .take(MAX_BYTES as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|_| CloudError::BadRequest { message: "the body is not valid gzip".into(), field: None })?;
            if out.len() > MAX_BYTES {
                return Err(too_large());
            }
            Ok(Bytes::from(out))
        }
        _ => Err(CloudError::BadRequest {
            message: "Content-Encoding must be gzip or none".into(),
            field: Some("Content-Encoding".into()),
        }),
    }
}

async fn get_events(
    State(pool): State<PgPool>,
    headers: HeaderMap,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, CloudError> {
    let who = who(&pool, &headers).await?;
    let number = |field: &'static str, default: i64, min: i64, max: i64| -> Result<i64, CloudError> {
        match params.get(field) {
            None => Ok(default),
            Some(v) => match v.parse::<i64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ => Err(CloudError::InvalidQuery {
                    field,
                    problem: format!("must be a whole number from {min} to {max}"),
                }),
            },
        }
    };
    let after = number("after", 0, 0, i64::MAX)?;
    let limit = number("limit", 100, 1, 1000)?;
    Ok(ok(store::events_after(&pool, &who.tenant_id, after, limit).await?))
}

async fn get_devices(State(pool): State<PgPool>, headers: HeaderMap) -> Result<Response, CloudError> {
    let who = who(&pool, &headers).await?;
    Ok(ok(json!({ "devices": store::devices(&pool, Some(&who.tenant_id)).await? })))
}

async fn health(State(pool): State<PgPool>) -> Response {
    match sqlx::query("SELECT 1").execute(&pool).await {
        Ok(_) => ok(json!({ "database": "up" })),
        Err(e) => CloudError::Unavailable(e).into_response(),
    }
}
