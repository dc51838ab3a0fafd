//! `inference.GRPCInferenceService`: health, metadata and `ModelInfer`,
//! each `ModelInfer` translated into a call of the native `TensorService`
//! handler of the same operation (so validation, limits, the memory budget,
//! the computation slots and the errors are the native ones).

use std::collections::HashMap;
use std::convert::Infallible;
use std::task::{Context, Poll};

use bytes::Bytes;
use tonic::server::NamedService;
use tonic::{Request, Response, Status};
use tower::Service;

use super::pb::grpc_inference_service_server::{GrpcInferenceService, GrpcInferenceServiceServer};
use super::pb::model_infer_request::InferInputTensor;
use super::pb::model_infer_response::InferOutputTensor;
use super::pb::{self, InferTensorContents};
use super::tensor::{self as wire, BYTES};
use super::{Model, params};
use crate::proto::pb as native;
use crate::proto::pb::tensor_service_server::TensorService;
use crate::service::TensorServiceImpl;
use crate::tensor::{DType, TensorLimits};

/// The service: the native service it translates to.
#[derive(Clone, Debug)]
pub struct KServeService {
    native: TensorServiceImpl,
    tensor_limits: TensorLimits,
}

impl KServeService {
    /// A front door to `native` (a clone of the native service: it shares
    /// its computation slots and memory budget).
    pub fn new(native: TensorServiceImpl) -> KServeService {
        KServeService {
            tensor_limits: native.limits().tensor(),
            native,
        }
    }
}

/// One output of a model: name, dtype (`None`: BYTES), shape, data.
struct Output {
    name: &'static str,
    dtype: DType,
    shape: Vec<i64>,
    data: Bytes,
}

impl Output {
    fn f64s(name: &'static str, values: &[f64]) -> Output {
        Output {
            name,
            dtype: DType::Float64,
            shape: vec![values.len() as i64],
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }

    fn i64s(name: &'static str, values: &[i64]) -> Output {
        Output {
            name,
            dtype: DType::Int64,
            shape: vec![values.len() as i64],
            data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        }
    }
}

/// The input of a request, checked: its name and where its data is.
struct Input<'a> {
    tensor: &'a InferInputTensor,
    raw: Option<Bytes>,
    what: String,
}

impl KServeService {
    /// Finds the model's one input and checks the request's shape: raw
    /// contents one per input or none, no unknown inputs or outputs.
    fn input<'a>(
        &self,
        model: Model,
        request: &'a pb::ModelInferRequest,
    ) -> Result<Input<'a>, Status> {
        let raw = &request.raw_input_contents;
        if !raw.is_empty() && raw.len() != request.inputs.len() {
            return Err(crate::service::bad_argument(
                None,
                format!(
                    "raw_input_contents has {} entries for {} inputs; give one per input, in order",
                    raw.len(),
                    request.inputs.len()
                ),
            ));
        }
        for input in &request.inputs {
            if input.name != model.input() {
                return Err(crate::service::bad_argument(
                    None,
                    format!(
                        "model {} has no input {:?}; its input is {}",
                        model.name(),
                        input.name,
                        model.input()
                    ),
                ));
            }
            if !raw.is_empty() && input.contents.is_some() {
                return Err(crate::service::bad_argument(
                    None,
                    format!(
                        "input {:?} has typed contents and the request has raw_input_contents; use one or the other",
                        input.name
                    ),
                ));
            }
        }
        let [tensor] = request.inputs.as_slice() else {
            return Err(crate::service::bad_argument(
                None,
                format!(
                    "model {} takes exactly one input, {}; the request has {}",
                    model.name(),
                    model.input(),
                    request.inputs.len()
                ),
            ));
        };
        for output in &request.outputs {
            if !model.outputs().contains(&output.name.as_str()) {
                return Err(crate::service::bad_argument(
                    None,
                    format!(
                        "model {} has no output {:?}; its outputs are {}",
                        model.name(),
                        output.name,
                        model.outputs().join(", ")
                    ),
                ));
            }
        }
        Ok(Input {
            tensor,
            raw: raw.first().cloned(),
            what: format!("input {:?}", tensor.name),
        })
    }

    /// The input as a native tensor message (shape checked before its data
    /// is read or converted).
    fn native_tensor(&self, input: &Input<'_>) -> Result<native::Tensor, Status> {
        if input.tensor.datatype == BYTES {
            return Err(crate::service::bad_argument(
                None,
                format!(
                    "{} has the datatype BYTES; this model reads numeric tensors (BOOL, UINT8 .. FP64)",
                    input.what
                ),
            ));
        }
        let dtype = wire::dtype_of(&input.tensor.datatype, &input.what)?;
        let (shape, valid) =
            wire::checked_shape(dtype, &input.tensor.shape, &self.tensor_limits, &input.what)?;
        let data = wire::input_data(
            dtype,
            &valid,
            input.raw.clone(),
            input.tensor.contents.as_ref(),
            &input.what,
        )?;
        Ok(native::Tensor {
            dtype: native::DType::from(dtype) as i32,
            shape,
            data,
        })
    }

    async fn apply(
        &self,
        op: &'static crate::ops::Operation,
        request: &pb::ModelInferRequest,
        metadata: &tonic::metadata::MetadataMap,
    ) -> Result<Vec<Output>, Status> {
        let input = self.input(Model::Operation(op), request)?;
        let params = params::op_params(op, &request.parameters)?;
        let tensor = self.native_tensor(&input)?;
        let call = native_request(
            native::ApplyRequest {
                input_id: String::new(),
                tensor: Some(tensor),
                params: Some(params),
            },
            metadata,
        );
        let result = TensorService::apply(&self.native, call).await?.into_inner();
        let dtype = crate::proto::dtype_from_wire(result.dtype)
            .map_err(|e| crate::service::internal(e.to_string()))?;
        Ok(vec![Output {
            name: "OUTPUT",
            dtype,
            shape: result.shape.iter().map(|&d| d as i64).collect(),
            data: result.data,
        }])
    }

    async fn describe(
        &self,
        request: &pb::ModelInferRequest,
        metadata: &tonic::metadata::MetadataMap,
    ) -> Result<Vec<Output>, Status> {
        params::no_parameters(Model::Describe.name(), &request.parameters)?;
        let input = self.input(Model::Describe, request)?;
        let tensor = self.native_tensor(&input)?;
        let info = TensorService::describe(&self.native, native_request(tensor, metadata))
            .await?
            .into_inner();
        // An empty tensor has no min, max or mean: those outputs are empty.
        let stat = |v: Option<f64>| v.map(|v| vec![v]).unwrap_or_default();
        let shape: Vec<i64> = info.shape.iter().map(|&d| d as i64).collect();
        Ok(vec![
            Output::i64s("SHAPE", &shape),
            Output::f64s("MIN", &stat(info.min)),
            Output::f64s("MAX", &stat(info.max)),
            Output::f64s("MEAN", &stat(info.mean)),
        ])
    }

    async fn image_size(
        &self,
        request: &pb::ModelInferRequest,
        metadata: &tonic::metadata::MetadataMap,
    ) -> Result<Vec<Output>, Status> {
        params::no_parameters(Model::ImageSize.name(), &request.parameters)?;
        let input = self.input(Model::ImageSize, request)?;
        if input.tensor.datatype != BYTES {
            return Err(crate::service::bad_argument(
                None,
                format!(
                    "{} has the datatype {:?}; image_size reads BYTES (shape [1], the encoded image file)",
                    input.what, input.tensor.datatype
                ),
            ));
        }
        if input.tensor.shape != [1] {
            return Err(crate::service::bad_argument(
                None,
                format!(
                    "{} has the shape {:?}; image_size reads one image, shape [1]",
                    input.what, input.tensor.shape
                ),
            ));
        }
        let image = match &input.raw {
            Some(raw) => wire::split_bytes_elements(raw, 1, &input.what)?.remove(0),
            None => {
                let elements = input
                    .tensor
                    .contents
                    .as_ref()
                    .map(|c| c.bytes_contents.as_slice())
                    .unwrap_or_default();
                match elements {
                    [one] => one.clone(),
                    other => {
                        return Err(crate::service::bad_argument(
                            None,
                            format!(
                                "{}: bytes_contents holds {} elements; image_size reads one",
                                input.what,
                                other.len()
                            ),
                        ));
                    }
                }
            }
        };
        let call = native_request(
            native::ImageRequest {
                data: image,
                filename: String::new(),
            },
            metadata,
        );
        let info = TensorService::image_size(&self.native, call)
            .await?
            .into_inner();
        Ok(vec![Output::i64s(
            "SIZE",
            &[i64::from(info.width), i64::from(info.height)],
        )])
    }
}

/// A native request carrying the caller's metadata (its deadline and
/// credentials were already checked by the layers around both services).
fn native_request<T>(message: T, metadata: &tonic::metadata::MetadataMap) -> Request<T> {
    let mut request = Request::new(message);
    *request.metadata_mut() = metadata.clone();
    request
}

/// Builds the answer: the requested outputs (all when none are named), in
/// the order asked, as raw contents, or as typed contents when the request
/// sent typed contents and every output has a typed form.
fn response(
    model: Model,
    request: &pb::ModelInferRequest,
    outputs: Vec<Output>,
) -> Result<pb::ModelInferResponse, Status> {
    let mut chosen: Vec<Output> = if request.outputs.is_empty() {
        outputs
    } else {
        let mut by_name: HashMap<&str, Output> = outputs.into_iter().map(|o| (o.name, o)).collect();
        request
            .outputs
            .iter()
            .filter_map(|o| by_name.remove(o.name.as_str()))
            .collect()
    };
    let typed_request = request.raw_input_contents.is_empty()
        && request.inputs.iter().any(|i| i.contents.is_some());
    let typed: Option<Vec<InferTensorContents>> = if typed_request {
        chosen
            .iter()
            .map(|o| wire::bytes_to_typed(o.dtype, &o.data))
            .collect()
    } else {
        None
    };
    let mut answer = pb::ModelInferResponse {
        model_name: model.name().to_owned(),
        model_version: super::MODEL_VERSION.to_owned(),
        id: request.id.clone(),
        ..Default::default()
    };
    let mut typed = typed.map(Vec::into_iter);
    for output in chosen.drain(..) {
        let contents = typed.as_mut().and_then(Iterator::next);
        if contents.is_none() {
            answer.raw_output_contents.push(output.data);
        }
        answer.outputs.push(InferOutputTensor {
            name: output.name.to_owned(),
            datatype: wire::datatype_of(output.dtype)?.to_owned(),
            shape: output.shape,
            parameters: HashMap::new(),
            contents,
        });
    }
    Ok(answer)
}

#[tonic::async_trait]
impl GrpcInferenceService for KServeService {
    async fn server_live(
        &self,
        _: Request<pb::ServerLiveRequest>,
    ) -> Result<Response<pb::ServerLiveResponse>, Status> {
        Ok(Response::new(pb::ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _: Request<pb::ServerReadyRequest>,
    ) -> Result<Response<pb::ServerReadyResponse>, Status> {
        Ok(Response::new(pb::ServerReadyResponse { ready: true }))
    }

    async fn model_ready(
        &self,
        request: Request<pb::ModelReadyRequest>,
    ) -> Result<Response<pb::ModelReadyResponse>, Status> {
        let request = request.into_inner();
        Model::find(&request.name, &request.version)?;
        Ok(Response::new(pb::ModelReadyResponse { ready: true }))
    }

    async fn server_metadata(
        &self,
        _: Request<pb::ServerMetadataRequest>,
    ) -> Result<Response<pb::ServerMetadataResponse>, Status> {
        Ok(Response::new(super::server_metadata()))
    }

    async fn model_metadata(
        &self,
        request: Request<pb::ModelMetadataRequest>,
    ) -> Result<Response<pb::ModelMetadataResponse>, Status> {
        let request = request.into_inner();
        Ok(Response::new(
            Model::find(&request.name, &request.version)?.metadata(),
        ))
    }

    async fn model_infer(
        &self,
        request: Request<pb::ModelInferRequest>,
    ) -> Result<Response<pb::ModelInferResponse>, Status> {
        let (metadata, _, request) = request.into_parts();
        let model = Model::find(&request.model_name, &request.model_version)?;
        let outputs = match model {
            Model::Operation(op) => self.apply(op, &request, &metadata).await?,
            Model::Describe => self.describe(&request, &metadata).await?,
            Model::ImageSize => self.image_size(&request, &metadata).await?,
        };
        Ok(Response::new(response(model, &request, outputs)?))
    }
}

/// The RPCs tensorwire serves; the protocol's others (and Triton's
/// additions) are answered `UNIMPLEMENTED` with a message that says which
/// ones it does (tonic's own answer has no message).
pub const SERVED: [&str; 6] = [
    "ServerLive",
    "ServerReady",
    "ModelReady",
    "ServerMetadata",
    "ModelMetadata",
    "ModelInfer",
];

/// The generated server wrapped so that unknown methods of the service get
/// a clear `UNIMPLEMENTED`.
#[derive(Clone, Debug)]
pub struct KServeServer(GrpcInferenceServiceServer<KServeService>);

impl KServeServer {
    /// Wraps the generated server (with its message limits set).
    pub fn new(inner: GrpcInferenceServiceServer<KServeService>) -> KServeServer {
        KServeServer(inner)
    }
}

impl NamedService for KServeServer {
    const NAME: &'static str = "inference.GRPCInferenceService";
}

impl<B> Service<http::Request<B>> for KServeServer
where
    GrpcInferenceServiceServer<KServeService>:
        Service<http::Request<B>, Response = http::Response<tonic::body::Body>, Error = Infallible>,
    <GrpcInferenceServiceServer<KServeService> as Service<http::Request<B>>>::Future:
        Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = request
            .uri()
            .path()
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        if SERVED.contains(&method.as_str()) {
            return Box::pin(self.0.call(request));
        }
        let status = Status::unimplemented(format!(
            "inference.GRPCInferenceService/{method} is not implemented by tensorwire; it serves {} (models {})",
            SERVED.join(", "),
            Model::all().map(Model::name).collect::<Vec<_>>().join(", ")
        ));
        Box::pin(async move { Ok(status.into_http()) })
    }
}

/// The service as the server mounts it: the native message limits, and
/// compressed requests accepted. Answers are never compressed: grpc-core
/// clients (tritonclient) advertise gzip on every call, and gzipping tensor
/// data costs more CPU than the filter itself (issue #15).
pub fn server(native: TensorServiceImpl) -> KServeServer {
    use tonic::codec::CompressionEncoding;
    let max_message = usize::try_from(native.limits().max_message_bytes).unwrap_or(usize::MAX);
    KServeServer::new(
        GrpcInferenceServiceServer::new(KServeService::new(native))
            .max_decoding_message_size(max_message)
            .max_encoding_message_size(max_message)
            .accept_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Zstd),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Limits;

    fn raw_request(
        model: &str,
        datatype: &str,
        shape: Vec<i64>,
        data: Vec<u8>,
    ) -> pb::ModelInferRequest {
        pb::ModelInferRequest {
            model_name: model.into(),
            inputs: vec![InferInputTensor {
                name: if model == "image_size" {
                    "IMAGE"
                } else {
                    "INPUT"
                }
                .into(),
                datatype: datatype.into(),
                shape,
                ..Default::default()
            }],
            raw_input_contents: vec![data.into()],
            ..Default::default()
        }
    }

    fn service() -> KServeService {
        let limits = Limits::default();
        let budget = crate::budget::MemoryBudget::new(limits.memory_budget);
        KServeService::new(TensorServiceImpl::with_budget(limits, budget))
    }

    #[tokio::test]
    async fn describe_answers_the_requested_outputs_in_the_order_asked() {
        let mut request = raw_request(
            "describe",
            "INT32",
            vec![3],
            [1i32, 5, 3].iter().flat_map(|v| v.to_le_bytes()).collect(),
        );
        for name in ["MAX", "SHAPE"] {
            request
                .outputs
                .push(pb::model_infer_request::InferRequestedOutputTensor {
                    name: name.into(),
                    ..Default::default()
                });
        }
        let answer = service()
            .model_infer(Request::new(request))
            .await
            .unwrap()
            .into_inner();
        let names: Vec<_> = answer.outputs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["MAX", "SHAPE"]);
        assert_eq!(answer.raw_output_contents[0][..], 5f64.to_le_bytes());
        assert_eq!(answer.raw_output_contents[1][..], 3i64.to_le_bytes());
    }

    #[tokio::test]
    async fn unknown_inputs_outputs_and_models_are_named() {
        let mut request = raw_request("describe", "UINT8", vec![1], vec![1]);
        request.inputs[0].name = "X".into();
        let err = service()
            .model_infer(Request::new(request))
            .await
            .unwrap_err();
        assert!(err.message().contains("\"X\""), "{}", err.message());
        let mut request = raw_request("describe", "UINT8", vec![1], vec![1]);
        request
            .outputs
            .push(pb::model_infer_request::InferRequestedOutputTensor {
                name: "MEDIAN".into(),
                ..Default::default()
            });
        let err = service()
            .model_infer(Request::new(request))
            .await
            .unwrap_err();
        assert!(err.message().contains("\"MEDIAN\""), "{}", err.message());
        let request = raw_request("nope", "UINT8", vec![1], vec![1]);
        let err = service()
            .model_infer(Request::new(request))
            .await
            .unwrap_err();
        assert_eq!(err.code(), tonic::Code::NotFound);
    }
}
