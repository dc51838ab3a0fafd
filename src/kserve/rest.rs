//! The Open Inference Protocol's REST/JSON forms, translated to and from the
//! gRPC messages (the gateway sends those to the gRPC service, which does
//! the work).
//!
//! Inference requests carry tensors as JSON `data` (flat row-major or
//! nested lists) or, with the binary tensor data extension, as bytes after
//! the JSON header: `Inference-Header-Content-Length` says how long the JSON
//! is, and each binary input says its `binary_data_size`. Answers put an
//! output in binary when it asks (`"binary_data": true`) or the request asks
//! for all (`"binary_data_output": true`); otherwise its `data` is a flat
//! JSON list.

use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::pb::{self, InferParameter, infer_parameter::ParameterChoice};
use super::tensor::{BYTES, dtype_of, half_to_f64, join_bytes_elements, split_bytes_elements};
use crate::tensor::DType;

/// The header that gives the length of the JSON part of a binary body.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

/// A request that cannot be read; the message says what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RestError(pub String);

fn bad(message: impl Into<String>) -> RestError {
    RestError(message.into())
}

/// An input tensor of a REST request.
#[derive(Debug, Deserialize)]
struct RestInput {
    name: String,
    shape: Vec<i64>,
    datatype: String,
    #[serde(default)]
    parameters: Map<String, Value>,
    data: Option<Value>,
}

/// A requested output of a REST request.
#[derive(Debug, Deserialize)]
struct RestOutput {
    name: String,
    #[serde(default)]
    parameters: Map<String, Value>,
}

/// A REST inference request.
#[derive(Debug, Deserialize)]
struct RestRequest {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    parameters: Map<String, Value>,
    inputs: Vec<RestInput>,
    #[serde(default)]
    outputs: Vec<RestOutput>,
}

/// Which outputs the answer carries in binary.
#[derive(Debug, Default)]
pub struct BinaryOutputs {
    all: bool,
    named: HashMap<String, bool>,
}

impl BinaryOutputs {
    fn binary(&self, name: &str) -> bool {
        self.named.get(name).copied().unwrap_or(self.all)
    }
}

/// A JSON parameter as a protocol parameter.
fn parameter(name: &str, value: &Value) -> Result<InferParameter, RestError> {
    let choice = match value {
        Value::Bool(b) => ParameterChoice::BoolParam(*b),
        Value::String(s) => ParameterChoice::StringParam(s.clone()),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                ParameterChoice::Int64Param(i)
            } else if let Some(u) = n.as_u64() {
                ParameterChoice::Uint64Param(u)
            } else {
                ParameterChoice::DoubleParam(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        other => {
            return Err(bad(format!(
                "parameter {name:?} is {other}; parameters are strings, numbers or booleans"
            )));
        }
    };
    Ok(InferParameter {
        parameter_choice: Some(choice),
    })
}

fn flag(parameters: &Map<String, Value>, name: &str) -> Result<Option<bool>, RestError> {
    match parameters.get(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(other) => Err(bad(format!(
            "parameter {name:?} must be true or false, not {other}"
        ))),
    }
}

/// Reads a REST inference body (JSON, or JSON and binary data when
/// `header_length` is given) into the gRPC request for `model`.
pub fn read_infer_request(
    model: &str,
    version: &str,
    header_length: Option<usize>,
    body: Bytes,
) -> Result<(pb::ModelInferRequest, BinaryOutputs), RestError> {
    let (json, mut binary) = match header_length {
        Some(len) if len > body.len() => {
            return Err(bad(format!(
                "Inference-Header-Content-Length is {len} but the body has only {} bytes",
                body.len()
            )));
        }
        Some(len) => (body.slice(..len), body.slice(len..)),
        None => (body, Bytes::new()),
    };
    // serde_json does not check the strings of the fields it skips: a body
    // that is not UTF-8 is refused whole, as Python's `json` refuses it.
    let json = std::str::from_utf8(&json).map_err(|e| {
        bad(format!(
            "the inference request is not valid JSON of the protocol: not UTF-8 ({e})"
        ))
    })?;
    let request: RestRequest = serde_json::from_str(json).map_err(|e| {
        bad(format!(
            "the inference request is not valid JSON of the protocol: {e}"
        ))
    })?;
    let mut out = pb::ModelInferRequest {
        model_name: model.to_owned(),
        model_version: version.to_owned(),
        id: request.id.unwrap_or_default(),
        ..Default::default()
    };
    let mut choice = BinaryOutputs {
        all: flag(&request.parameters, "binary_data_output")?.unwrap_or(false),
        named: HashMap::new(),
    };
    for (name, value) in &request.parameters {
        out.parameters.insert(name.clone(), parameter(name, value)?);
    }
    for input in request.inputs {
        let what = format!("input {:?}", input.name);
        let raw = match input.parameters.get("binary_data_size") {
            Some(size) => {
                let size = size
                    .as_u64()
                    .and_then(|s| usize::try_from(s).ok())
                    .ok_or_else(|| {
                        bad(format!(
                            "{what}: binary_data_size must be a non-negative integer"
                        ))
                    })?;
                if size > binary.len() {
                    return Err(bad(format!(
                        "{what}: binary_data_size is {size} but only {} bytes of binary data remain",
                        binary.len()
                    )));
                }
                if input.data.is_some() {
                    return Err(bad(format!("{what} has both data and binary_data_size")));
                }
                binary.split_to(size)
            }
            None => {
                let data = input
                    .data
                    .as_ref()
                    .ok_or_else(|| bad(format!("{what} has neither data nor binary_data_size")))?;
                json_to_raw(&input.datatype, &input.shape, data, &what)?
            }
        };
        out.raw_input_contents.push(raw);
        out.inputs.push(pb::model_infer_request::InferInputTensor {
            name: input.name,
            datatype: input.datatype,
            shape: input.shape,
            ..Default::default()
        });
    }
    if !binary.is_empty() {
        return Err(bad(format!(
            "{} bytes of binary data follow the inputs' binary_data_size",
            binary.len()
        )));
    }
    for output in request.outputs {
        if let Some(b) = flag(&output.parameters, "binary_data")? {
            choice.named.insert(output.name.clone(), b);
        }
        out.outputs
            .push(pb::model_infer_request::InferRequestedOutputTensor {
                name: output.name,
                ..Default::default()
            });
    }
    Ok((out, choice))
}

/// Flattens nested JSON lists row-major.
fn flatten<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|v| flatten(v, out)),
        other => out.push(other),
    }
}

/// JSON `data` → raw contents of the datatype. The element count is
/// checked against the shape before the buffer is sized (by the elements
/// already parsed).
/// Appends `value` with `put` when it fits the integer type `T`; `None`
/// for a value that is not an integer or does not fit.
fn put_integer<T: TryFrom<i128>>(
    out: &mut BytesMut,
    value: Option<i128>,
    put: fn(&mut BytesMut, T),
) -> Option<()> {
    put(out, T::try_from(value?).ok()?);
    Some(())
}

fn json_to_raw(
    datatype: &str,
    shape: &[i64],
    data: &Value,
    what: &str,
) -> Result<Bytes, RestError> {
    let mut elements = Vec::new();
    flatten(data, &mut elements);
    let expected = shape
        .iter()
        .try_fold(1u64, |acc, &d| {
            u64::try_from(d).ok().and_then(|d| acc.checked_mul(d))
        })
        .ok_or_else(|| {
            bad(format!(
                "{what} has the shape {shape:?}, which is not valid"
            ))
        })?;
    if elements.len() as u64 != expected {
        return Err(bad(format!(
            "{what}: data holds {} elements but the shape {shape:?} needs {expected}",
            elements.len()
        )));
    }
    if datatype == BYTES {
        let strings: Vec<&[u8]> = elements
            .iter()
            .map(|v| v.as_str().map(str::as_bytes))
            .collect::<Option<_>>()
            .ok_or_else(|| bad(format!("{what}: BYTES data must be strings")))?;
        return join_bytes_elements(&strings).map_err(|s| bad(s.message()));
    }
    let dtype = dtype_of(datatype, what).map_err(|s| bad(s.message()))?;
    let mut out = BytesMut::with_capacity(elements.len() * dtype.itemsize());
    for (index, value) in elements.iter().enumerate() {
        let wrong = || {
            bad(format!(
                "{what}: element {index} is {value}, not a value of {datatype}"
            ))
        };
        let int = || {
            value
                .as_i64()
                .map(i128::from)
                .or_else(|| value.as_u64().map(i128::from))
        };
        let float = || value.as_f64();
        match dtype {
            DType::Bool => out.put_u8(u8::from(value.as_bool().ok_or_else(wrong)?)),
            DType::UInt8 => put_integer(&mut out, int(), BytesMut::put_u8).ok_or_else(wrong)?,
            DType::Int8 => put_integer(&mut out, int(), BytesMut::put_i8).ok_or_else(wrong)?,
            DType::UInt16 => {
                put_integer(&mut out, int(), BytesMut::put_u16_le).ok_or_else(wrong)?
            }
            DType::Int16 => put_integer(&mut out, int(), BytesMut::put_i16_le).ok_or_else(wrong)?,
            DType::UInt32 => {
                put_integer(&mut out, int(), BytesMut::put_u32_le).ok_or_else(wrong)?
            }
            DType::Int32 => put_integer(&mut out, int(), BytesMut::put_i32_le).ok_or_else(wrong)?,
            DType::UInt64 => {
                put_integer(&mut out, int(), BytesMut::put_u64_le).ok_or_else(wrong)?
            }
            DType::Int64 => put_integer(&mut out, int(), BytesMut::put_i64_le).ok_or_else(wrong)?,
            DType::Float16 => {
                out.put_slice(&half::f16::from_f64(float().ok_or_else(wrong)?).to_le_bytes())
            }
            DType::BFloat16 => {
                out.put_slice(&half::bf16::from_f64(float().ok_or_else(wrong)?).to_le_bytes())
            }
            DType::Float32 => out.put_f32_le(float().ok_or_else(wrong)? as f32),
            DType::Float64 => out.put_f64_le(float().ok_or_else(wrong)?),
            DType::Complex64 | DType::Complex128 => return Err(wrong()),
        }
    }
    Ok(out.freeze())
}

/// Raw contents of a datatype → a flat JSON list.
fn raw_to_json(datatype: &str, shape: &[i64], raw: &Bytes) -> Result<Value, RestError> {
    if datatype == BYTES {
        let count = shape.iter().product::<i64>().max(0) as usize;
        let elements = split_bytes_elements(raw, count, "output").map_err(|s| bad(s.message()))?;
        return Ok(Value::Array(
            elements
                .iter()
                .map(|e| Value::String(String::from_utf8_lossy(e).into_owned()))
                .collect(),
        ));
    }
    let dtype = dtype_of(datatype, "output").map_err(|s| bad(s.message()))?;
    fn each<const N: usize>(raw: &[u8], f: impl Fn([u8; N]) -> Value) -> Vec<Value> {
        raw.chunks_exact(N)
            .map(|c| f(c.try_into().unwrap_or([0; N])))
            .collect()
    }
    let values = match dtype {
        DType::Bool => raw.iter().map(|&b| Value::Bool(b != 0)).collect(),
        DType::UInt8 => raw.iter().map(|&b| Value::from(b)).collect(),
        DType::Int8 => raw.iter().map(|&b| Value::from(b as i8)).collect(),
        DType::UInt16 => each(raw, |b| Value::from(u16::from_le_bytes(b))),
        DType::Int16 => each(raw, |b| Value::from(i16::from_le_bytes(b))),
        DType::UInt32 => each(raw, |b| Value::from(u32::from_le_bytes(b))),
        DType::Int32 => each(raw, |b| Value::from(i32::from_le_bytes(b))),
        DType::UInt64 => each(raw, |b| Value::from(u64::from_le_bytes(b))),
        DType::Int64 => each(raw, |b| Value::from(i64::from_le_bytes(b))),
        DType::Float16 | DType::BFloat16 => each(raw, |b| Value::from(half_to_f64(dtype, b))),
        DType::Float32 => each(raw, |b| Value::from(f32::from_le_bytes(b))),
        DType::Float64 => each(raw, |b| Value::from(f64::from_le_bytes(b))),
        DType::Complex64 | DType::Complex128 => Vec::new(),
    };
    Ok(Value::Array(values))
}

/// An output tensor of a REST answer.
#[derive(Debug, Serialize)]
struct RestOutputTensor {
    name: String,
    datatype: String,
    shape: Vec<i64>,
    #[serde(skip_serializing_if = "Map::is_empty")]
    parameters: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<Value>,
}

/// A REST inference answer.
#[derive(Debug, Serialize)]
struct RestResponse {
    model_name: String,
    model_version: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    id: String,
    outputs: Vec<RestOutputTensor>,
}

/// The REST answer of a gRPC answer: the body, and the length of its JSON
/// part when binary data follows (for `Inference-Header-Content-Length`).
pub fn write_infer_response(
    response: pb::ModelInferResponse,
    binary: &BinaryOutputs,
) -> Result<(Bytes, Option<usize>), RestError> {
    let raws = response.raw_output_contents;
    if raws.len() != response.outputs.len() {
        return Err(bad("the service answered without raw contents"));
    }
    let mut tail = BytesMut::new();
    let mut outputs = Vec::new();
    for (output, raw) in response.outputs.into_iter().zip(raws) {
        let mut tensor = RestOutputTensor {
            parameters: Map::new(),
            data: None,
            shape: output.shape,
            datatype: output.datatype,
            name: output.name,
        };
        if binary.binary(&tensor.name) {
            tensor
                .parameters
                .insert("binary_data_size".into(), Value::from(raw.len()));
            tail.put_slice(&raw);
        } else {
            tensor.data = Some(raw_to_json(&tensor.datatype, &tensor.shape, &raw)?);
        }
        outputs.push(tensor);
    }
    let json = serde_json::to_vec(&RestResponse {
        model_name: response.model_name,
        model_version: response.model_version,
        id: response.id,
        outputs,
    })
    .map_err(|e| bad(format!("encoding the answer failed: {e}")))?;
    if tail.is_empty() && !binary.all && binary.named.values().all(|b| !b) {
        return Ok((Bytes::from(json), None));
    }
    let json_len = json.len();
    let mut body = BytesMut::with_capacity(json_len + tail.len());
    body.put_slice(&json);
    body.put_slice(&tail);
    Ok((body.freeze(), Some(json_len)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_flat_json_data_give_the_same_raw_contents() {
        let flat =
            br#"{"inputs":[{"name":"INPUT","shape":[2,2],"datatype":"INT16","data":[1,-2,3,4]}]}"#;
        let nested = br#"{"inputs":[{"name":"INPUT","shape":[2,2],"datatype":"INT16","data":[[1,-2],[3,4]]}]}"#;
        let (a, _) = read_infer_request("describe", "", None, Bytes::from_static(flat)).unwrap();
        let (b, _) = read_infer_request("describe", "", None, Bytes::from_static(nested)).unwrap();
        assert_eq!(a.raw_input_contents, b.raw_input_contents);
        let expected: Vec<u8> = [1i16, -2, 3, 4]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(a.raw_input_contents[0][..], expected[..]);
    }

    #[test]
    fn json_float64_data_and_double_parameters_parse_to_the_exact_doubles() {
        let texts: Vec<&str> = crate::test_values::HARD_DOUBLES
            .iter()
            .map(|(t, _)| *t)
            .collect();
        let json = format!(
            r#"{{"inputs":[{{"name":"INPUT","shape":[{}],"datatype":"FP64","data":[{}]}}],"parameters":{{"cval":{}}}}}"#,
            texts.len(),
            texts.join(","),
            texts[0]
        );
        let (req, _) = read_infer_request("gaussian_filter", "", None, json.into()).unwrap();
        let got: Vec<u64> = req.raw_input_contents[0]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let want: Vec<u64> = crate::test_values::HARD_DOUBLES
            .iter()
            .map(|(_, bits)| *bits)
            .collect();
        assert_eq!(got, want);
        let cval = match &req.parameters["cval"].parameter_choice {
            Some(ParameterChoice::DoubleParam(v)) => *v,
            other => panic!("cval is {other:?}"),
        };
        assert_eq!(cval.to_bits(), crate::test_values::HARD_DOUBLES[0].1);
    }

    #[test]
    fn binary_inputs_are_cut_from_the_tail_by_their_sizes() {
        let json = br#"{"inputs":[{"name":"INPUT","shape":[2],"datatype":"UINT8","parameters":{"binary_data_size":2}}],"parameters":{"sigma":"1"}}"#;
        let mut body = json.to_vec();
        body.extend_from_slice(&[7, 9]);
        let (req, _) =
            read_infer_request("gaussian_filter", "1", Some(json.len()), body.into()).unwrap();
        assert_eq!(req.raw_input_contents[0][..], [7, 9]);
        assert!(req.parameters.contains_key("sigma"));
        let short = read_infer_request(
            "gaussian_filter",
            "1",
            Some(json.len()),
            Bytes::from_static(json),
        )
        .unwrap_err();
        assert!(short.0.contains("binary_data_size is 2"), "{}", short.0);
    }

    #[test]
    fn refuses_counts_and_values_that_do_not_fit() {
        let count = br#"{"inputs":[{"name":"INPUT","shape":[3],"datatype":"UINT8","data":[1,2]}]}"#;
        assert!(
            read_infer_request("m", "", None, Bytes::from_static(count))
                .unwrap_err()
                .0
                .contains("needs 3")
        );
        let range = br#"{"inputs":[{"name":"INPUT","shape":[1],"datatype":"UINT8","data":[300]}]}"#;
        assert!(
            read_infer_request("m", "", None, Bytes::from_static(range))
                .unwrap_err()
                .0
                .contains("300")
        );
    }

    #[test]
    fn answers_binary_outputs_after_the_json() {
        let response = pb::ModelInferResponse {
            model_name: "describe".into(),
            model_version: "1".into(),
            outputs: vec![
                pb::model_infer_response::InferOutputTensor {
                    name: "MIN".into(),
                    datatype: "FP64".into(),
                    shape: vec![1],
                    ..Default::default()
                },
                pb::model_infer_response::InferOutputTensor {
                    name: "SHAPE".into(),
                    datatype: "INT64".into(),
                    shape: vec![1],
                    ..Default::default()
                },
            ],
            raw_output_contents: vec![
                Bytes::from(1.5f64.to_le_bytes().to_vec()),
                Bytes::from(4i64.to_le_bytes().to_vec()),
            ],
            ..Default::default()
        };
        let mut binary = BinaryOutputs::default();
        binary.named.insert("SHAPE".into(), true);
        let (body, json_len) = write_infer_response(response, &binary).unwrap();
        let json_len = json_len.unwrap();
        let header: Value = serde_json::from_slice(&body[..json_len]).unwrap();
        assert_eq!(header["outputs"][0]["data"], serde_json::json!([1.5]));
        assert_eq!(header["outputs"][1]["parameters"]["binary_data_size"], 8);
        assert_eq!(body[json_len..], 4i64.to_le_bytes());
    }
}
