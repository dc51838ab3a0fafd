//! The operations tensorwire computes, one module each, and the registry
//! every front reads ([`ALL`]).
//!
//! An operation declares everything a front needs: its name (scipy's: the
//! HTTP route `/v1/<name>`, the KServe model, the CLI's `--op`, the Python
//! package's method), its parameters (one table, [`ParamSpec`]: which of
//! the text parameters of `filter::param_text` it takes, one value or a
//! list, the default and what it means), the kernels a caller may send,
//! how its typed message travels in the proto's `OpParams` oneof, and its
//! plan in the engine: a list of Gaussian filters and how their results
//! combine (`filter::OpPlan`), whose halo along axis 0 the slab path reads,
//! so every operation streams larger than memory.
//!
//! Parameters travel between fronts in one common form, the wire's
//! `GaussianParams` (the text readers set it, `proto::params_from_wire`
//! checks it into `filter::GaussianParams`); each operation maps its own
//! message to and from that form.
//!
//! Adding an operation: a module here with its `OP`, its line in [`ALL`],
//! its message in the proto's `OpParams`, its engine code and its tests.
//! Nothing else lists operations.

mod derivative_sum;
mod gaussian_filter;
mod gaussian_filter1d;
mod gaussian_gradient_magnitude;
mod gaussian_laplace;
#[cfg(test)]
mod golden_tests;

use crate::filter::param_text::Param;
use crate::filter::{FilterError, FilterLimits, GaussianParams, OpPlan};
use crate::proto::pb;
use crate::proto::pb::op_params::Op;
use crate::tensor::DType;

/// Every operation, in the order fronts list them.
pub static ALL: [&Operation; 4] = [
    &gaussian_filter::OP,
    &gaussian_filter1d::OP,
    &gaussian_laplace::OP,
    &gaussian_gradient_magnitude::OP,
];

/// One operation, as every front sees it.
pub struct Operation {
    /// scipy's name (`"gaussian_laplace"`): the route `/v1/<name>`, the
    /// KServe model, the CLI's `--op`, the Python method.
    pub name: &'static str,
    /// One line on what it computes, for the OpenAPI document, the model
    /// list, the CLI's help and the playground.
    pub summary: &'static str,
    /// scipy's signature after `input` (`"sigma, axis=-1, order=0, ..."`),
    /// for the Python package's functions and the documentation.
    pub signature: &'static str,
    /// Its parameters, in scipy's order.
    pub params: &'static [ParamSpec],
    /// Which axes a list of `sigma` runs over.
    pub sigma_axes: SigmaAxes,
    /// The kernels a caller may send (the Python package sends the ones its
    /// own NumPy makes).
    pub kernels: Kernels,
    /// The engine's plan for an input of `dtype` and `shape`.
    plan: fn(DType, &[usize], &GaussianParams, &FilterLimits) -> Result<OpPlan, FilterError>,
    /// Its typed message out of `OpParams`, in the common form; `None`
    /// when the oneof holds another operation's.
    unwrap: fn(&Op) -> Option<pb::GaussianParams>,
    /// The common form into its typed message, refusing a list where the
    /// message holds one value.
    wrap: fn(pb::GaussianParams) -> Result<Op, FilterError>,
}

impl std::fmt::Debug for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Operation")
            .field("name", &self.name)
            .finish()
    }
}

/// One parameter of an operation.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    /// The parameter (its name and how its text is read).
    pub param: Param,
    /// Whether it takes a list (one value per filtered axis, or one for
    /// all) or a single value.
    pub list: bool,
    /// scipy's default, as text (`""` where there is none: `sigma`).
    pub default: &'static str,
    /// What it means, in one line.
    pub doc: &'static str,
}

impl ParamSpec {
    /// A parameter that takes a list.
    pub const fn list(param: Param, default: &'static str, doc: &'static str) -> ParamSpec {
        ParamSpec {
            param,
            list: true,
            default,
            doc,
        }
    }

    /// A parameter that takes one value.
    pub const fn one(param: Param, default: &'static str, doc: &'static str) -> ParamSpec {
        ParamSpec {
            param,
            list: false,
            default,
            doc,
        }
    }
}

/// Which axes a list of `sigma` runs over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigmaAxes {
    /// One per filtered axis (`gaussian_filter`, `gaussian_laplace`).
    Filtered,
    /// One per axis of the input, `axes` choosing only the derivatives
    /// (`gaussian_gradient_magnitude`, which hands sigma to
    /// `gaussian_filter` as it is).
    Input,
}

impl SigmaAxes {
    /// The name the operation catalogue gives it.
    pub fn name(self) -> &'static str {
        match self {
            SigmaAxes::Filtered => "filtered",
            SigmaAxes::Input => "input",
        }
    }
}

/// Which kernels a caller may send with an operation, per filtered axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernels {
    /// One kernel per filtered axis, of the order given for that axis
    /// (`gaussian_filter`).
    PerAxisOrder,
    /// One kernel, of the order given (`gaussian_filter1d`).
    One,
    /// Two per filtered axis: the smoothing kernel (order 0), then the
    /// derivative kernel of this order.
    SmoothAndDerivative(u32),
}

impl Kernels {
    /// The name the operation catalogue gives it.
    pub fn name(self) -> &'static str {
        match self {
            Kernels::PerAxisOrder => "per_axis_order",
            Kernels::One => "one",
            Kernels::SmoothAndDerivative(_) => "smooth_and_derivative",
        }
    }
}

impl Operation {
    /// Checks a call against an input of `dtype` and `shape` (before any
    /// data arrives) and plans it.
    pub fn plan(
        &self,
        dtype: DType,
        shape: &[usize],
        params: &GaussianParams,
        limits: &FilterLimits,
    ) -> Result<OpPlan, FilterError> {
        (self.plan)(dtype, shape, params, limits)
    }

    /// The parameters in the common form as this operation's `OpParams`;
    /// refused when a parameter the message holds once has several values.
    pub fn to_wire(&self, params: pb::GaussianParams) -> Result<pb::OpParams, FilterError> {
        Ok(pb::OpParams {
            op: Some((self.wrap)(params)?),
        })
    }

    /// Whether the operation takes the parameter `param`.
    pub fn takes(&self, param: Param) -> Option<&'static ParamSpec> {
        self.params.iter().find(|p| p.param == param)
    }

    /// The names of the parameters a route accepts: every one, or (for a
    /// route without complex tensors) those that are not complex-only.
    pub fn param_names(&self, complex: bool) -> Vec<&'static str> {
        self.params
            .iter()
            .filter(|p| complex || !p.param.complex_only())
            .map(|p| p.param.name())
            .collect()
    }

    /// Sets the parameter named `name` from its text on `params`, refusing
    /// a name the operation does not take. `reader` names what reads it (`"/v1/gaussian_laplace"`) for
    /// the refusal.
    pub fn set_text(
        &self,
        params: &mut pb::GaussianParams,
        name: &str,
        text: &str,
        reader: &str,
        complex: bool,
    ) -> Result<(), crate::filter::param_text::ParamError> {
        use crate::filter::param_text::ParamError;
        // A list where the operation takes one value (sigma of
        // gaussian_filter1d) is refused by its plan, naming the parameter.
        let spec = Param::from_name(name)
            .and_then(|p| self.takes(p))
            .filter(|s| complex || !s.param.complex_only())
            .ok_or_else(|| ParamError::unknown(name, reader, self.param_names(complex)))?;
        params.set_text(spec.param, text)
    }
}

/// The operation named `name`.
pub fn by_name(name: &str) -> Option<&'static Operation> {
    ALL.iter().copied().find(|op| op.name == name)
}

/// Why an `OpParams` names no operation.
pub const NO_OPERATION: &str = "params names no operation: set one field of OpParams.op";

/// The operation an `OpParams` names, and its parameters in the common
/// form; `None` when it names none.
pub fn from_wire(params: &pb::OpParams) -> Option<(&'static Operation, pb::GaussianParams)> {
    let op = params.op.as_ref()?;
    ALL.iter()
        .find_map(|operation| Some((*operation, (operation.unwrap)(op)?)))
}

/// The operation catalogue as JSON: what the Python package builds its
/// methods from (`python/src/tensorwire/operations.json`, checked against
/// this by a test) and the playground its menu from.
pub fn catalogue() -> serde_json::Value {
    let ops: Vec<serde_json::Value> = ALL
        .iter()
        .map(|op| {
            let params: Vec<serde_json::Value> = op
                .params
                .iter()
                .map(|p| {
                    serde_json::json!({
                        "name": p.param.name(),
                        "list": p.list,
                        "default": p.default,
                        "doc": p.doc,
                    })
                })
                .collect();
            let derivative = match op.kernels {
                Kernels::SmoothAndDerivative(order) => Some(order),
                _ => None,
            };
            serde_json::json!({
                "name": op.name,
                "summary": op.summary,
                "signature": op.signature,
                "params": params,
                "kernels": op.kernels.name(),
                "sigma_axes": op.sigma_axes.name(),
                "derivative_order": derivative,
            })
        })
        .collect();
    serde_json::json!({ "operations": ops })
}

/// Parameter specs shared by several operations.
mod spec {
    use super::ParamSpec;
    use crate::filter::param_text::Param;

    pub const MODES: &str =
        "reflect, constant, nearest, mirror, wrap, grid-constant, grid-mirror or grid-wrap";

    pub const CVAL: ParamSpec = ParamSpec::one(
        Param::Cval,
        "0.0",
        "value beyond the edges in the constant modes",
    );
    pub const TRUNCATE: ParamSpec = ParamSpec::one(
        Param::Truncate,
        "4.0",
        "kernel half-width in standard deviations",
    );
    pub const CVAL_IMAG: ParamSpec = ParamSpec::one(
        Param::CvalImag,
        "0.0",
        "imaginary part of cval (complex input)",
    );
    pub const OUTPUT_DTYPE: ParamSpec = ParamSpec::one(
        Param::OutputDtype,
        "",
        "dtype of the result (scipy's output=); the input's by default",
    );
    pub const EXP: ParamSpec = ParamSpec::one(
        Param::Exp,
        "libm",
        "which float64 exp builds the kernels: libm or numpy-avx512",
    );
    pub const ORDER: &str = "0 smooths; 1, 2, 3 convolve with that derivative of a Gaussian";
    pub const RADIUS: &str = "kernel half-width in samples, overriding truncate";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_operation_round_trips_the_wire() {
        for (i, op) in ALL.iter().enumerate() {
            assert!(ALL[..i].iter().all(|o| o.name != op.name), "{}", op.name);
            assert_eq!(by_name(op.name).map(|o| o.name), Some(op.name));
            let mut common = pb::GaussianParams {
                sigma: vec![1.5],
                ..Default::default()
            };
            common.cval = 2.0;
            let wire = op
                .to_wire(common.clone())
                .expect("one sigma fits every operation");
            let (back, params) = from_wire(&wire).expect("names an op");
            assert_eq!(back.name, op.name);
            assert_eq!(params.sigma, common.sigma, "{}", op.name);
            assert_eq!(params.cval, 2.0, "{}", op.name);
        }
        assert!(from_wire(&pb::OpParams { op: None }).is_none());
    }

    /// Fails unless the file at `path` holds `want` at `range` (the whole
    /// file by default); with `TENSORWIRE_BLESS` set, writes it there first.
    fn assert_generated(path: &str, want: &str, range: Option<(&str, &str)>) {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let (a, b) = match range {
            None => (0, text.len()),
            Some((start, end)) => {
                let a = text.find(start).expect("the start marker") + start.len();
                (a, text[a..].find(end).expect("the end marker") + a)
            }
        };
        if std::env::var_os("TENSORWIRE_BLESS").is_some() {
            std::fs::write(path, format!("{}{want}{}", &text[..a], &text[b..])).unwrap();
            return;
        }
        assert!(
            text[a..b] == *want,
            "{path} differs from the registry (ops::ALL); run TENSORWIRE_BLESS=1 cargo test --lib ops::tests"
        );
    }

    /// The Python package's copy of the catalogue is this one.
    #[test]
    fn the_python_package_reads_this_catalogue() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/python/src/tensorwire/operations.json"
        );
        assert_generated(
            path,
            &(serde_json::to_string_pretty(&catalogue()).unwrap() + "\n"),
            None,
        );
    }

    /// The README's table of operations, one row per operation.
    fn readme_table() -> String {
        let mut table = String::from(
            "| operation | scipy signature (after `input`) | what it computes |\n|---|---|---|\n",
        );
        for op in ALL {
            table.push_str(&format!(
                "| `{}` | `{}` | {} |\n",
                op.name, op.signature, op.summary
            ));
        }
        table
    }

    /// README.md's table is this registry's.
    #[test]
    fn the_readme_lists_every_operation() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let markers = (
            "<!-- operations: generated from ops::ALL -->\n",
            "<!-- /operations -->",
        );
        assert_generated(path, &readme_table(), Some(markers));
    }

    #[test]
    fn every_operation_takes_sigma_first_and_no_parameter_twice() {
        for op in ALL {
            assert_eq!(op.params[0].param, Param::Sigma, "{}", op.name);
            for (i, p) in op.params.iter().enumerate() {
                assert!(
                    op.params[..i].iter().all(|q| q.param != p.param),
                    "{}: {} twice",
                    op.name,
                    p.param
                );
            }
        }
    }
}
