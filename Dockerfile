# syntax=docker/dockerfile:1
# tensorwire: the gRPC service and the HTTP gateway in one small image.
#
#   docker build -t tensorwire:0.1.0 .
#   docker run --rm -p 50051:50051 -p 8080:8080 tensorwire:0.1.0
#   docker run --rm -e TENSORWIRE_MEMORY_BUDGET=3GiB --memory 4g ... tensorwire:0.1.0
#
# Settings are TENSORWIRE_* variables or extra flags after the image name
# (`tensorwire serve --help`). Code generation uses protox: no protoc needed.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The caches keep the crate registry and compiled dependencies between builds
# (BuildKit); the binary is copied out of the cached target folder.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin tensorwire \
    && cp target/release/tensorwire /usr/local/bin/tensorwire

FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tensorwire \
    && useradd --system --uid 10001 --gid tensorwire --no-create-home --shell /usr/sbin/nologin tensorwire
COPY --from=build /usr/local/bin/tensorwire /usr/local/bin/tensorwire
USER 10001:10001
EXPOSE 50051 8080
ENV RUST_LOG=info
# SIGTERM (docker stop, Kubernetes) starts the graceful shutdown: no new
# connections, in-flight requests get TENSORWIRE_SHUTDOWN_GRACE_SECS (30 s).
STOPSIGNAL SIGTERM
ENTRYPOINT ["tensorwire", "serve", "--grpc-addr", "0.0.0.0:50051", "--http-addr", "0.0.0.0:8080"]
