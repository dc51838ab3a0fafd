//! Filter parameters written as text: the one table of their names, the
//! parsing of their values (numbers, per-axis lists, mode and dtype names)
//! and the messages that refuse them.
//!
//! The CLI (`--mode`), the gateway's `/v1/gaussian_filter` query and the
//! KServe model's request parameters all read parameters through this
//! module, so a name, a spelling and a refusal read the same everywhere.
//! Lists are comma-separated (`"1,2"`; blanks around items and empty items
//! are ignored); a single-valued parameter refuses a list. Setting the
//! parsed value on the wire's `GaussianParams` is `crate::proto`'s job.

use std::str::FromStr;

use thiserror::Error;

use super::{BoundaryMode, KernelExp};
use crate::tensor::DType;

/// One parameter of the Gaussian filter as the text routes name it (the
/// fields of `tensorwire.v1.GaussianParams`, scipy's argument names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Param {
    /// `sigma`: numbers, one or one per filtered axis.
    Sigma,
    /// `order`: non-negative integers, one or one per filtered axis.
    Order,
    /// `mode`: scipy's mode names, one or one per filtered axis.
    Mode,
    /// `cval`: one number.
    Cval,
    /// `truncate`: one number.
    Truncate,
    /// `radius`: non-negative integers, one or one per filtered axis.
    Radius,
    /// `axes`: integers, negative ones counting from the end.
    Axes,
    /// `axis`: one integer, negative counting from the end
    /// (`gaussian_filter1d`).
    Axis,
    /// `cval_imag`: one number, the imaginary part of `cval` (complex input only).
    CvalImag,
    /// `output_dtype`: a dtype name.
    OutputDtype,
    /// `exp`: which float64 `exp` builds the kernels (`libm`, the default,
    /// or `numpy-avx512`).
    Exp,
}

impl Param {
    /// Every parameter, in the order the routes list them.
    pub const ALL: [Param; 11] = [
        Param::Sigma,
        Param::Order,
        Param::Mode,
        Param::Cval,
        Param::Truncate,
        Param::Radius,
        Param::Axes,
        Param::Axis,
        Param::CvalImag,
        Param::OutputDtype,
        Param::Exp,
    ];

    /// The parameter's name (`"sigma"`, `"cval_imag"`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Param::Sigma => "sigma",
            Param::Order => "order",
            Param::Mode => "mode",
            Param::Cval => "cval",
            Param::Truncate => "truncate",
            Param::Radius => "radius",
            Param::Axes => "axes",
            Param::Axis => "axis",
            Param::CvalImag => "cval_imag",
            Param::OutputDtype => "output_dtype",
            Param::Exp => "exp",
        }
    }

    /// Looks a parameter up by its name.
    pub fn from_name(name: &str) -> Option<Param> {
        Param::ALL.into_iter().find(|p| p.name() == name)
    }

    /// True for parameters that matter only for complex input (a route
    /// that cannot carry complex tensors does not accept them).
    pub fn complex_only(self) -> bool {
        self == Param::CvalImag
    }
}

impl std::fmt::Display for Param {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a parameter written as text is refused. Every message names the
/// parameter and the value at fault.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum ParamError {
    /// A name that is not one of the reader's parameters.
    #[error("unknown parameter {name:?}: {reader} {}", reads(accepted))]
    Unknown {
        /// The name as given.
        name: String,
        /// Who reads the parameters (`/v1/gaussian_filter`, `model gaussian_filter`).
        reader: String,
        /// The names it accepts.
        accepted: Vec<&'static str>,
    },
    /// An item that is not a value of the parameter's kind.
    #[error("parameter {param:?}: {value:?} is not {expected}")]
    NotA {
        /// The parameter's name.
        param: String,
        /// The item as given.
        value: String,
        /// What it should be (`a number`, `an integer`, ...).
        expected: &'static str,
    },
    /// A single-valued parameter given a list.
    #[error("parameter {param:?} takes one value, got {count}")]
    NotOne {
        /// The parameter's name.
        param: String,
        /// Values given.
        count: usize,
    },
    /// A mode that is not one of scipy's.
    #[error(
        "parameter {param:?}: unknown mode {value:?}: use reflect, constant, nearest, mirror, wrap, grid-constant, grid-mirror or grid-wrap"
    )]
    UnknownMode {
        /// The parameter's name.
        param: String,
        /// The name as given.
        value: String,
    },
    /// An `exp` that is not one of [`KernelExp`]'s names.
    #[error("parameter {param:?}: unknown exp {value:?}: use libm (the default) or numpy-avx512")]
    UnknownExp {
        /// The parameter's name.
        param: String,
        /// The name as given.
        value: String,
    },
    /// A dtype that is not one of NumPy's names.
    #[error(
        "parameter {param:?}: unknown dtype {value:?}: use a NumPy dtype name such as uint8, int32, float32, float64, complex64"
    )]
    UnknownDtype {
        /// The parameter's name.
        param: String,
        /// The name as given.
        value: String,
    },
    /// A parameter present with no value at all.
    #[error("parameter {param:?} has no value")]
    NoValue {
        /// The parameter's name.
        param: String,
    },
}

fn reads(accepted: &[&str]) -> String {
    if accepted.is_empty() {
        "takes no parameters".to_owned()
    } else {
        format!("reads {}", accepted.join(", "))
    }
}

impl ParamError {
    /// The name of the parameter at fault (for an unknown parameter, the
    /// name as given).
    pub fn param(&self) -> &str {
        match self {
            ParamError::Unknown { name, .. } => name,
            ParamError::NotA { param, .. }
            | ParamError::NotOne { param, .. }
            | ParamError::UnknownMode { param, .. }
            | ParamError::UnknownExp { param, .. }
            | ParamError::UnknownDtype { param, .. }
            | ParamError::NoValue { param } => param,
        }
    }

    /// Refuses `name`, which `reader` does not read; it reads `accepted`.
    pub fn unknown(name: &str, reader: &str, accepted: Vec<&'static str>) -> ParamError {
        ParamError::Unknown {
            name: name.to_owned(),
            reader: reader.to_owned(),
            accepted,
        }
    }
}

/// A number type a parameter holds, with the words its refusal uses.
pub trait ParamNumber: FromStr {
    /// What a value must be, for the refusal (`a number`, `an integer`).
    const EXPECTED: &'static str;
}

impl ParamNumber for f64 {
    const EXPECTED: &'static str = "a number";
}

impl ParamNumber for u32 {
    const EXPECTED: &'static str = "a non-negative integer (0 to 4294967295)";
}

impl ParamNumber for i32 {
    const EXPECTED: &'static str = "an integer (-2147483648 to 2147483647)";
}

/// The items of a comma-separated list, trimmed, empty ones left out.
pub fn items(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// One number of `param`'s kind.
pub fn number<T: ParamNumber>(param: Param, text: &str) -> Result<T, ParamError> {
    let text = text.trim();
    text.parse().map_err(|_| ParamError::NotA {
        param: param.name().to_owned(),
        value: text.to_owned(),
        expected: T::EXPECTED,
    })
}

/// A list of numbers (`"1, 2"`); an empty text is an empty list.
pub fn numbers<T: ParamNumber>(param: Param, text: &str) -> Result<Vec<T>, ParamError> {
    items(text).map(|item| number(param, item)).collect()
}

/// A single number; a list of several is refused.
pub fn one_number<T: ParamNumber>(param: Param, text: &str) -> Result<T, ParamError> {
    match items(text).collect::<Vec<_>>().as_slice() {
        [one] => number(param, one),
        [] => Err(ParamError::NoValue {
            param: param.name().to_owned(),
        }),
        many => Err(ParamError::NotOne {
            param: param.name().to_owned(),
            count: many.len(),
        }),
    }
}

/// A mode by scipy's name, in any case, with `_` for `-` too
/// (`reflect`, `grid-wrap`, `GRID_WRAP`).
pub fn mode(text: &str) -> Result<BoundaryMode, ParamError> {
    let text = text.trim();
    BoundaryMode::from_name(&text.to_ascii_lowercase().replace('_', "-")).ok_or_else(|| {
        ParamError::UnknownMode {
            param: Param::Mode.name().to_owned(),
            value: text.to_owned(),
        }
    })
}

/// A list of modes (`"nearest,wrap"`).
pub fn modes(text: &str) -> Result<Vec<BoundaryMode>, ParamError> {
    items(text).map(mode).collect()
}

/// An `exp` by name (`libm`, `numpy-avx512`), in any case, with `_` for `-` too.
pub fn kernel_exp(text: &str) -> Result<KernelExp, ParamError> {
    let text = text.trim();
    KernelExp::from_name(&text.to_ascii_lowercase().replace('_', "-")).ok_or_else(|| {
        ParamError::UnknownExp {
            param: Param::Exp.name().to_owned(),
            value: text.to_owned(),
        }
    })
}

/// A dtype by its NumPy name (`float32`).
pub fn dtype(param: Param, text: &str) -> Result<DType, ParamError> {
    let text = text.trim();
    DType::from_name(text).ok_or_else(|| ParamError::UnknownDtype {
        param: param.name().to_owned(),
        value: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_only_cval_imag_is_complex_only() {
        for param in Param::ALL {
            assert_eq!(Param::from_name(param.name()), Some(param));
            assert_eq!(param.complex_only(), param == Param::CvalImag);
        }
        assert_eq!(Param::from_name("sigmas"), None);
    }

    #[test]
    fn lists_are_comma_separated_with_blanks_ignored() {
        assert_eq!(
            numbers::<f64>(Param::Sigma, " 1, 2.5,,3 ").unwrap(),
            [1.0, 2.5, 3.0]
        );
        assert_eq!(numbers::<i32>(Param::Axes, "-1,0").unwrap(), [-1, 0]);
        assert!(numbers::<u32>(Param::Order, "").unwrap().is_empty());
    }

    #[test]
    fn refusals_name_the_parameter_the_value_and_the_kind() {
        let err = numbers::<u32>(Param::Order, "1,-1").unwrap_err();
        assert_eq!(err.param(), "order");
        assert_eq!(
            err.to_string(),
            "parameter \"order\": \"-1\" is not a non-negative integer (0 to 4294967295)"
        );
        let err = one_number::<f64>(Param::Truncate, "1,2").unwrap_err();
        assert_eq!(
            err.to_string(),
            "parameter \"truncate\" takes one value, got 2"
        );
        assert!(matches!(
            one_number::<f64>(Param::Cval, " "),
            Err(ParamError::NoValue { .. })
        ));
        let err = ParamError::unknown("sigmas", "/v1/gaussian_filter", vec!["sigma", "order"]);
        assert!(
            err.to_string().starts_with(
                "unknown parameter \"sigmas\": /v1/gaussian_filter reads sigma, order"
            )
        );
        let err = ParamError::unknown("sigma", "model describe", vec![]);
        assert_eq!(
            err.to_string(),
            "unknown parameter \"sigma\": model describe takes no parameters"
        );
    }

    #[test]
    fn modes_read_in_any_case_with_either_separator() {
        for (text, expected) in [
            ("reflect", BoundaryMode::Reflect),
            ("grid-wrap", BoundaryMode::GridWrap),
            ("GRID_CONSTANT", BoundaryMode::GridConstant),
            (" Mirror ", BoundaryMode::Mirror),
        ] {
            assert_eq!(mode(text).unwrap(), expected, "{text}");
        }
        let err = modes("nearest,sideways").unwrap_err();
        assert_eq!(err.param(), "mode");
        assert!(err.to_string().contains("\"sideways\""), "{err}");
    }

    #[test]
    fn exps_read_by_name_in_any_case() {
        assert_eq!(
            kernel_exp(" NUMPY_AVX512 ").unwrap(),
            KernelExp::NumpyAvx512
        );
        assert_eq!(kernel_exp("libm").unwrap(), KernelExp::Libm);
        let err = kernel_exp("svml").unwrap_err();
        assert_eq!(err.param(), "exp");
        assert!(err.to_string().contains("numpy-avx512"), "{err}");
    }

    #[test]
    fn dtypes_read_numpy_names() {
        assert_eq!(
            dtype(Param::OutputDtype, "float32").unwrap(),
            DType::Float32
        );
        let err = dtype(Param::OutputDtype, "float31").unwrap_err();
        assert!(err.to_string().contains("\"float31\""), "{err}");
        assert_eq!(err.param(), "output_dtype");
    }
}
