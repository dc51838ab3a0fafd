//! Request parameters of the Open Inference Protocol read into the filter's
//! wire parameters (`tensorwire.v1.GaussianParams`), which the native
//! handler then checks like any other call.
//!
//! Every parameter accepts a string (`"2.0"`; per-axis lists comma-separated,
//! `"2,1"`, `"nearest,wrap"`), because `tritonclient.grpc` refuses float
//! parameters; numbers also come as `double_param`, `int64_param` or
//! `uint64_param` where the type fits. Names, values and refusals are those
//! of `crate::filter::param_text`, as on the native routes; dtypes are
//! read by the protocol's datatype names too.

use std::collections::HashMap;

use tonic::Status;

use super::pb::{InferParameter, infer_parameter::ParameterChoice};
use super::tensor::{COMPLEX_REFUSAL, dtype_of};
use crate::filter::param_text::{Param, ParamError};
use crate::ops::Operation;
use crate::proto::pb as native;
use crate::tensor::DType;

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

/// One parameter's value as text, whatever field it came in: numbers are
/// written so that the text parser reads them back exactly (a double keeps
/// its fraction point, so `order` still refuses `1.0`), and a boolean is
/// its word, which no filter parameter reads.
fn value_text(name: &str, param: &InferParameter) -> Result<String, ParamError> {
    Ok(match param.parameter_choice.as_ref() {
        Some(ParameterChoice::StringParam(s)) => s.clone(),
        Some(ParameterChoice::DoubleParam(d)) => format!("{d:?}"),
        Some(ParameterChoice::Int64Param(i)) => i.to_string(),
        Some(ParameterChoice::Uint64Param(u)) => u.to_string(),
        Some(ParameterChoice::BoolParam(b)) => b.to_string(),
        None => {
            return Err(ParamError::NoValue {
                param: name.to_owned(),
            });
        }
    })
}

/// `INVALID_ARGUMENT` naming the parameter at fault (a `BadRequest` violation).
fn refuse(err: ParamError) -> Status {
    crate::service::bad_argument(Some(err.param()), err.to_string())
}

/// A dtype by the protocol's datatype name (`FP32`) or NumPy's (`float32`);
/// complex is refused (the answer could not be carried).
pub fn output_dtype(name: &str, text: &str) -> Result<DType, Status> {
    let value = text.trim();
    let dtype = match DType::from_name(value) {
        Some(dtype) => dtype,
        None => dtype_of(value, &format!("parameter {name:?}"))?,
    };
    if dtype.is_complex() {
        return Err(crate::service::bad_argument(
            Some(name),
            format!("parameter {name:?}: {COMPLEX_REFUSAL}"),
        ));
    }
    Ok(dtype)
}

/// Checks that a model that takes no parameters got none of its own.
pub fn no_parameters(model: &str, params: &HashMap<String, InferParameter>) -> Result<(), Status> {
    match params
        .keys()
        .find(|k| !CLIENT_PARAMETERS.contains(&k.as_str()))
    {
        Some(name) => Err(refuse(ParamError::unknown(
            name,
            &format!("model {model}"),
            vec![],
        ))),
        None => Ok(()),
    }
}

/// An operation's parameters from a request's parameters (its table,
/// without the complex-only `cval_imag`: the protocol carries no complex
/// tensors), as the operation's `OpParams`.
pub fn op_params(
    op: &Operation,
    params: &HashMap<String, InferParameter>,
) -> Result<native::OpParams, Status> {
    let reader = format!("model {}", op.name);
    let mut out = native::GaussianParams::default();
    for (name, param) in params {
        if CLIENT_PARAMETERS.contains(&name.as_str()) {
            continue;
        }
        let text = value_text(name, param).map_err(refuse)?;
        if name == Param::OutputDtype.name() && op.takes(Param::OutputDtype).is_some() {
            out.output_dtype = native::DType::from(output_dtype(name, &text)?) as i32;
        } else {
            op.set_text(&mut out, name, &text, &reader, false)
                .map_err(refuse)?;
        }
    }
    // Refused as the service refuses a filter error, naming its field.
    op.to_wire(out)
        .map_err(|e| Status::from(crate::service::ServiceError::from(e)))
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

    /// `gaussian_filter`'s parameters, out of its `OpParams`.
    fn filter_params(
        params: &HashMap<String, InferParameter>,
    ) -> Result<native::GaussianParams, Status> {
        let op = crate::ops::by_name("gaussian_filter").unwrap();
        match op_params(op, params)?.op {
            Some(native::op_params::Op::GaussianFilter(p)) => Ok(p),
            other => panic!("gaussian_filter's parameters came as {other:?}"),
        }
    }

    #[test]
    fn each_model_reads_its_operations_parameters() {
        let one_d = crate::ops::by_name("gaussian_filter1d").unwrap();
        let params = op_params(
            one_d,
            &map(&[("sigma", string("2")), ("axis", string("0"))]),
        )
        .unwrap();
        assert!(matches!(
            params.op,
            Some(native::op_params::Op::GaussianFilter1d(
                native::GaussianFilter1dParams {
                    sigma: Some(2.0),
                    axis: Some(0),
                    ..
                }
            ))
        ));
        let err = op_params(one_d, &map(&[("sigma", string("1,2"))])).unwrap_err();
        assert_eq!(err.code(), tonic::Code::InvalidArgument);
        assert!(
            err.message().contains("sigma takes one value"),
            "{}",
            err.message()
        );
        let laplace = crate::ops::by_name("gaussian_laplace").unwrap();
        let err = op_params(laplace, &map(&[("order", string("1"))])).unwrap_err();
        assert!(
            err.message().contains("model gaussian_laplace reads sigma"),
            "{}",
            err.message()
        );
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
        let typed = |choice| {
            map(&[(
                "order",
                InferParameter {
                    parameter_choice: Some(choice),
                },
            )])
        };
        for choice in [
            ParameterChoice::DoubleParam(1.0),
            ParameterChoice::BoolParam(true),
            ParameterChoice::Int64Param(-1),
            ParameterChoice::Uint64Param(1 << 40),
        ] {
            let err = filter_params(&typed(choice.clone())).unwrap_err();
            assert!(
                err.message().contains("\"order\""),
                "{choice:?}: {}",
                err.message()
            );
        }
        let complex_only = filter_params(&map(&[("cval_imag", string("1"))])).unwrap_err();
        assert!(
            complex_only
                .message()
                .ends_with("model gaussian_filter reads sigma, order, mode, cval, truncate, radius, axes, output_dtype, exp"),
            "{}",
            complex_only.message()
        );
        assert!(no_parameters("describe", &map(&[("sigma", string("1"))])).is_err());
        assert!(no_parameters("describe", &map(&[("priority", string("1"))])).is_ok());
    }
}
