//! An in-process JWKS server on loopback that tests control, and signers for the fixture keys.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// A fixture key pair: its private PEM and its public JWK parameters.
#[derive(Clone, Copy)]
pub struct FixtureKey {
    pub name: &'static str,
    pub algorithm: Algorithm,
    private_pem: &'static [u8],
}

pub const ED25519: FixtureKey = FixtureKey {
    name: "ed25519",
    algorithm: Algorithm::EdDSA,
    private_pem: include_bytes!("../fixtures/keys/ed25519.pem"),
};
pub const ED25519_ROTATED: FixtureKey = FixtureKey {
    name: "ed25519-rotated",
    algorithm: Algorithm::EdDSA,
    private_pem: include_bytes!("../fixtures/keys/ed25519-rotated.pem"),
};
pub const ES256: FixtureKey = FixtureKey {
    name: "es256",
    algorithm: Algorithm::ES256,
    private_pem: include_bytes!("../fixtures/keys/es256.pem"),
};
pub const RS256: FixtureKey = FixtureKey {
    name: "rs256",
    algorithm: Algorithm::RS256,
    private_pem: include_bytes!("../fixtures/keys/rs256.pem"),
};
pub const ATTACKER: FixtureKey = FixtureKey {
    name: "attacker-ed25519",
    algorithm: Algorithm::EdDSA,
    private_pem: include_bytes!("../fixtures/keys/attacker-ed25519.pem"),
};

impl FixtureKey {
    /// The public JWK, as a JWKS would publish it.
    pub fn jwk(&self, kid: &str) -> Value {
        let all: Value =
            serde_json::from_str(include_str!("../fixtures/keys/public-jwks.json")).expect("fixture JWKs");
        let mut jwk = all[self.name].clone();
        jwk["kid"] = kid.into();
        jwk
    }

    fn encoding_key(&self) -> EncodingKey {
        match self.algorithm {
            Algorithm::EdDSA => EncodingKey::from_ed_pem(self.private_pem),
            Algorithm::ES256 => EncodingKey::from_ec_pem(self.private_pem),
            _ => EncodingKey::from_rsa_pem(self.private_pem),
        }
        .expect("fixture key")
    }

    /// Signs `claims` with this key, with `kid` in the header.
    pub fn sign(&self, kid: Option<&str>, claims: &Value) -> String {
        let mut header = Header::new(self.algorithm);
        header.kid = kid.map(str::to_owned);
        self.sign_with_header(header, claims)
    }

    pub fn sign_with_header(&self, header: Header, claims: &Value) -> String {
        jsonwebtoken::encode(&header, claims, &self.encoding_key()).expect("sign")
    }
}

#[derive(Default)]
struct JwksState {
    keys: Mutex<Vec<Value>>,
    fetches: AtomicUsize,
    down: AtomicBool,
}

/// A JWKS endpoint at `{base_url}/api/auth/jwks`, like Better Auth's.
#[derive(Clone)]
pub struct JwksServer {
    pub base_url: String,
    state: Arc<JwksState>,
}

impl JwksServer {
    pub async fn start(keys: Vec<Value>) -> Self {
        let state = Arc::new(JwksState {
            keys: Mutex::new(keys),
            ..JwksState::default()
        });
        let router = Router::new()
            .route("/api/auth/jwks", get(serve_jwks))
            .fallback(count_stray)
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind");
        let base_url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { base_url, state }
    }

    /// Requests received so far (to the JWKS path or any other).
    pub fn fetches(&self) -> usize {
        self.state.fetches.load(Ordering::SeqCst)
    }

    pub fn publish(&self, keys: Vec<Value>) {
        *self.state.keys.lock().expect("keys") = keys;
    }

    /// While down, every request gets a 503.
    pub fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }
}

async fn serve_jwks(State(state): State<Arc<JwksState>>) -> Response {
    state.fetches.fetch_add(1, Ordering::SeqCst);
    if state.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    }
    let keys = state.keys.lock().expect("keys").clone();
    axum::Json(json!({ "keys": keys })).into_response()
}

async fn count_stray(State(state): State<Arc<JwksState>>) -> StatusCode {
    state.fetches.fetch_add(1, Ordering::SeqCst);
    StatusCode::NOT_FOUND
}
