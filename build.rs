//! Generates the gRPC code from `proto/` with protox (a pure-Rust protobuf
//! compiler), so building needs no system `protoc`. The file descriptor set is
//! also written out for server reflection, and the method table of each
//! service (`<package>.<Service>_methods.rs`: name and whether the client
//! streams), which the gRPC layers read instead of listing methods by hand.

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = [
        "proto/tensorwire/v1/tensorwire.proto",
        // The Open Inference Protocol (KServe v2), served beside tensorwire.v1.
        "proto/inference/grpc_service.proto",
    ];
    for proto in protos {
        println!("cargo:rerun-if-changed={proto}");
    }
    let descriptors = protox::compile(protos, ["proto"])?;
    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join("tensorwire_descriptor.bin"),
        prost::Message::encode_to_vec(&descriptors),
    )?;
    for file in &descriptors.file {
        for service in &file.service {
            let rows: String = service
                .method
                .iter()
                .map(|m| {
                    format!(
                        "    ({:?}, {}),\n",
                        m.name(),
                        m.client_streaming.unwrap_or(false)
                    )
                })
                .collect();
            std::fs::write(
                out_dir.join(format!("{}.{}_methods.rs", file.package(), service.name())),
                format!("&[\n{rows}]\n"),
            )?;
        }
    }
    tonic_prost_build::configure()
        // Tensor payloads stay `bytes::Bytes`: slices of the received buffer, no copy.
        .bytes(".tensorwire.v1")
        .bytes(".inference")
        .compile_fds(descriptors)?;
    Ok(())
}
