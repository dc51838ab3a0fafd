//! The client commands of the `tensorwire` binary against a server on port 0.

use crate::common;

use std::process::Command;

use bytes::Bytes;
use tensorwire::npy::{read_npy, write_npy};
use tensorwire::tensor::{Tensor, TensorLimits};

fn tensorwire(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tensorwire"))
        .args(args)
        .output()
        .expect("run the tensorwire binary")
}

/// The tensor of a `.npy` file the CLI wrote.
fn read_npy_file(path: &std::path::Path) -> Tensor {
    read_npy(
        Bytes::from(std::fs::read(path).unwrap()),
        &TensorLimits::default(),
    )
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_filter_and_size_commands_talk_to_the_server() {
    let server = common::start_server().await;
    let url = format!("http://{}", server.grpc_addr);
    let dir = tempfile::tempdir().unwrap();

    let values: Vec<i32> = (0..(30 * 20 * 3)).map(|i| i * 37 % 255).collect();
    let input =
        Tensor::from_array(&ndarray::ArrayD::from_shape_vec(vec![30, 20, 3], values).unwrap());
    let npy_in = dir.path().join("in.npy");
    std::fs::write(&npy_in, write_npy(&input)).unwrap();

    let out = tensorwire(&["describe", npy_in.to_str().unwrap(), "--server", &url]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("int32 [30, 20, 3]"),
        "{}",
        text(&out.stdout)
    );

    let npy_out = dir.path().join("out.npy");
    let out = tensorwire(&[
        "filter",
        npy_in.to_str().unwrap(),
        "-o",
        npy_out.to_str().unwrap(),
        "--sigma",
        "0.5",
        "--mode",
        "nearest",
        "--server",
        &url,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = read_npy_file(&npy_out);
    let params = tensorwire::filter::GaussianParams {
        sigma: vec![0.5],
        mode: vec![tensorwire::filter::BoundaryMode::Nearest],
        ..Default::default()
    };
    let expected =
        tensorwire::filter::gaussian_filter(&input, &params, &Default::default()).unwrap();
    assert_eq!(got, expected);

    // An image in, a PNG out, filtered over its two spatial axes only.
    let png_in = dir.path().join("photo.png");
    image::RgbImage::from_fn(33, 17, |x, y| {
        image::Rgb([(x * 7) as u8, (y * 11) as u8, 200])
    })
    .save(&png_in)
    .unwrap();
    let png_out = dir.path().join("blurred.png");
    let out = tensorwire(&[
        "filter",
        png_in.to_str().unwrap(),
        "-o",
        png_out.to_str().unwrap(),
        "--sigma",
        "2",
        "--server",
        &url,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let blurred = image::open(&png_out).unwrap().to_rgb8();
    assert_eq!(blurred.dimensions(), (33, 17));
    assert!(
        blurred.pixels().all(|p| p[2] == 200),
        "the channel axis was filtered"
    );

    let out = tensorwire(&[
        "size",
        png_in.to_str().unwrap(),
        png_out.to_str().unwrap(),
        "--server",
        &url,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = text(&out.stdout);
    assert!(lines.contains("photo.png: 33×17 png"), "{lines}");
    assert!(lines.contains("blurred.png: 33×17 png"), "{lines}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_one_line_and_a_failing_exit_code() {
    let server = common::start_server().await;
    let url = format!("http://{}", server.grpc_addr);
    let dir = tempfile::tempdir().unwrap();
    let not_npy = dir.path().join("bad.npy");
    std::fs::write(&not_npy, b"hello").unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![
                "describe".into(),
                "/nonexistent/x.npy".into(),
                "--server".into(),
                url.clone(),
            ],
            "cannot read",
        ),
        (
            vec![
                "describe".into(),
                not_npy.display().to_string(),
                "--server".into(),
                url.clone(),
            ],
            "not a .npy",
        ),
        (
            vec![
                "size".into(),
                not_npy.display().to_string(),
                "--server".into(),
                url.clone(),
            ],
            "format",
        ),
        (
            vec![
                "describe".into(),
                not_npy.display().to_string(),
                "--server".into(),
                "http://127.0.0.1:1".into(),
            ],
            "not a .npy",
        ),
        (
            vec![
                "filter".into(),
                not_npy.display().to_string(),
                "-o".into(),
                "x.npy".into(),
                "--sigma".into(),
                "1".into(),
                "--mode".into(),
                "sideways".into(),
            ],
            "not a .npy",
        ),
    ];
    for (args, needle) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = tensorwire(&args);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{args:?}: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
    }
    let png = dir.path().join("a.png");
    image::GrayImage::new(4, 4).save(&png).unwrap();
    let out = tensorwire(&[
        "size",
        png.to_str().unwrap(),
        "--server",
        "http://127.0.0.1:1",
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot connect"),
        "{}",
        text(&out.stderr)
    );
}

/// Waits for `child` and returns whether it succeeded and its peak resident
/// memory in MiB: the largest `VmHWM` of `/proc/PID/status` read every 5 ms
/// while it runs. (`wait4`'s `ru_maxrss` cannot be used: Linux starts a
/// child's figure at its parent's peak when it execs, so it reported this
/// test's own 256 MiB of input and `.npy` bytes, not the CLI's.) A growth in
/// the child's last 5 ms would be missed; the CLI's last act is a flush.
fn wait_with_peak_rss(mut child: std::process::Child) -> (bool, u64) {
    let mut peak_kib = 0u64;
    loop {
        if let Some(kib) = common::peak_rss_kib(child.id()) {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(exit) = child.try_wait().expect("the CLI can be waited for") {
            return (exit.success(), peak_kib / 1024);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_of_a_large_npy_file_is_exact() {
    let server = common::start_server().await;
    let url = format!("http://{}", server.grpc_addr);
    let dir = tempfile::tempdir().unwrap();
    // 128 MiB of float32, filtered along axis 0 only (cheap, so the test
    // is about the file I/O).
    let (rows, cols) = (2048, 16384);
    let values: Vec<f32> = (0..rows * cols)
        .map(|i| (i * 7919 % 1000) as f32 / 7.0)
        .collect();
    let input =
        Tensor::from_array(&ndarray::ArrayD::from_shape_vec(vec![rows, cols], values).unwrap());
    let npy_in = dir.path().join("big.npy");
    let npy_out = dir.path().join("big_out.npy");
    std::fs::write(&npy_in, write_npy(&input)).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_tensorwire"))
        .args([
            "filter",
            npy_in.to_str().unwrap(),
            "-o",
            npy_out.to_str().unwrap(),
            "--sigma",
            "1",
            "--axes",
            "0",
            "--server",
            &url,
        ])
        .spawn()
        .unwrap();
    let (ok, peak_mib) = tokio::task::spawn_blocking(move || wait_with_peak_rss(child))
        .await
        .unwrap();
    assert!(ok, "tensorwire filter failed");
    // The file goes through in pieces: reading it whole would hold 128 MiB,
    // and whole input and result 256 MiB. A dev build measured 32 MiB here
    // (and 39 MiB for a 1 GiB file, by hand with /usr/bin/time).
    eprintln!("tensorwire filter of a 128 MiB .npy: client peak RSS {peak_mib} MiB");
    assert!(
        peak_mib > 0 && peak_mib < 96,
        "the CLI's peak RSS was {peak_mib} MiB for a 128 MiB file: not filtered in pieces"
    );
    let got = read_npy_file(&npy_out);
    let params = tensorwire::filter::GaussianParams {
        sigma: vec![1.0],
        axes: vec![0],
        ..Default::default()
    };
    let expected =
        tensorwire::filter::gaussian_filter(&input, &params, &Default::default()).unwrap();
    assert!(
        got == expected,
        "the streamed file differs from the engine's result"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_takes_the_exp_of_the_kernels() {
    let server = common::start_server().await;
    let url = format!("http://{}", server.grpc_addr);
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f64> = (0..(40 * 30))
        .map(|i| (f64::from(i) * 0.37).sin())
        .collect();
    let input = Tensor::from_array(&ndarray::ArrayD::from_shape_vec(vec![40, 30], values).unwrap());
    let npy_in = dir.path().join("in.npy");
    std::fs::write(&npy_in, write_npy(&input)).unwrap();
    let mut results = Vec::new();
    for exp in [
        tensorwire::filter::KernelExp::Libm,
        tensorwire::filter::KernelExp::NumpyAvx512,
    ] {
        let npy_out = dir.path().join(format!("{exp}.npy"));
        let out = tensorwire(&[
            "filter",
            npy_in.to_str().unwrap(),
            "-o",
            npy_out.to_str().unwrap(),
            "--sigma",
            "2",
            "--exp",
            exp.name(),
            "--server",
            &url,
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let got = read_npy_file(&npy_out);
        let params = tensorwire::filter::GaussianParams {
            exp,
            ..tensorwire::filter::GaussianParams::with_sigma(2.0)
        };
        let expected =
            tensorwire::filter::gaussian_filter(&input, &params, &Default::default()).unwrap();
        assert_eq!(got, expected, "{exp}");
        results.push(got);
    }
    assert_ne!(results[0], results[1], "sigma 2 tells the two exps apart");
    let out = tensorwire(&[
        "filter",
        npy_in.to_str().unwrap(),
        "-o",
        dir.path().join("x.npy").to_str().unwrap(),
        "--sigma",
        "2",
        "--exp",
        "svml",
        "--server",
        &url,
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("unknown exp"),
        "{}",
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filter_runs_every_operation_and_refuses_flags_it_does_not_take() {
    let server = common::start_server().await;
    let url = format!("http://{}", server.grpc_addr);
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<f64> = (0..(20 * 15))
        .map(|i| (f64::from(i) * 0.61).cos())
        .collect();
    let input = Tensor::from_array(&ndarray::ArrayD::from_shape_vec(vec![20, 15], values).unwrap());
    let npy_in = dir.path().join("in.npy");
    std::fs::write(&npy_in, write_npy(&input)).unwrap();
    for op in tensorwire::ops::ALL {
        let npy_out = dir.path().join(format!("{}.npy", op.name));
        let out = tensorwire(&[
            "filter",
            npy_in.to_str().unwrap(),
            "-o",
            npy_out.to_str().unwrap(),
            "--op",
            op.name,
            "--sigma",
            "1.5",
            "--server",
            &url,
        ]);
        assert!(out.status.success(), "{}: {}", op.name, text(&out.stderr));
        let params = tensorwire::filter::GaussianParams::with_sigma(1.5);
        let expected = op
            .plan(input.dtype(), input.shape(), &params, &Default::default())
            .unwrap()
            .run(&input);
        assert_eq!(read_npy_file(&npy_out), expected, "{}", op.name);
    }
    let out = tensorwire(&[
        "filter",
        npy_in.to_str().unwrap(),
        "-o",
        dir.path().join("x.npy").to_str().unwrap(),
        "--op",
        "gaussian_laplace",
        "--sigma",
        "1",
        "--order",
        "1",
        "--server",
        &url,
    ]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("gaussian_laplace does not take --order"),
        "{}",
        text(&out.stderr)
    );
}

/// A handle the CLI printed: one JSON line.
fn handle(out: &std::process::Output) -> serde_json::Value {
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stored_tensors_go_in_come_back_filter_and_go_away() {
    let server = common::start_server().await;
    let url = format!("http://{}", server.grpc_addr);
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--server", &url]);
        tensorwire(&all)
    };
    // 1.2 MB of float64: more than one piece each way.
    let values: Vec<f64> = (0..(300 * 500))
        .map(|i| (f64::from(i) * 0.013).sin())
        .collect();
    let input =
        Tensor::from_array(&ndarray::ArrayD::from_shape_vec(vec![300, 500], values).unwrap());
    let npy_in = path("in.npy");
    std::fs::write(&npy_in, write_npy(&input)).unwrap();

    let stored = handle(&run(&["put", &npy_in]));
    let id = stored["id"].as_str().unwrap().to_owned();
    assert_eq!(stored["dtype"], "float64", "{stored}");
    assert_eq!(stored["shape"], serde_json::json!([300, 500]), "{stored}");
    assert_eq!(stored["nbytes"], input.nbytes(), "{stored}");
    assert!(stored["expires_in_ms"].as_u64().unwrap() > 0, "{stored}");
    let at_id = format!("@{id}");

    let out = run(&["tensors"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // The same handle, its expiry counting down.
    let without_expiry = |mut handle: serde_json::Value| {
        handle.as_object_mut().unwrap().remove("expires_in_ms");
        handle
    };
    let listed: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|line| without_expiry(serde_json::from_str(line).unwrap()))
        .collect();
    assert_eq!(listed, vec![without_expiry(stored.clone())]);

    let out = run(&["get", &id, "-o", &path("got.npy")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(read_npy_file(dir.path().join("got.npy").as_path()), input);

    let out = run(&["describe", &at_id]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("float64 [300, 500] 1200000 bytes"),
        "{}",
        text(&out.stdout)
    );

    // The stored tensor filters as the file does, into a file or the store.
    let op = ["--op", "gaussian_gradient_magnitude", "--sigma", "1.5"];
    let of_file = dir.path().join("of_file.npy");
    let out = run(&[
        &["filter", &npy_in, "-o", of_file.to_str().unwrap()],
        &op[..],
    ]
    .concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let expected = read_npy_file(&of_file);
    let out = run(&[&["filter", &at_id, "-o", &path("of_id.npy")], &op[..]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(read_npy_file(&dir.path().join("of_id.npy")), expected);
    let mut kept_ids = Vec::new();
    for input_arg in [at_id.as_str(), npy_in.as_str()] {
        let kept = handle(&run(&[&["filter", input_arg, "--keep"], &op[..]].concat()));
        assert_eq!(kept["shape"], serde_json::json!([300, 500]), "{kept}");
        let kept_id = kept["id"].as_str().unwrap().to_owned();
        let kept_npy = dir.path().join(format!("kept_{}.npy", kept_ids.len()));
        let out = run(&[
            "get",
            &format!("@{kept_id}"),
            "-o",
            kept_npy.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        assert_eq!(read_npy_file(&kept_npy), expected, "{input_arg} --keep");
        kept_ids.push(kept_id);
    }
    // The file input of `--keep` was stored for the call only.
    let out = run(&["tensors"]);
    let mut listed: Vec<String> = text(&out.stdout)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .map(|handle| handle["id"].as_str().unwrap().to_owned())
        .collect();
    listed.sort();
    let mut expected_ids = vec![id.clone(), kept_ids[0].clone(), kept_ids[1].clone()];
    expected_ids.sort();
    assert_eq!(listed, expected_ids);

    let deleted = handle(&run(&["delete", &id]));
    assert_eq!(deleted["id"], stored["id"]);
    assert_eq!(deleted["shape"], stored["shape"]);
    let never = path("never.npy");
    for args in [
        vec!["get", id.as_str(), "-o", never.as_str()],
        vec!["delete", id.as_str()],
        vec!["describe", at_id.as_str()],
        vec!["filter", at_id.as_str(), "--keep", "--sigma", "1"],
    ] {
        let out = run(&args);
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("error: NOT_FOUND: no stored tensor has the id"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    assert!(!std::path::Path::new(&never).exists());
    let out = run(&["filter", &npy_in, "--sigma", "1"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--output"),
        "{}",
        text(&out.stderr)
    );
}
