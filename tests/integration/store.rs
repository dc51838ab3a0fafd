//! The tensor store over gRPC, through the Rust client: put, get, stat,
//! list, delete; operations on stored tensors, results kept or sent; the
//! owner, limit, expiry and restart rules.

use crate::common;

use std::time::Duration;

use tensorwire::client::{Client, ClientError, ClientOptions, Reason};
use tensorwire::config::ServeConfig;
use tensorwire::proto::pb;
use tensorwire::tensor::Tensor;
use tonic::Code;
use tonic_types::StatusExt;

async fn client(server: &common::TestServer, key: Option<&str>) -> Client {
    let options = ClientOptions {
        api_key: key.map(str::to_owned),
        ..ClientOptions::default()
    };
    Client::connect_with(&format!("http://{}", server.grpc_addr), options)
        .await
        .unwrap()
}

fn gaussian(sigma: f64) -> pb::OpParams {
    pb::OpParams {
        op: Some(pb::op_params::Op::GaussianFilter(pb::GaussianParams {
            sigma: vec![sigma],
            ..Default::default()
        })),
    }
}

fn gradient_magnitude(sigma: f64) -> pb::OpParams {
    pb::OpParams {
        op: Some(pb::op_params::Op::GaussianGradientMagnitude(
            pb::GaussianDerivativeSumParams {
                sigma: vec![sigma],
                ..Default::default()
            },
        )),
    }
}

/// The refusal's code and `ErrorInfo` reason.
fn refusal(err: &ClientError) -> (Code, Option<Reason>) {
    (err.status().map_or(Code::Ok, |s| s.code()), err.reason())
}

#[tokio::test]
async fn a_stored_tensor_comes_back_as_it_went_and_is_gone_once_deleted() {
    let server = common::start_server().await;
    let mut c = client(&server, None).await;
    let tensor = common::gateway::varied_f64(&[3, 50, 7]);
    let stored = c.put(&tensor).await.unwrap();
    assert_eq!(stored.id.len(), 32, "{stored:?}");
    assert_eq!(stored.shape, vec![3, 50, 7]);
    assert_eq!(stored.nbytes, tensor.nbytes() as u64);
    assert_eq!(stored.expires_in_ms, 600_000);
    assert_eq!(c.get(&stored.id).await.unwrap(), tensor);
    assert_eq!(c.stat(&stored.id).await.unwrap().nbytes, stored.nbytes);
    let listed = c.list().await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.id.as_str()).collect::<Vec<_>>(),
        [stored.id.as_str()]
    );
    let described = c.describe_stored(&stored.id).await.unwrap();
    assert_eq!(described, c.describe(&tensor).await.unwrap());

    c.delete(&stored.id).await.unwrap();
    let err = c.get(&stored.id).await.unwrap_err();
    assert_eq!(refusal(&err), (Code::NotFound, Some(Reason::NotFound)));
    assert!(err.to_string().contains(&stored.id), "{err}");
    let resource = err.status().unwrap().get_details_resource_info().unwrap();
    assert_eq!(resource.resource_name, stored.id);
    for err in [
        c.stat(&stored.id).await.unwrap_err(),
        c.delete(&stored.id).await.unwrap_err(),
        c.apply_stored(&stored.id, &gaussian(1.0))
            .await
            .unwrap_err(),
        c.apply_keep(&stored.id, &gaussian(1.0)).await.unwrap_err(),
        c.describe_stored("not-an-id").await.unwrap_err(),
    ] {
        assert_eq!(refusal(&err), (Code::NotFound, Some(Reason::NotFound)));
    }
    assert!(c.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn operations_on_stored_tensors_equal_the_same_operations_on_uploads() {
    let server = common::start_server().await;
    let mut c = client(&server, None).await;
    let tensor = common::gateway::varied_f64(&[40, 33]);
    let stored = c.put(&tensor).await.unwrap();
    for sigma in [0.7, 2.0, 5.5] {
        let uploaded = c.apply(&tensor, &gaussian(sigma)).await.unwrap();
        let from_store = c.apply_stored(&stored.id, &gaussian(sigma)).await.unwrap();
        assert_eq!(from_store, uploaded, "sigma {sigma}");
    }
    // A pipeline on the server: blur, then gradient magnitude, then
    // describe; only the summary travels back.
    let blurred = c.apply_keep(&stored.id, &gaussian(2.0)).await.unwrap();
    let edges = c
        .apply_keep(&blurred.id, &gradient_magnitude(1.0))
        .await
        .unwrap();
    let summary = c.describe_stored(&edges.id).await.unwrap();
    let local = c.apply(&tensor, &gaussian(2.0)).await.unwrap();
    let local = c.apply(&local, &gradient_magnitude(1.0)).await.unwrap();
    assert_eq!(c.get(&edges.id).await.unwrap(), local);
    assert_eq!(summary, c.describe(&local).await.unwrap());
    assert_eq!(c.list().await.unwrap().len(), 3);
    // Refusals of the operation are the usual ones, and store nothing.
    let bad = pb::OpParams {
        op: Some(pb::op_params::Op::GaussianFilter(
            pb::GaussianParams::default(),
        )),
    };
    let err = c.apply_keep(&stored.id, &bad).await.unwrap_err();
    assert_eq!(
        refusal(&err),
        (Code::InvalidArgument, Some(Reason::BadArgument))
    );
    assert_eq!(c.list().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_request_with_both_a_tensor_and_an_input_id_is_refused() {
    let server = common::start_server().await;
    let mut raw = server.client().await;
    let tensor = common::gateway::varied_f64(&[4, 4]);
    let request = pb::ApplyRequest {
        tensor: Some(tensorwire::proto::tensor_to_wire(tensor)),
        params: Some(gaussian(1.0)),
        input_id: "0123".into(),
    };
    let status = raw.apply(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let field = &status.get_details_bad_request().unwrap().field_violations[0];
    assert_eq!(field.field, "input_id");
    let status = raw
        .apply(pb::ApplyRequest {
            tensor: None,
            params: Some(gaussian(1.0)),
            input_id: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn stored_tensors_belong_to_the_key_that_stored_them() {
    let mut config = ServeConfig::ephemeral();
    config.auth.api_keys = vec!["alice".into(), "bob".into()];
    let server = common::start_server_with(config).await;
    let mut alice = client(&server, Some("alice")).await;
    let mut bob = client(&server, Some("bob")).await;
    let tensor = common::gateway::varied_f64(&[5, 5]);
    let stored = alice.put(&tensor).await.unwrap();
    for err in [
        bob.get(&stored.id).await.unwrap_err(),
        bob.stat(&stored.id).await.unwrap_err(),
        bob.delete(&stored.id).await.unwrap_err(),
        bob.apply_stored(&stored.id, &gaussian(1.0))
            .await
            .unwrap_err(),
        bob.apply_keep(&stored.id, &gaussian(1.0))
            .await
            .unwrap_err(),
    ] {
        assert_eq!(refusal(&err), (Code::NotFound, Some(Reason::NotFound)));
    }
    assert!(bob.list().await.unwrap().is_empty());
    assert_eq!(alice.get(&stored.id).await.unwrap(), tensor);
    assert_eq!(alice.list().await.unwrap().len(), 1);
    // Without a key, nothing at all.
    let mut anonymous = client(&server, None).await;
    let err = anonymous.get(&stored.id).await.unwrap_err();
    assert_eq!(err.status().unwrap().code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_full_store_refuses_puts_naming_the_flag_and_evicts_nothing() {
    let mut config = ServeConfig::ephemeral();
    config.limits.store_bytes = 1000;
    config.limits.store_bytes_per_key = 600;
    config.limits.store_max_tensors = 3;
    let server = common::start_server_with(config).await;
    let mut c = client(&server, None).await;
    let small = common::gateway::varied_f64(&[50]); // 400 bytes
    let first = c.put(&small).await.unwrap();
    let quota = |err: &ClientError| {
        let status = err.status().unwrap();
        (
            status.code(),
            status.get_details_quota_failure().unwrap().violations[0]
                .subject
                .clone(),
        )
    };
    let err = c.put(&small).await.unwrap_err();
    assert_eq!(
        quota(&err),
        (Code::ResourceExhausted, "--store-bytes-per-key".into())
    );
    // A kept result needs room too: refused before the engine runs.
    let err = c.apply_keep(&first.id, &gaussian(1.0)).await.unwrap_err();
    assert_eq!(
        quota(&err),
        (Code::ResourceExhausted, "--store-bytes-per-key".into())
    );
    assert_eq!(c.get(&first.id).await.unwrap(), small);
    assert_eq!(c.list().await.unwrap().len(), 1);
    c.delete(&first.id).await.unwrap();
    c.put(&small).await.unwrap();
}

#[tokio::test]
async fn an_unused_tensor_expires_and_each_use_restarts_its_clock() {
    let mut config = ServeConfig::ephemeral();
    config.limits.store_ttl_secs = 2;
    let server = common::start_server_with(config).await;
    let mut c = client(&server, None).await;
    let tensor = common::gateway::varied_f64(&[8]);
    let used = c.put(&tensor).await.unwrap();
    let unused = c.put(&tensor).await.unwrap();
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        c.stat(&used.id).await.unwrap();
    }
    assert_eq!(c.get(&used.id).await.unwrap(), tensor);
    let err = c.get(&unused.id).await.unwrap_err();
    assert_eq!(refusal(&err), (Code::NotFound, Some(Reason::NotFound)));
}

#[tokio::test]
async fn the_store_does_not_outlive_the_server() {
    let server = common::start_server().await;
    let mut c = client(&server, None).await;
    let stored = c.put(&common::gateway::varied_f64(&[8])).await.unwrap();
    server.stop().await;
    let server = common::start_server().await;
    let mut c = client(&server, None).await;
    let err = c.get(&stored.id).await.unwrap_err();
    assert_eq!(refusal(&err), (Code::NotFound, Some(Reason::NotFound)));
}

#[tokio::test]
async fn calls_using_a_tensor_finish_when_it_is_deleted_under_them() {
    let server = common::start_server().await;
    let mut c = client(&server, None).await;
    let tensor: Tensor = common::gateway::varied_f64(&[512, 512]);
    let expected = c.apply(&tensor, &gaussian(6.0)).await.unwrap();
    let stored = c.put(&tensor).await.unwrap();
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let mut c = c.clone();
            let id = stored.id.clone();
            tokio::spawn(async move { c.apply_stored(&id, &gaussian(6.0)).await })
        })
        .collect();
    // Give the calls time to find the tensor, then delete it under them.
    tokio::time::sleep(Duration::from_millis(20)).await;
    c.delete(&stored.id).await.unwrap();
    let mut finished = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(result) => {
                assert_eq!(result, expected);
                finished += 1;
            }
            // A call that came after the delete finds nothing, cleanly.
            Err(err) => assert_eq!(refusal(&err), (Code::NotFound, Some(Reason::NotFound))),
        }
    }
    assert!(finished > 0, "no call found the tensor before its deletion");
}

/// The store over HTTP: `/v1/tensors`, `?input=` and `&keep=true`.
mod http {
    use crate::common::gateway::{self, json, npy, read_npy, varied_f64};

    #[tokio::test]
    async fn tensors_go_in_and_out_and_operations_read_them() {
        let gw = gateway::start().await;
        // Over the 4 MiB stream threshold: streamed to the service both ways.
        let tensor = varied_f64(&[700, 1000]);
        let body = npy(&tensor);
        let put = gw
            .http
            .post(gw.url("/v1/tensors"))
            .header("content-type", "application/x-npy")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let location = put.headers()["location"].to_str().unwrap().to_owned();
        let stored = json(put, 201).await;
        let id = stored["id"].as_str().unwrap().to_owned();
        assert_eq!(location, format!("/v1/tensors/{id}"));
        assert_eq!(stored["dtype"], "float64");
        assert_eq!(stored["shape"], serde_json::json!([700, 1000]));

        let listed = json(
            gw.http.get(gw.url("/v1/tensors")).send().await.unwrap(),
            200,
        )
        .await;
        assert_eq!(listed[0]["id"], id.as_str());
        let got = gw.http.get(gw.url(&location)).send().await.unwrap();
        assert_eq!(got.status(), 200);
        assert_eq!(read_npy(&got.bytes().await.unwrap()), tensor);

        // An operation on the stored tensor equals the same on the body.
        let from_body = gw
            .http
            .post(gw.url("/v1/gaussian_filter?sigma=2"))
            .body(body)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        let from_store = gw
            .http
            .post(gw.url(&format!("/v1/gaussian_filter?sigma=2&input={id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(from_store.status(), 200);
        assert_eq!(from_store.bytes().await.unwrap(), from_body);
        // Kept: a handle, whose tensor is that result.
        let kept = gw
            .http
            .post(gw.url(&format!("/v1/gaussian_filter?sigma=2&input={id}&keep=true")))
            .send()
            .await
            .unwrap();
        let kept = json(kept, 201).await;
        let kept_url = gw.url(&format!("/v1/tensors/{}", kept["id"].as_str().unwrap()));
        let kept_npy = gw.http.get(&kept_url).send().await.unwrap();
        assert_eq!(kept_npy.bytes().await.unwrap(), from_body);
        let described = gw
            .http
            .post(gw.url(&format!("/v1/describe?input={id}")))
            .send()
            .await
            .unwrap();
        let described = json(described, 200).await;
        assert_eq!(described["shape"], serde_json::json!([700, 1000]));

        let deleted = gw.http.delete(gw.url(&location)).send().await.unwrap();
        assert_eq!(json(deleted, 200).await["id"], id.as_str());
        for response in [
            gw.http.get(gw.url(&location)).send().await.unwrap(),
            gw.http.delete(gw.url(&location)).send().await.unwrap(),
            gw.http
                .post(gw.url(&format!("/v1/gaussian_filter?sigma=2&input={id}")))
                .send()
                .await
                .unwrap(),
        ] {
            let error = json(response, 404).await;
            assert_eq!(error["code"], "NOT_FOUND");
            assert!(error["message"].as_str().unwrap().contains(&id), "{error}");
        }
        // The upload and the kept result; the result is still held.
        let metrics = gw.http.get(gw.url("/metrics")).send().await.unwrap();
        let metrics = metrics.text().await.unwrap();
        for line in [
            "tensorwire_store_puts_total 2",
            "tensorwire_store_tensors 1",
            "tensorwire_store_bytes 5600000",
        ] {
            assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
        }
    }

    #[tokio::test]
    async fn a_stored_input_takes_no_body_and_keep_needs_one() {
        let gw = gateway::start().await;
        let body = npy(&varied_f64(&[4, 4]));
        let with_both = gw
            .http
            .post(gw.url("/v1/gaussian_filter?sigma=1&input=abc"))
            .body(body.clone())
            .send()
            .await
            .unwrap();
        let error = json(with_both, 400).await;
        assert!(
            error["message"].as_str().unwrap().contains("empty"),
            "{error}"
        );
        let keep_alone = gw
            .http
            .post(gw.url("/v1/gaussian_filter?sigma=1&keep=true"))
            .body(body)
            .send()
            .await
            .unwrap();
        let error = json(keep_alone, 400).await;
        assert!(
            error["message"].as_str().unwrap().contains("/v1/tensors"),
            "{error}"
        );
        let bad_flag = gw
            .http
            .post(gw.url("/v1/gaussian_filter?sigma=1&input=abc&keep=maybe"))
            .send()
            .await
            .unwrap();
        json(bad_flag, 400).await;
    }

    #[tokio::test]
    async fn another_key_finds_nothing_over_http() {
        let gw = gateway::start_with(|config| {
            config.auth.api_keys = vec!["alice".into(), "bob".into()];
        })
        .await;
        let put = gw
            .http
            .post(gw.url("/v1/tensors"))
            .header("x-api-key", "alice")
            .body(npy(&varied_f64(&[3])))
            .send()
            .await
            .unwrap();
        let id = json(put, 201).await["id"].as_str().unwrap().to_owned();
        let path = format!("/v1/tensors/{id}");
        let as_bob = gw
            .http
            .get(gw.url(&path))
            .header("x-api-key", "bob")
            .send()
            .await
            .unwrap();
        assert_eq!(json(as_bob, 404).await["code"], "NOT_FOUND");
        let as_alice = gw
            .http
            .get(gw.url(&path))
            .header("x-api-key", "alice")
            .send()
            .await
            .unwrap();
        assert_eq!(as_alice.status(), 200);
        let listed = gw
            .http
            .get(gw.url("/v1/tensors"))
            .header("x-api-key", "bob")
            .send()
            .await
            .unwrap();
        assert_eq!(json(listed, 200).await, serde_json::json!([]));
    }
}
