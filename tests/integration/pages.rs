//! The browser pages (`GET /docs`, `GET /`) and their assets, as a browser
//! sees them over HTTP: content types, the Content-Security-Policy, metrics,
//! API keys, and the OpenAPI document's examples (which "Try it out" sends).
//! `tests/browser/` drives the same pages in a real Chromium.

use crate::common::gateway;

use gateway::*;

async fn get(gw: &Gateway, path: &str) -> reqwest::Response {
    gw.http.get(gw.url(path)).send().await.unwrap()
}

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

#[tokio::test]
async fn pages_are_html_with_a_self_only_policy() {
    let gw = start().await;
    for (path, script) in [("/", "assets/playground.js"), ("/docs", "assets/docs.js")] {
        let page = get(&gw, path).await;
        assert_eq!(page.status(), 200, "{path}");
        assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
        let csp = header(&page, "content-security-policy").to_owned();
        assert!(
            csp.starts_with("default-src 'self'; img-src 'self'"),
            "{csp}"
        );
        assert!(!csp.contains("unsafe"), "{csp}");
        let html = page.text().await.unwrap();
        assert!(html.contains(&format!("<script src=\"{script}\"></script>")));
    }
}

#[tokio::test]
async fn the_scripts_and_styles_the_pages_name_are_served() {
    let gw = start().await;
    for (page, assets) in [
        ("/", &["assets/playground.css", "assets/playground.js"][..]),
        (
            "/docs",
            &[
                "assets/swagger-ui.css",
                "assets/docs.css",
                "assets/swagger-ui-bundle.js",
                "assets/docs.js",
            ][..],
        ),
    ] {
        let html = get(&gw, page).await.text().await.unwrap();
        for asset in assets {
            assert!(
                html.contains(&format!("\"{asset}\"")),
                "{page} names {asset}"
            );
            let answer = get(&gw, &format!("/{asset}")).await;
            assert_eq!(answer.status(), 200, "{asset}");
            let expected = if asset.ends_with(".js") {
                "text/javascript; charset=utf-8"
            } else {
                "text/css; charset=utf-8"
            };
            assert_eq!(header(&answer, "content-type"), expected, "{asset}");
            assert!(answer.bytes().await.unwrap().len() > 100, "{asset}");
        }
    }
    let missing = get(&gw, "/assets/swagger-ui-bundle.js.map").await;
    assert_eq!(json(missing, 404).await["code"], "NOT_FOUND");
}

#[tokio::test]
async fn the_seed_post_to_the_root_is_unchanged_beside_the_page() {
    let gw = start().await;
    let seed = gw
        .http
        .post(gw.url("/"))
        .multipart(reqwest::multipart::Form::new().text("id", "1"))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&seed, "input-error"), "No input file received");
    assert_eq!(seed.status(), 400);
    let put = gw.http.put(gw.url("/")).send().await.unwrap();
    json(put, 405).await;
}

#[tokio::test]
async fn pages_and_assets_are_counted_in_metrics() {
    let gw = start().await;
    get(&gw, "/").await;
    get(&gw, "/docs").await;
    get(&gw, "/docs").await;
    get(&gw, "/assets/docs.js").await;
    get(&gw, "/assets/nothing.js").await;
    let text = get(&gw, "/metrics").await.text().await.unwrap();
    for line in [
        r#"tensorwire_http_requests_total{method="GET",route="/",status="200"} 1"#,
        r#"tensorwire_http_requests_total{method="GET",route="/docs",status="200"} 2"#,
        r#"tensorwire_http_requests_total{method="GET",route="/assets/{name}",status="200"} 1"#,
        r#"tensorwire_http_requests_total{method="GET",route="/assets/{name}",status="404"} 1"#,
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
}

#[tokio::test]
async fn with_api_keys_the_pages_are_open_and_the_routes_they_call_are_not() {
    let gw = start_with(|config| config.auth.api_keys = vec!["s3cret".into()]).await;
    for path in [
        "/",
        "/docs",
        "/assets/playground.js",
        "/assets/swagger-ui-bundle.js",
        "/openapi.json",
        "/healthz",
    ] {
        assert_eq!(get(&gw, path).await.status(), 200, "{path}");
    }
    let html = get(&gw, "/").await.text().await.unwrap();
    assert!(html.contains("data-api-keys=\"required\""));
    let body = npy(&counting_i32(&[2, 2]));
    let refused = gw
        .http
        .post(gw.url("/v1/describe"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    json(refused, 401).await;
    // The playground sends the key as X-API-Key.
    let answered = gw
        .http
        .post(gw.url("/v1/describe"))
        .header("x-api-key", "s3cret")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(answered, 200).await["shape"],
        serde_json::json!([2, 2])
    );
    let seed = gw.http.post(gw.url("/")).send().await.unwrap();
    json(seed, 401).await;
    let no_key = start().await;
    let html = get(&no_key, "/").await.text().await.unwrap();
    assert!(html.contains("data-api-keys=\"off\""));
}

/// "Try it out" sends a JSON body's example as it is: each must be one the
/// route accepts.
#[tokio::test]
async fn every_json_example_in_the_document_is_accepted() {
    let gw = start().await;
    let doc = json(get(&gw, "/openapi.json").await, 200).await;
    let mut sent = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let example = &operation["requestBody"]["content"]["application/json"]["example"];
            if example.is_null() {
                continue;
            }
            assert_eq!(method, "post");
            let answer = gw
                .http
                .post(gw.url(path))
                .json(example)
                .send()
                .await
                .unwrap();
            let reply = json(answer, 200).await;
            assert!(reply["shape"].is_array(), "{path}: {reply}");
            sent += 1;
        }
    }
    assert_eq!(sent, 3, "the seed's JSON routes carry examples");
}
