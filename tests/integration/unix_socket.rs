//! gRPC on a Unix domain socket (`--grpc-uds`): the same service for
//! clients on the same host, reachable only by the user that runs it.

use crate::common;

use std::os::unix::fs::PermissionsExt;

use tensorwire::client::{Client, ClientOptions};
use tensorwire::config::ServeConfig;
use tensorwire::proto::pb;
use tonic::Code;

fn gaussian(sigma: f64) -> pb::GaussianParams {
    pb::GaussianParams {
        sigma: vec![sigma],
        ..Default::default()
    }
}

#[tokio::test]
async fn the_socket_serves_the_same_service_to_this_user_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tensorwire.sock");
    // A socket left by a run that did not clean up is replaced.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    let mut config = ServeConfig::ephemeral();
    config.grpc_uds = Some(path.clone());
    let server = common::start_server_with(config).await;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");

    let tensor = common::gateway::varied_f64(&[64, 48]);
    let mut local = Client::connect(&format!("unix:{}", path.display()))
        .await
        .unwrap();
    let mut tcp = Client::connect(&format!("http://{}", server.grpc_addr))
        .await
        .unwrap();
    assert_eq!(
        local
            .gaussian_filter(&tensor, &gaussian(2.0))
            .await
            .unwrap(),
        tcp.gaussian_filter(&tensor, &gaussian(2.0)).await.unwrap()
    );
    // A tensor streamed in pieces, and the store, through the socket.
    let big = common::gateway::varied_f64(&[700, 1000]);
    let stored = local.put(&big).await.unwrap();
    assert_eq!(local.get(&stored.id).await.unwrap(), big);
    let lazy = Client::connect_lazy(
        &format!("unix://{}", path.display()),
        ClientOptions::default(),
    )
    .unwrap();
    assert_eq!(lazy.clone().describe(&tensor).await.unwrap().size, 64 * 48);

    server.stop().await;
    assert!(!path.exists(), "the socket file outlived the server");
}

#[tokio::test]
async fn keys_hold_on_the_socket_and_other_files_are_not_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tensorwire.sock");
    let mut config = ServeConfig::ephemeral();
    config.grpc_uds = Some(path.clone());
    config.auth.api_keys = vec!["k".into()];
    let _server = common::start_server_with(config).await;
    let mut anonymous = Client::connect(&format!("unix:{}", path.display()))
        .await
        .unwrap();
    let tensor = common::gateway::varied_f64(&[4]);
    let err = anonymous.describe(&tensor).await.unwrap_err();
    assert_eq!(err.status().unwrap().code(), Code::Unauthenticated);
    let options = ClientOptions {
        api_key: Some("k".into()),
        ..ClientOptions::default()
    };
    let mut keyed = Client::connect_with(&format!("unix:{}", path.display()), options)
        .await
        .unwrap();
    assert_eq!(keyed.describe(&tensor).await.unwrap().size, 4);

    let file = dir.path().join("not-a-socket");
    std::fs::write(&file, b"keep me").unwrap();
    let mut config = ServeConfig::ephemeral();
    config.grpc_uds = Some(file.clone());
    let err = tensorwire::server::start(&config).await.unwrap_err();
    assert!(err.to_string().contains("not a socket"), "{err}");
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
}
