//! The operations' golden walk: every case scipy made in
//! `tests/golden_ops/` (`tools/make_op_cases.py`: `gaussian_filter1d`,
//! `gaussian_laplace`, `gaussian_gradient_magnitude`) must come out of the
//! operation's plan bit for bit (any NaN equals any NaN), whole and through
//! the slab path in slabs of 1 and 3 rows; every case scipy refused must be
//! refused, except float16 input, which tensorwire filters (scipy refuses
//! float16). Parameters are read from the exact bit patterns.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

use super::by_name;
use crate::filter::golden_tests::{
    assert_cases_pass, bits, bits_or_zero, case_dirs, list, load_input, load_output_of,
};
use crate::filter::test_util::first_mismatch;
use crate::filter::{BoundaryMode, FilterLimits, GaussianParams, KernelExp, run_in_slabs};
use crate::tensor::DType;

/// The repository's set, or the folder `TENSORWIRE_GOLDEN_OPS_DIR` names.
fn golden_ops_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TENSORWIRE_GOLDEN_OPS_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden_ops")).to_path_buf()
}

/// A case's parameters in the common form; `Err` with the reason when
/// the wire cannot carry them: a mode or sigma scipy was given that is not
/// a name or a number, `axes=[]` (no axis: the wire's empty list means
/// every axis), or a list of one value where scipy wanted one per axis
/// (the wire reads it as one value for every axis).
fn params_of(p: &Value) -> Result<GaussianParams, String> {
    if p["axes"].as_array().is_some_and(Vec::is_empty) {
        return Err("axes=[]".into());
    }
    let one_item_list = ["sigma", "mode", "radius"]
        .iter()
        .any(|k| p[*k].as_array().is_some_and(|a| a.len() == 1));
    if one_item_list
        && p["expected_error"]
            .as_str()
            .is_some_and(|e| e.contains("sequence argument"))
    {
        return Err("a list of one value where scipy wanted one per axis".into());
    }
    let mut mode = vec![];
    for name in list(&p["mode"], |v| v.as_str().map(str::to_owned)) {
        let name = name.ok_or("a mode that is not a string")?;
        mode.push(BoundaryMode::from_name(&name).ok_or(format!("mode {name:?}"))?);
    }
    if p["sigma_bits"].is_null()
        || p["sigma_bits"]
            .as_array()
            .is_some_and(|a| a.iter().any(Value::is_null))
    {
        return Err("a sigma that is not a number".into());
    }
    let int = |v: &Value| v.as_i64().ok_or(format!("{v} is not an integer"));
    let ints = |v: &Value| -> Result<Vec<i64>, String> { list(v, int).into_iter().collect() };
    let one_d = p["op"] == "gaussian_filter1d";
    let output_dtype = match p["output_dtype"].as_str() {
        None => None,
        Some(name) => Some(DType::from_name(name).ok_or(format!("output dtype {name:?}"))?),
    };
    Ok(GaussianParams {
        sigma: list(&p["sigma_bits"], bits),
        order: if one_d { ints(&p["order"])? } else { vec![] },
        mode,
        cval: bits(&p["cval_bits"]),
        cval_imag: bits_or_zero(&p["cval_imag_bits"]),
        truncate: Some(bits(&p["truncate_bits"])),
        radius: ints(&p["radius"])?,
        axes: if one_d {
            ints(&p["axis"])?
        } else {
            ints(&p["axes"])?
        },
        output_dtype,
        exp: KernelExp::Libm,
        kernels: vec![],
    })
}

/// Cases the walk leaves out: calls the wire cannot carry, and orders above
/// 3 without the caller's kernels.
static LEFT_OUT: AtomicUsize = AtomicUsize::new(0);

fn check_case(dir: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join("params.json")).map_err(|e| e.to_string())?;
    let p: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let op = by_name(p["op"].as_str().unwrap_or_default())
        .ok_or_else(|| format!("unknown op {}", p["op"]))?;
    let input = load_input(dir);
    let refused = p["expected_error"].as_str();
    // A call the wire cannot carry is left out (scipy accepts a bogus
    // mode where it filters nothing).
    let Ok(params) = params_of(&p) else {
        LEFT_OUT.fetch_add(1, Ordering::Relaxed);
        return Ok(());
    };
    let limits = FilterLimits::default();
    let plan = op.plan(input.dtype(), input.shape(), &params, &limits);
    if let Some(err) = refused {
        return match plan {
            Err(_) => Ok(()),
            // scipy refuses float16 (input or output); tensorwire
            // filters it as float32.
            Ok(_) if err.contains("float16") => Ok(()),
            Ok(_) => Err(format!("accepted a call scipy refused with {err}")),
        };
    }
    let plan = match plan {
        Ok(plan) => plan,
        // tensorwire builds kernels up to order 3; a caller sends higher
        // ones (the Python package does).
        Err(crate::filter::FilterError::OrderTooLarge { .. }) => {
            LEFT_OUT.fetch_add(1, Ordering::Relaxed);
            return Ok(());
        }
        Err(e) => return Err(format!("refused a call scipy accepted: {e}")),
    };
    let (dtype, want) = load_output_of(dir, plan.output_dtype(), &input)?;
    let got = plan.run_bytes(&input);
    if let Some((index, g, w)) = first_mismatch(dtype, &got, &want) {
        return Err(format!(
            "element {index} (flat, C order) is 0x{g}, scipy's is 0x{w}"
        ));
    }
    for height in [1, 3] {
        let slabbed = run_in_slabs(&plan, &input, height, 7);
        if let Some((index, g, w)) = first_mismatch(dtype, &slabbed, &want) {
            return Err(format!(
                "in slabs of {height} rows, element {index} is 0x{g}, scipy's is 0x{w}"
            ));
        }
    }
    Ok(())
}

#[test]
fn every_golden_operation_case_equals_scipy_whole_and_in_slabs() {
    let dir = golden_ops_dir();
    let cases = case_dirs(&dir);
    assert!(
        cases.len() >= 100,
        "expected the golden operation cases in {}",
        dir.display()
    );
    assert_cases_pass("the operations", &cases, |case| {
        check_case(case).map_err(|e| format!("{}: {e}", case.display()))
    });
    let left_out = LEFT_OUT.load(Ordering::Relaxed);
    assert!(
        left_out * 10 <= cases.len(),
        "{left_out} of {} cases were left out (more than 10%)",
        cases.len()
    );
}
