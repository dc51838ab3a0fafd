//! Request parameters of the Open Inference Protocol read into the filter's
//! wire parameters (`tensorwire.v1.GaussianParams`), which the native
//! handler then checks like any other call.
//!
//! Every parameter accepts a string (`"2.0"`; per-axis lists comma-separated,
//! `"2,1"`, `"nearest,wrap"`), because `tritonclient.grpc` refuses float
//! parameters; numbers also come as `double_param`, `int64_param` or
//! `uint64_param` where the type fits. Mode names are scipy's, looked up by
//! `BoundaryMode::from_name`; dtypes by the protocol's datatype names or
//! NumPy's (`DType::from_name`).

use std::collections::HashMap;

use tonic::Status;

use super::pb::{InferParameter, infer_parameter::ParameterChoice};
use super::tensor::{COMPLEX_REFUSAL, dtype_of};
use crate::filter::BoundaryMode;
use crate::proto::pb as native;
use crate::tensor::DType;

/// The parameters `gaussian_filter` reads.
pub const FILTER_PARAMETERS: [&str; 8] = [
    "sigma",
    "order",
    "mode",
    "cval",
    "truncate",
    "radius",
    "axes",
    "output_dtype",
];

/// Parameters that Triton and KServe clients set for their own purposes
/// (`tritonclient` sends `timeout`, `priority` and the sequence ones; the
/// REST binary extension sends `binary_data_output`): read by no model,
/// refused by none.
pub const CLIENT_PARAMETERS: [&str; 6] = [
    "sequence_id",
    "sequence_start",
    "sequence_end",
    "priority",
    "timeout",
    "binary_data_output",
];

/// One parameter's value, whatever field it came in.
enum Value<'a> {
    Text(&'a str),
    Float(f64),
    Int(i128),
    Bool,
}

impl<'a> Value<'a> {
    fn of(param: &'a InferParameter) -> Option<Value<'a>> {
        Some(match param.parameter_choice.as_ref()? {
            ParameterChoice::StringParam(s) => Value::Text(s),
            ParameterChoice::DoubleParam(d) => Value::Float(*d),
            ParameterChoice::Int64Param(i) => Value::Int((*i).into()),
            ParameterChoice::Uint64Param(u) => Value::Int((*u).into()),
            ParameterChoice::BoolParam(_) => Value::Bool,
        })
    }
}

fn bad(name: &str, detail: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("parameter {name:?}: {detail}"))
}

/// A list of numbers: a comma-separated string, or one number.
fn numbers<T>(
    name: &str,
    param: &InferParameter,
    from_int: impl Fn(i128) -> Option<T>,
    from_float: impl Fn(f64) -> Option<T>,
) -> Result<Vec<T>, Status>
where
    T: std::str::FromStr,
{
    match Value::of(param) {
        Some(Value::Text(text)) => text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|item| {
                item.parse::<T>()
                    .map_err(|_| bad(name, format!("{item:?} is not a number of the right kind")))
            })
            .collect(),
        Some(Value::Int(i)) => from_int(i)
            .map(|v| vec![v])
            .ok_or_else(|| bad(name, format!("{i} is out of range"))),
        Some(Value::Float(f)) => from_float(f)
            .map(|v| vec![v])
            .ok_or_else(|| bad(name, format!("{f} is not a number of the right kind"))),
        Some(Value::Bool) => Err(bad(name, "a boolean is not a number")),
        None => Err(bad(name, "no value")),
    }
}

fn floats(name: &str, param: &InferParameter) -> Result<Vec<f64>, Status> {
    numbers(name, param, |i| Some(i as f64), Some)
}

fn one_float(name: &str, param: &InferParameter) -> Result<f64, Status> {
    match floats(name, param)?.as_slice() {
        [value] => Ok(*value),
        other => Err(bad(name, format!("takes one number, got {}", other.len()))),
    }
}

fn ints<T: TryFrom<i128> + std::str::FromStr>(
    name: &str,
    param: &InferParameter,
) -> Result<Vec<T>, Status> {
    numbers(name, param, |i| T::try_from(i).ok(), |_| None)
}

fn text<'a>(name: &str, param: &'a InferParameter) -> Result<&'a str, Status> {
    match Value::of(param) {
        Some(Value::Text(text)) => Ok(text),
        _ => Err(bad(name, "takes a string")),
    }
}

/// scipy's mode names (`reflect`, `grid-wrap`, ...; `_` for `-` too), as
/// the codes of the native `Mode` enum.
fn modes(name: &str, param: &InferParameter) -> Result<Vec<i32>, Status> {
    text(name, param)?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|item| {
            let mode = BoundaryMode::from_name(&item.to_ascii_lowercase().replace('_', "-"))
                .ok_or_else(|| {
                    bad(
                        name,
                        format!(
                            "unknown mode {item:?}: use reflect, constant, nearest, mirror, wrap, grid-constant, grid-mirror or grid-wrap"
                        ),
                    )
                })?;
            Ok(BoundaryMode::ALL.iter().position(|m| *m == mode).unwrap_or(0) as i32)
        })
        .collect()
}

/// A dtype by the protocol's datatype name (`FP32`) or NumPy's (`float32`);
/// complex is refused (the answer could not be carried).
pub fn output_dtype(name: &str, param: &InferParameter) -> Result<DType, Status> {
    let value = text(name, param)?.trim();
    let dtype = DType::from_name(value)
        .map(Ok)
        .unwrap_or_else(|| dtype_of(value, &format!("parameter {name:?}")))?;
    if dtype.is_complex() {
        return Err(bad(name, COMPLEX_REFUSAL));
    }
    Ok(dtype)
}

/// Refuses parameters no model reads (client-reserved ones pass).
fn unknown(model: &str, name: &str, reads: &[&str]) -> Status {
    let reads = if reads.is_empty() {
        "it takes no parameters".to_owned()
    } else {
        format!("it reads {}", reads.join(", "))
    };
    Status::invalid_argument(format!(
        "unknown parameter {name:?} for model {model}; {reads}"
    ))
}

/// Checks that a model that takes no parameters got none of its own.
pub fn no_parameters(model: &str, params: &HashMap<String, InferParameter>) -> Result<(), Status> {
    match params
        .keys()
        .find(|k| !CLIENT_PARAMETERS.contains(&k.as_str()))
    {
        Some(name) => Err(unknown(model, name, &[])),
        None => Ok(()),
    }
}

/// The filter's parameters from a request's parameters.
pub fn filter_params(
    params: &HashMap<String, InferParameter>,
) -> Result<native::GaussianParams, Status> {
    let mut out = native::GaussianParams::default();
    for (name, param) in params {
        let name = name.as_str();
        match name {
            "sigma" => out.sigma = floats(name, param)?,
            "order" => out.order = ints(name, param)?,
            "mode" => out.mode = modes(name, param)?,
            "cval" => out.cval = one_float(name, param)?,
            "truncate" => out.truncate = Some(one_float(name, param)?),
            "radius" => out.radius = ints(name, param)?,
            "axes" => out.axes = ints(name, param)?,
            "output_dtype" => {
                out.output_dtype = native::DType::from(output_dtype(name, param)?) as i32;
            }
            other if CLIENT_PARAMETERS.contains(&other) => {}
            other => return Err(unknown("gaussian_filter", other, &FILTER_PARAMETERS)),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(s: &str) -> InferParameter {
        InferParameter {
            parameter_choice: Some(ParameterChoice::StringParam(s.into())),
        }
    }

    fn map(items: &[(&str, InferParameter)]) -> HashMap<String, InferParameter> {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn strings_and_typed_numbers_become_filter_params() {
        let params = filter_params(&map(&[
            ("sigma", string("2, 1")),
            ("mode", string("nearest,grid_wrap")),
            (
                "order",
                InferParameter {
                    parameter_choice: Some(ParameterChoice::Int64Param(1)),
                },
            ),
            (
                "truncate",
                InferParameter {
                    parameter_choice: Some(ParameterChoice::DoubleParam(3.5)),
                },
            ),
            ("cval", string("-1.5")),
            ("radius", string("3,2")),
            ("axes", string("-1,0")),
            ("output_dtype", string("FP64")),
            ("timeout", string("ignored")),
        ]))
        .unwrap();
        assert_eq!(params.sigma, [2.0, 1.0]);
        assert_eq!(params.mode, [2, 7]);
        assert_eq!(params.order, [1]);
        assert_eq!(params.truncate, Some(3.5));
        assert_eq!(params.cval, -1.5);
        assert_eq!(params.radius, [3, 2]);
        assert_eq!(params.axes, [-1, 0]);
        assert_eq!(params.output_dtype, native::DType::DtypeFloat64 as i32);
        let numpy = filter_params(&map(&[("output_dtype", string("uint16"))])).unwrap();
        assert_eq!(numpy.output_dtype, native::DType::DtypeUint16 as i32);
    }

    #[test]
    fn refusals_name_the_parameter_and_the_value() {
        let cases = [
            (map(&[("sigmas", string("1"))]), "\"sigmas\""),
            (map(&[("sigma", string("1,x"))]), "\"x\""),
            (map(&[("mode", string("bogus"))]), "\"bogus\""),
            (map(&[("order", string("-1"))]), "\"-1\""),
            (
                map(&[("output_dtype", string("complex64"))]),
                "tensorwire.v1",
            ),
            (map(&[("truncate", string("1,2"))]), "\"truncate\""),
        ];
        for (params, needle) in cases {
            let err = filter_params(&params).unwrap_err();
            assert_eq!(err.code(), tonic::Code::InvalidArgument);
            assert!(
                err.message().contains(needle),
                "{} lacks {needle}",
                err.message()
            );
        }
        assert!(no_parameters("describe", &map(&[("sigma", string("1"))])).is_err());
        assert!(no_parameters("describe", &map(&[("priority", string("1"))])).is_ok());
    }
}
