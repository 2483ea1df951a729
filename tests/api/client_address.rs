//! The client address behind a proxy (`TRUSTED_PROXIES`): which address the failure throttle
//! counts against and every security event names, on both front ends; and which refusals
//! spend from that address's budget (an aged but genuine token never does).

use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, new_user, now, request_id, sign_hs256, spawn_app_with, token_for};
use crate::jwks_support::{ATTACKER, ED25519, JwksServer};

/// The two ways in: a REST route and `POST /graphql`.
#[derive(Clone, Copy, Debug)]
enum FrontEnd {
    Rest,
    Graphql,
}

const FRONT_ENDS: [FrontEnd; 2] = [FrontEnd::Rest, FrontEnd::Graphql];

/// The user every request here speaks for (each test has a database of its own).
const USER: &str = "proxied-user";

/// Headers a proxy in front of the app would have added.
type Forwarding<'a> = &'a [(&'static str, &'a str)];

/// One request to `front_end` for [`USER`] with `token`, carrying `forwarding` headers.
async fn send(app: &TestApp, front_end: FrontEnd, token: &str, forwarding: Forwarding<'_>) -> Response {
    let mut request = match front_end {
        FrontEnd::Rest => app.request(Method::GET, &TestApp::tasks_path(USER)),
        FrontEnd::Graphql => app
            .request(Method::POST, "/graphql")
            .json(&json!({"query": "{ __typename }"})),
    };
    request = request.bearer_auth(token);
    for (name, value) in forwarding {
        request = request.header(*name, *value);
    }
    request.send().await.expect("request")
}

/// Asserts a 401 (with the front end's own refusal) and returns its one security event.
async fn assert_unauthenticated(app: &TestApp, front_end: FrontEnd, response: Response) -> Value {
    assert_eq!(response.status(), 401, "{front_end:?}");
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    let events = app.security_events(&request_id(&response));
    if let FrontEnd::Graphql = front_end {
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED",
            "{body}"
        );
    }
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "auth_failed");
    events[0].clone()
}

/// Asserts the throttle's 429 (with the front end's own refusal).
async fn assert_throttled(front_end: FrontEnd, response: Response) {
    assert_eq!(response.status(), 429, "{front_end:?}");
    assert!(response.headers().contains_key("retry-after"));
    if let FrontEnd::Graphql = front_end {
        let body: Value = response.json().await.expect("json");
        assert_eq!(
            body["errors"][0]["extensions"]["code"], "TOO_MANY_REQUESTS",
            "{body}"
        );
    }
}

/// An app behind a proxy at the tests' own address, 127.0.0.1, with a budget of `budget`
/// failures per client.
async fn spawn_behind_proxy(budget: u32) -> TestApp {
    spawn_app_with(|config| {
        config.trusted_proxies = "127.0.0.1".parse().expect("a valid list");
        config.auth_failures_per_minute = budget;
    })
    .await
}

fn forged_token() -> String {
    sign_hs256(
        &json!({"sub": USER, "exp": now() + 600}),
        "not-the-server-secret-0123456789abcdef",
    )
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_budget() {
    for front_end in FRONT_ENDS {
        let app = spawn_behind_proxy(2).await;
        let alice = [("x-forwarded-for", "203.0.113.7")];
        let bob = [("x-forwarded-for", "198.51.100.1")];
        for _ in 0..2 {
            let response = send(&app, front_end, &forged_token(), &alice).await;
            let event = assert_unauthenticated(&app, front_end, response).await;
            assert_eq!(event["reason"], "bad_signature");
            assert_eq!(
                event["client_ip"], "203.0.113.7",
                "the forwarded client, not the proxy"
            );
        }
        assert_throttled(front_end, send(&app, front_end, &forged_token(), &alice).await).await;
        // Alice cannot escape her budget by writing another address in front of her own.
        let spoofed = [("x-forwarded-for", "192.0.2.99, 203.0.113.7")];
        assert_throttled(front_end, send(&app, front_end, &forged_token(), &spoofed).await).await;
        // Bob, behind the same proxy, has not failed yet.
        let response = send(&app, front_end, &forged_token(), &bob).await;
        let event = assert_unauthenticated(&app, front_end, response).await;
        assert_eq!(event["client_ip"], "198.51.100.1");
    }
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_address_is_ignored() {
    for front_end in FRONT_ENDS {
        let app = spawn_app_with(|config| config.auth_failures_per_minute = 2).await;
        // A fresh address on every attempt would dodge the throttle, were it believed.
        for forged in ["203.0.113.1", "203.0.113.2"] {
            let forwarding = [("x-forwarded-for", forged), ("forwarded", "for=192.0.2.1")];
            let response = send(&app, front_end, &forged_token(), &forwarding).await;
            let event = assert_unauthenticated(&app, front_end, response).await;
            assert_eq!(event["client_ip"], "127.0.0.1", "the TCP peer");
        }
        let forwarding = [("x-forwarded-for", "203.0.113.3")];
        assert_throttled(
            front_end,
            send(&app, front_end, &forged_token(), &forwarding).await,
        )
        .await;
    }
}

#[tokio::test]
async fn a_proxy_that_writes_forwarded_names_the_client_in_ipv6() {
    for front_end in FRONT_ENDS {
        let app = spawn_behind_proxy(30).await;
        let forwarding = [("forwarded", r#"for="[2001:db8:cafe::17]:4711";proto=https"#)];
        let response = send(&app, front_end, &forged_token(), &forwarding).await;
        let event = assert_unauthenticated(&app, front_end, response).await;
        assert_eq!(event["client_ip"], "2001:db8:cafe::17");
        // What the proxy could not name leaves the proxy itself as the client.
        let forwarding = [("x-forwarded-for", "not-an-address")];
        let response = send(&app, front_end, &forged_token(), &forwarding).await;
        let event = assert_unauthenticated(&app, front_end, response).await;
        assert_eq!(event["client_ip"], "127.0.0.1");
    }
}

#[tokio::test]
async fn a_foreign_user_path_is_logged_with_the_forwarded_client() {
    let app = spawn_behind_proxy(30).await;
    let (alice, bob) = (new_user(), new_user());
    let response = app
        .as_user(&alice, Method::GET, &TestApp::tasks_path(&bob))
        .header("x-forwarded-for", "203.0.113.7")
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 403);
    let events = app.security_events(&request_id(&response));
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["event"], "access_denied");
    assert_eq!(events[0]["client_ip"], "203.0.113.7");
}

#[tokio::test]
async fn genuine_tokens_that_aged_are_401_past_the_budget_and_spend_none_of_it() {
    for front_end in FRONT_ENDS {
        let app = spawn_app_with(|config| config.auth_failures_per_minute = 2).await;
        let expired = sign_hs256(&json!({"sub": USER, "exp": now() - 120}), SECRET);
        let not_yet_valid = sign_hs256(
            &json!({"sub": USER, "exp": now() + 600, "nbf": now() + 300}),
            SECRET,
        );
        for _ in 0..5 {
            for (token, reason) in [(&expired, "expired"), (&not_yet_valid, "not_yet_valid")] {
                let response = send(&app, front_end, token, &[]).await;
                let event = assert_unauthenticated(&app, front_end, response).await;
                assert_eq!(event["reason"], reason);
            }
        }
        // The whole budget is still there for forgeries…
        for _ in 0..2 {
            let response = send(&app, front_end, &forged_token(), &[]).await;
            assert_unauthenticated(&app, front_end, response).await;
        }
        assert_throttled(front_end, send(&app, front_end, &forged_token(), &[]).await).await;
        // …and an address over it still tells an aged token to refresh.
        let response = send(&app, front_end, &expired, &[]).await;
        let event = assert_unauthenticated(&app, front_end, response).await;
        assert_eq!(event["reason"], "expired");
        assert_eq!(send(&app, front_end, &token_for(USER), &[]).await.status(), 200);
    }
}

#[tokio::test]
async fn forged_tokens_count_toward_the_budget_even_when_their_claims_look_expired() {
    for front_end in FRONT_ENDS {
        let app = spawn_app_with(|config| config.auth_failures_per_minute = 2).await;
        let forged_expired = sign_hs256(
            &json!({"sub": USER, "exp": now() - 120}),
            "not-the-server-secret-0123456789abcdef",
        );
        for _ in 0..2 {
            let response = send(&app, front_end, &forged_expired, &[]).await;
            let event = assert_unauthenticated(&app, front_end, response).await;
            assert_eq!(event["reason"], "bad_signature");
        }
        assert_throttled(front_end, send(&app, front_end, &forged_expired, &[]).await).await;
    }
}

#[tokio::test]
async fn jwks_tokens_that_aged_are_exempt_but_ones_signed_by_another_key_are_not() {
    let jwks = JwksServer::start(vec![ED25519.jwk("k1")]).await;
    let base_url = jwks.base_url.clone();
    let app = spawn_app_with(|config| {
        config.better_auth_secret = None;
        config.better_auth_url = Some(base_url.clone());
        config.auth_failures_per_minute = 2;
    })
    .await;
    let claims = |exp: i64| json!({"sub": USER, "iss": base_url, "aud": base_url, "exp": exp});
    // A genuine token first, so the key set is loaded before anything is counted.
    let genuine = ED25519.sign(Some("k1"), &claims(now() + 600));
    assert_eq!(send(&app, FrontEnd::Rest, &genuine, &[]).await.status(), 200);
    let expired = ED25519.sign(Some("k1"), &claims(now() - 120));
    let forged_expired = ATTACKER.sign(Some("k1"), &claims(now() - 120));
    for front_end in FRONT_ENDS {
        for _ in 0..3 {
            let response = send(&app, front_end, &expired, &[]).await;
            let event = assert_unauthenticated(&app, front_end, response).await;
            assert_eq!(event["reason"], "expired");
        }
    }
    for _ in 0..2 {
        let response = send(&app, FrontEnd::Rest, &forged_expired, &[]).await;
        let event = assert_unauthenticated(&app, FrontEnd::Rest, response).await;
        assert_eq!(event["reason"], "bad_signature");
    }
    for front_end in FRONT_ENDS {
        assert_throttled(front_end, send(&app, front_end, &forged_expired, &[]).await).await;
        assert_eq!(send(&app, front_end, &genuine, &[]).await.status(), 200);
    }
}
