"""Generated from proto/tensorwire/v1/tensorwire.proto by grpcio-tools 1.85.1
(``python -m grpc_tools.protoc -Iproto --python_out --pyi_out --grpc_python_out``).
Do not edit: ``python/check_stubs.py`` regenerates them and CI fails on any
difference."""
