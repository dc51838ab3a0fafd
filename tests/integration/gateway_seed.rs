//! The seed-compatible routes, as the Flask originals' clients use them:
//! same status codes, JSON field names and messages (SPEC §3).

use crate::common::gateway;

use gateway::*;
use reqwest::multipart::{Form, Part};
use serde_json::json;
use tensorwire::proto::pb;
use tensorwire::tensor::DType;

#[tokio::test]
async fn receive_array_answers_the_shape_of_a_base64_npy() {
    let gw = start().await;
    let file = npy(&counting_i32(&[2, 3, 4]));
    let answer = gw
        .http
        .post(gw.url("/receive_array"))
        .json(&json!({"array_data": b64(&file)}))
        .send()
        .await
        .unwrap();
    let body = json(answer, 200).await;
    assert_eq!(
        body,
        json!({"message": "Array received successfully", "shape": [2, 3, 4]})
    );
}

#[tokio::test]
async fn receive_tensor_answers_with_its_own_message() {
    let gw = start().await;
    let file = npy(&varied_f64(&[5]));
    let answer = gw
        .http
        .post(gw.url("/receive_tensor"))
        .json(&json!({"tensor_data": b64(&file), "id": 7}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(answer, 200).await,
        json!({"message": "Tensor received successfully", "shape": [5]})
    );
}

#[tokio::test]
async fn receive_array_reads_every_npy_numpy_writes() {
    let gw = start().await;
    let cases: Vec<(Vec<u8>, serde_json::Value)> = vec![
        // Big-endian, Fortran order, rank 0, bool, complex, float16.
        (
            npy_with_header(
                "{'descr': '>i4', 'fortran_order': False, 'shape': (2, 2), }",
                &[0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4],
            ),
            json!([2, 2]),
        ),
        (
            npy_with_header(
                "{'descr': '<u1', 'fortran_order': True, 'shape': (2, 3), }",
                &[1, 2, 3, 4, 5, 6],
            ),
            json!([2, 3]),
        ),
        (
            npy_with_header(
                "{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
                &[0; 8],
            ),
            json!([]),
        ),
        (
            npy_with_header(
                "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }",
                &[1, 0, 1],
            ),
            json!([3]),
        ),
        (
            npy_with_header(
                "{'descr': '<c16', 'fortran_order': False, 'shape': (1,), }",
                &[0; 16],
            ),
            json!([1]),
        ),
        (
            npy_with_header(
                "{'descr': '<f2', 'fortran_order': False, 'shape': (0, 4), }",
                &[],
            ),
            json!([0, 4]),
        ),
    ];
    for (file, shape) in cases {
        let answer = gw
            .http
            .post(gw.url("/receive_array"))
            .json(&json!({"array_data": b64(&file)}))
            .send()
            .await
            .unwrap();
        assert_eq!(json(answer, 200).await["shape"], shape);
    }
}

#[tokio::test]
async fn receive_array_accepts_base64_with_line_breaks() {
    let gw = start().await;
    let text = b64(&npy(&counting_i32(&[40])));
    let wrapped: Vec<String> = text
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8(c.to_vec()).unwrap())
        .collect();
    let answer = gw
        .http
        .post(gw.url("/receive_array"))
        .json(&json!({"array_data": wrapped.join("\n")}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(answer, 200).await["shape"], json!([40]));
}

#[tokio::test]
async fn receive_array_streams_a_large_npy_through_the_streaming_rpc() {
    // Unary calls over 1 MiB are refused by this server: only the stream
    // can carry the 12 MB tensor.
    let gw = start_with(|c| {
        c.limits.max_message_bytes = 1 << 20;
        c.gateway.stream_threshold_bytes = 256 << 10;
        c.gateway.upload_chunk_bytes = 64 << 10;
    })
    .await;
    let file = npy(&counting_i32(&[1000, 1000, 3]));
    let answer = gw
        .http
        .post(gw.url("/receive_array"))
        .json(&json!({"array_data": b64(&file)}))
        .send()
        .await
        .unwrap();
    assert_eq!(json(answer, 200).await["shape"], json!([1000, 1000, 3]));
}

#[tokio::test]
async fn receive_array_without_its_field_is_400_missing() {
    let gw = start().await;
    for (route, body, message) in [
        (
            "/receive_array",
            json!({"tensor_data": "AAAA"}),
            "Missing 'array_data'",
        ),
        (
            "/receive_tensor",
            json!({"array_data": "AAAA"}),
            "Missing 'tensor_data'",
        ),
        (
            "/receive_list",
            json!({"list": [1]}),
            "Missing 'array_list'",
        ),
    ] {
        let answer = gw
            .http
            .post(gw.url(route))
            .json(&body)
            .send()
            .await
            .unwrap();
        let body = json(answer, 400).await;
        assert_eq!(body["message"], message, "{route}");
        assert_eq!(body["code"], "INVALID_ARGUMENT");
    }
}

#[tokio::test]
async fn undecodable_payloads_are_400_error_decoding() {
    let gw = start().await;
    let object_dtype = npy_with_header(
        "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
        &[0; 8],
    );
    let structured = npy_with_header(
        "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }",
        &[0; 4],
    );
    let short = npy_with_header(
        "{'descr': '<i4', 'fortran_order': False, 'shape': (4,), }",
        &[0; 8],
    );
    for (route, field, what, value) in [
        (
            "/receive_array",
            "array_data",
            "array",
            json!("not base64 !!"),
        ),
        (
            "/receive_array",
            "array_data",
            "array",
            json!(b64(b"hello world")),
        ),
        (
            "/receive_array",
            "array_data",
            "array",
            json!(b64(&object_dtype)),
        ),
        (
            "/receive_array",
            "array_data",
            "array",
            json!(b64(&structured)),
        ),
        ("/receive_array", "array_data", "array", json!(b64(&short))),
        ("/receive_array", "array_data", "array", json!(12)),
        (
            "/receive_tensor",
            "tensor_data",
            "tensor",
            json!(b64(b"\x93NUMPY")),
        ),
    ] {
        let answer = gw
            .http
            .post(gw.url(route))
            .json(&json!({ field: value }))
            .send()
            .await
            .unwrap();
        let body = json(answer, 400).await;
        let message = body["message"].as_str().unwrap();
        assert!(
            message.starts_with(&format!("Error decoding {what}: ")),
            "{route} {value}: {message}"
        );
    }
    let answer = gw
        .http
        .post(gw.url("/receive_array"))
        .body("{not json")
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert!(
        json(answer, 400).await["message"]
            .as_str()
            .unwrap()
            .starts_with("Error decoding array: ")
    );
}

#[tokio::test]
async fn receive_list_infers_shape_and_dtype_as_numpy() {
    let gw = start().await;
    for (list, shape) in [
        (json!([[1, 2, 3], [4, 5, 6]]), json!([2, 3])),
        (json!([[1.5, 2], [3, 4]]), json!([2, 2])),
        (json!([true, false, true]), json!([3])),
        (json!([]), json!([0])),
        (json!(3.5), json!([])),
        (json!([[[1], [2]], [[3], [4]]]), json!([2, 2, 1])),
    ] {
        let answer = gw
            .http
            .post(gw.url("/receive_list"))
            .json(&json!({ "array_list": list }))
            .send()
            .await
            .unwrap();
        assert_eq!(
            json(answer, 200).await,
            json!({"message": "Array received successfully", "shape": shape})
        );
    }
}

#[tokio::test]
async fn receive_list_refuses_ragged_mixed_non_numeric_and_deep_lists() {
    let gw = start().await;
    let mut deep = json!(1);
    for _ in 0..70 {
        deep = json!([deep]);
    }
    for list in [
        json!([[1, 2], [3]]),
        json!([1, [2]]),
        json!([[1], 2]),
        json!(["a", "b"]),
        json!([1, null]),
        json!([{"a": 1}]),
        json!("text"),
        deep,
    ] {
        let answer = gw
            .http
            .post(gw.url("/receive_list"))
            .json(&json!({ "array_list": list }))
            .send()
            .await
            .unwrap();
        let body = json(answer, 400).await;
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .starts_with("Error decoding array: "),
            "{body}"
        );
    }
}

#[tokio::test]
async fn im_size_reads_one_multipart_image_among_other_fields() {
    let gw = start().await;
    let form = Form::new()
        .text("id", "42")
        .text("type", "png")
        .part("image", Part::bytes(png(31, 17)).file_name("a.png"));
    let answer = gw
        .http
        .post(gw.url("/im_size"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(answer, 200).await,
        json!({"msg": "success", "size": [31, 17]})
    );
}

#[tokio::test]
async fn im_size_reads_several_images_and_adds_sizes() {
    let gw = start().await;
    let form = Form::new()
        .part("image", Part::bytes(png(8, 9)).file_name("a.png"))
        .part("image", Part::bytes(bmp(20, 10)).file_name("b.bmp"));
    let answer = gw
        .http
        .post(gw.url("/im_size"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(answer, 200).await,
        json!({"msg": "success", "size": [8, 9], "sizes": [[8, 9], [20, 10]]})
    );
}

#[tokio::test]
async fn im_size_reads_base64_images_from_a_urlencoded_form() {
    let gw = start().await;
    let one = [
        ("image", b64(&png(5, 6))),
        ("id", "1".into()),
        ("id", "2".into()),
    ];
    let answer = gw
        .http
        .post(gw.url("/im_size"))
        .form(&one)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(answer, 200).await,
        json!({"msg": "success", "size": [5, 6]})
    );
    let two = [("image", b64(&png(5, 6))), ("image", b64(&bmp(7, 3)))];
    let answer = gw
        .http
        .post(gw.url("/im_size"))
        .form(&two)
        .send()
        .await
        .unwrap();
    assert_eq!(
        json(answer, 200).await,
        json!({"msg": "success", "size": [5, 6], "sizes": [[5, 6], [7, 3]]})
    );
}

#[tokio::test]
async fn im_size_streams_a_large_image() {
    let gw = start_with(|c| {
        c.limits.max_message_bytes = 1 << 20;
        c.gateway.stream_threshold_bytes = 256 << 10;
        c.gateway.upload_chunk_bytes = 128 << 10;
    })
    .await;
    let big = png(2000, 1500);
    assert!(
        big.len() > 1 << 20,
        "the fixture must exceed the message limit"
    );
    let form = Form::new().part("image", Part::bytes(big).file_name("big.png"));
    let answer = gw
        .http
        .post(gw.url("/im_size"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(json(answer, 200).await["size"], json!([2000, 1500]));
}

#[tokio::test]
async fn im_size_without_an_image_or_with_garbage_is_400() {
    let gw = start().await;
    let answer = gw
        .http
        .post(gw.url("/im_size"))
        .multipart(Form::new().text("id", "1"))
        .send()
        .await
        .unwrap();
    assert_eq!(json(answer, 400).await["message"], "Missing 'image'");
    let answer = gw
        .http
        .post(gw.url("/im_size"))
        .form(&[("id", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(json(answer, 400).await["message"], "Missing 'image'");
    let form = Form::new().part(
        "image",
        Part::bytes(b"not an image".to_vec()).file_name("x.png"),
    );
    let answer = gw
        .http
        .post(gw.url("/im_size"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let body = json(answer, 400).await;
    assert_eq!(body["code"], "INVALID_ARGUMENT");
    let answer = gw
        .http
        .post(gw.url("/im_size"))
        .form(&[("image", "@@@not base64@@@")])
        .send()
        .await
        .unwrap();
    json(answer, 400).await;
}

#[tokio::test]
async fn root_answers_the_filtered_npy_with_sigma_half() {
    let gw = start().await;
    let input = counting_i32(&[16, 12, 3]);
    let form = Form::new().part("array", Part::bytes(npy(&input)).file_name("a.npy"));
    let answer = gw
        .http
        .post(gw.url("/"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/octet-stream");
    let got = read_npy(&answer.bytes().await.unwrap());
    let params = pb::GaussianParams {
        sigma: vec![0.5],
        ..Default::default()
    };
    let expected = filter_over_grpc(&gw, &input, params).await;
    assert_eq!(got, expected);
    assert_eq!(got.dtype(), DType::Int32);
}

#[tokio::test]
async fn root_streams_a_large_upload_both_ways() {
    let gw = start_with(|c| {
        c.gateway.stream_threshold_bytes = 256 << 10;
        c.gateway.upload_chunk_bytes = 64 << 10;
    })
    .await;
    let input = varied_f64(&[300, 200, 3]);
    let form = Form::new()
        .text("id", "1")
        .part("array", Part::bytes(npy(&input)).file_name("a.npy"));
    let answer = gw
        .http
        .post(gw.url("/"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let length: usize = answer.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = answer.bytes().await.unwrap();
    assert_eq!(bytes.len(), length);
    let params = pb::GaussianParams {
        sigma: vec![0.5],
        ..Default::default()
    };
    assert_eq!(
        read_npy(&bytes),
        filter_over_grpc(&gw, &input, params).await
    );
}

#[tokio::test]
async fn root_without_a_file_is_400_with_the_input_error_header() {
    let gw = start().await;
    let no_file = gw
        .http
        .post(gw.url("/"))
        .multipart(Form::new().text("id", "1"))
        .send()
        .await
        .unwrap();
    let not_multipart = gw.http.post(gw.url("/")).body("x").send().await.unwrap();
    for answer in [no_file, not_multipart] {
        assert_eq!(answer.status(), 400);
        assert_eq!(answer.headers()["input-error"], "No input file received");
    }
}

#[tokio::test]
async fn root_refuses_a_bad_npy_with_error_decoding() {
    let gw = start().await;
    let form = Form::new().part("array", Part::bytes(b"nope".to_vec()).file_name("a.npy"));
    let answer = gw
        .http
        .post(gw.url("/"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let body = json(answer, 400).await;
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("Error decoding array: ")
    );
}
