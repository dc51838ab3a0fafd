//! The golden walk: every case scipy 1.17.1 produced in `tests/golden/`
//! (NumPy with the C library's `exp`) and `tests/golden_avx512/` (NumPy's
//! AVX-512 `exp`, the cases whose kernels differ) must come out of the
//! engine bit for bit with the `exp` the folder's manifest names, and again
//! with scipy's recorded kernels sent as the caller's own (any NaN equals
//! any NaN, `-0.0` differs from `0.0`); every case scipy refused must be
//! refused, except float16 input, which tensorwire filters as float32.
//!
//! Parameters are read from the exact bit patterns in `params.json`, never
//! from the decimals. A failure names the case, the first differing element
//! and both bit patterns, and says whether the kernel itself differed.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use serde_json::Value;

use super::kernel::gaussian_kernel;
use super::test_util::first_mismatch;
use super::*;
use crate::npy::{read_npy, read_npy_header};
use crate::tensor::TensorLimits;

/// The repository's golden folder (`tests/golden/`, made by
/// `tools/make_filter_cases.py`), or another folder of cases in the same
/// format named by `TENSORWIRE_GOLDEN_DIR` (e.g. more random scipy calls,
/// or an outside reference set, to check beyond the committed sample).
pub(crate) fn golden_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TENSORWIRE_GOLDEN_DIR") {
        return PathBuf::from(dir);
    }
    let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden"));
    assert!(
        dir.join("manifest.json").is_file(),
        "golden cases are missing: expected them in {} (tests/golden/README.md)",
        dir.display()
    );
    dir.to_path_buf()
}

/// The folders the walk reads, each with the `exp` its cases were made
/// with: the repository's two, or the one `TENSORWIRE_GOLDEN_DIR` names.
fn golden_sets() -> Vec<(PathBuf, KernelExp)> {
    let mut dirs = vec![golden_dir()];
    if std::env::var_os("TENSORWIRE_GOLDEN_DIR").is_none() {
        dirs.push(
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden_avx512")).to_path_buf(),
        );
    }
    dirs.into_iter()
        .map(|dir| {
            let exp = manifest_exp(&dir);
            (dir, exp)
        })
        .collect()
}

/// The `exp` a folder's manifest names (`numpy_exp`); sets made before the
/// field existed were made with the C library's.
fn manifest_exp(dir: &Path) -> KernelExp {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json");
    let manifest: Value = serde_json::from_str(&text).expect("manifest is JSON");
    match manifest["numpy_exp"].as_str() {
        None | Some("libm") => KernelExp::Libm,
        Some(name) if name.starts_with("numpy-avx512") => KernelExp::NumpyAvx512,
        Some(other) => panic!("{}: unknown numpy_exp {other:?}", dir.display()),
    }
}

/// How many cases the folder's manifest lists.
pub(crate) fn manifest_case_count(dir: &Path) -> usize {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest.json");
    let manifest: Value = serde_json::from_str(&text).expect("manifest is JSON");
    match &manifest["cases"] {
        Value::Array(cases) => cases.len(),
        other => other.as_u64().expect("cases: a list or a count") as usize,
    }
}

/// Every case folder of every set, with the set's `exp`.
fn cases() -> Vec<(PathBuf, KernelExp)> {
    golden_sets()
        .into_iter()
        .flat_map(|(dir, exp)| case_dirs(&dir).into_iter().map(move |case| (case, exp)))
        .collect()
}

pub(crate) fn case_dirs(set: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(set)
        .expect("golden folder is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.join("params.json").is_file())
        .collect();
    dirs.sort();
    dirs
}

pub(crate) fn bits(v: &Value) -> f64 {
    let s = v.as_str().expect("bit pattern is a string");
    f64::from_bits(u64::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex bits"))
}

/// The float of a bit pattern, 0.0 for null.
pub(crate) fn bits_or_zero(v: &Value) -> f64 {
    if v.is_null() { 0.0 } else { bits(v) }
}

/// A scalar or a list of values, as a list.
pub(crate) fn list<T>(v: &Value, f: impl Fn(&Value) -> T) -> Vec<T> {
    match v {
        Value::Null => vec![],
        Value::Array(items) => items.iter().map(f).collect(),
        other => vec![f(other)],
    }
}

/// Reads a case's parameters; `Err` with the mode name when scipy was given
/// a mode that does not exist (the proto enum cannot express it).
fn params_of(p: &Value, exp: KernelExp) -> Result<GaussianParams, String> {
    let mut modes = vec![];
    for name in list(&p["mode"], |v| v.as_str().expect("mode name").to_owned()) {
        modes.push(BoundaryMode::from_name(&name).ok_or(name)?);
    }
    Ok(GaussianParams {
        sigma: list(&p["sigma_bits"], bits),
        order: list(&p["order"], |v| v.as_i64().expect("integer order")),
        mode: modes,
        cval: bits(&p["cval_bits"]),
        cval_imag: bits_or_zero(&p["cval_imag_bits"]),
        truncate: Some(bits(&p["truncate_bits"])),
        radius: list(&p["radius"], |v| v.as_i64().expect("integer radius")),
        axes: list(&p["axes"], |v| v.as_i64().expect("integer axis")),
        output_dtype: p["output_dtype"]
            .as_str()
            .map(|s| DType::from_name(s).expect("known dtype")),
        exp,
        kernels: vec![],
    })
}

/// scipy's recorded kernels as a caller would send them: one per entry of
/// `axes` (reversed, as `correlate1d` takes them; empty where scipy made no
/// pass), with each pass's radius.
fn with_recorded_kernels(p: &Value, mut params: GaussianParams, rank: usize) -> GaussianParams {
    let axes: Vec<usize> = if params.axes.is_empty() {
        (0..rank).collect()
    } else {
        params
            .axes
            .iter()
            .map(|&a| a.rem_euclid(rank.max(1) as i64) as usize)
            .collect()
    };
    let passes = p["passes"].as_array().cloned().unwrap_or_default();
    let mut radius = Vec::new();
    params.kernels = axes
        .iter()
        .map(|&axis| {
            match passes
                .iter()
                .find(|pass| pass["axis"].as_u64() == Some(axis as u64))
            {
                Some(pass) => {
                    radius.push(pass["radius"].as_i64().expect("integer radius"));
                    list(&pass["kernel_bits"], bits).into_iter().rev().collect()
                }
                None => {
                    radius.push(0);
                    vec![]
                }
            }
        })
        .collect();
    params.radius = radius;
    params
}

pub(crate) fn load_input(dir: &Path) -> Tensor {
    let bytes = std::fs::read(dir.join("input.npy")).expect("input.npy");
    read_npy(Bytes::from(bytes), &TensorLimits::default()).expect("input.npy parses")
}

/// The raw data bytes of a C-order little-endian `.npy` (bool bytes as written).
pub(crate) fn load_output(dir: &Path) -> (DType, Vec<u64>, Vec<u8>) {
    let bytes = std::fs::read(dir.join("output.npy")).expect("output.npy");
    let header = read_npy_header(&bytes)
        .expect("output header")
        .expect("complete header");
    assert!(
        header.is_native(),
        "{}: output.npy is not C-order little-endian",
        dir.display()
    );
    (
        header.dtype,
        header.shape.clone(),
        bytes[header.data_offset..].to_vec(),
    )
}

/// scipy's output of a case (its dtype and raw bytes), refused when its
/// dtype is not `dtype` or its shape not `input`'s.
pub(crate) fn load_output_of(
    dir: &Path,
    dtype: DType,
    input: &Tensor,
) -> Result<(DType, Vec<u8>), String> {
    let (want_dtype, shape, want) = load_output(dir);
    if dtype != want_dtype {
        return Err(format!("output dtype {dtype} but scipy's is {want_dtype}"));
    }
    if input.shape_u64() != shape {
        return Err(format!(
            "shape {:?} but scipy's is {shape:?}",
            input.shape()
        ));
    }
    Ok((want_dtype, want))
}

/// Checks one case with the kernels built from `exp`, or (`recorded`) with
/// scipy's own kernels sent as the caller's; `Err` describes the failure.
fn check_case(dir: &Path, exp: KernelExp, recorded: bool) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join("params.json")).map_err(|e| e.to_string())?;
    let p: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let input = load_input(dir);
    let params = match params_of(&p, exp) {
        Ok(params) => params,
        Err(mode) => {
            return if p["expected_error"].is_null() {
                Err(format!("unknown mode {mode:?} in a case scipy accepted"))
            } else {
                Ok(()) // The proto cannot carry a mode scipy does not know.
            };
        }
    };
    let limits = FilterLimits::default();
    if let Some(err) = p["expected_error"].as_str() {
        if input.dtype() == DType::Float16 {
            return check_float16(&input, &params);
        }
        return match plan(input.dtype(), input.shape(), &params, &limits) {
            Err(_) => Ok(()),
            Ok(_) => Err(format!("accepted a call scipy refused with {err}")),
        };
    }
    let params = if recorded {
        // Sent with the wrong `exp`, so only the kernels can make it equal.
        let other = KernelExp::ALL
            .into_iter()
            .find(|e| *e != exp)
            .unwrap_or(exp);
        with_recorded_kernels(
            &p,
            GaussianParams {
                exp: other,
                ..params
            },
            input.shape().len(),
        )
    } else {
        params
    };
    let plan = plan(input.dtype(), input.shape(), &params, &limits)
        .map_err(|e| format!("refused a call scipy accepted: {e}"))?;
    let (dtype, want) = load_output_of(dir, plan.output_dtype(), &input)?;
    let got = plan.run_bytes(&input);
    if got.len() != want.len() {
        return Err(format!(
            "{} bytes but scipy wrote {}",
            got.len(),
            want.len()
        ));
    }
    if let Some((index, g, w)) = first_mismatch(dtype, &got, &want) {
        return Err(format!(
            "element {index} (flat, C order) is 0x{g}, scipy's is 0x{w}{}",
            kernel_note(&p, exp)
        ));
    }
    // The public result equals the raw one, with bool bytes normalised.
    let tensor = plan.run(&input);
    let normalised: Vec<u8> = if dtype == DType::Bool {
        want.iter().map(|&b| u8::from(b != 0)).collect()
    } else {
        want
    };
    if first_mismatch(dtype, tensor.data(), &normalised).is_some() {
        return Err("run() differs from run_bytes()".into());
    }
    Ok(())
}

/// Says whether our kernels (built with `exp`) differ from the ones scipy recorded.
fn kernel_note(p: &Value, exp: KernelExp) -> String {
    let passes = p["passes"].as_array().cloned().unwrap_or_default();
    for pass in passes {
        let sigma = bits(&pass["sigma_bits"]);
        let order = pass["order"].as_u64().unwrap_or(0) as u32;
        let radius = pass["radius"].as_u64().unwrap_or(0) as usize;
        let want: Vec<u64> = list(&pass["kernel_bits"], |v| bits(v).to_bits());
        let ours: Vec<u64> = gaussian_kernel(sigma, order, radius, exp)
            .iter()
            .map(|v| v.to_bits())
            .collect();
        if ours != want {
            return format!(
                "; the kernel of the pass along axis {} differs",
                pass["axis"]
            );
        }
    }
    "; the kernels are equal, so the correlation or cast differs".into()
}

/// scipy refuses float16; tensorwire filters the float32 conversion and
/// rounds the result to float16.
fn check_float16(input: &Tensor, params: &GaussianParams) -> Result<(), String> {
    let limits = FilterLimits::default();
    let got = gaussian_filter(input, params, &limits).map_err(|e| e.to_string())?;
    if got.dtype() != DType::Float16 {
        return Err(format!("float16 input gave {}", got.dtype()));
    }
    let as_f32 = cast::astype(input.data(), DType::Float16, DType::Float32);
    let shape = input.shape_u64();
    let f32_input = Tensor::new(
        DType::Float32,
        &shape,
        Bytes::from(as_f32),
        &TensorLimits::default(),
    )
    .map_err(|e| e.to_string())?;
    let f32_result = gaussian_filter(&f32_input, params, &limits).map_err(|e| e.to_string())?;
    let mut want = vec![0u8; got.nbytes()];
    cast::narrow_f32(f32_result.data(), DType::Float16, &mut want);
    match first_mismatch(DType::Float16, got.data(), &want) {
        None => Ok(()),
        Some((i, g, w)) => Err(format!(
            "float16 element {i} is 0x{g}, float32-then-cast gives 0x{w}"
        )),
    }
}

/// Runs `check` on every case of every set; fails listing the first 40 failures.
fn walk(what: &str, check: impl Fn(&Path, KernelExp) -> Result<(), String> + Sync) {
    let cases = cases();
    assert!(!cases.is_empty(), "no golden cases");
    assert_cases_pass(what, &cases, |(dir, exp)| {
        check(dir, *exp).map_err(|e| format!("{} ({exp}): {e}", dir.display()))
    });
}

/// Runs `check` on every case (in parallel) and fails listing the first 40
/// failures, each as `check` describes it.
pub(crate) fn assert_cases_pass<C: Sync>(
    what: &str,
    cases: &[C],
    check: impl Fn(&C) -> Result<(), String> + Sync,
) {
    let failures: Vec<String> = cases.par_iter().filter_map(|c| check(c).err()).collect();
    assert!(
        failures.is_empty(),
        "{what}: {} of {} golden cases fail:\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

#[test]
fn every_golden_case_matches_scipy_bit_for_bit() {
    for (set, _) in golden_sets() {
        let listed = manifest_case_count(&set);
        assert_eq!(
            case_dirs(&set).len(),
            listed,
            "{}: the manifest lists {listed} cases",
            set.display()
        );
    }
    walk("kernels built here", |dir, exp| check_case(dir, exp, false));
}

#[test]
fn every_golden_case_matches_scipy_with_scipys_kernels_sent_by_the_caller() {
    walk("kernels sent", |dir, exp| check_case(dir, exp, true));
}

#[test]
fn every_golden_kernel_equals_scipys_bits() {
    let mut checked = [0, 0];
    for (dir, exp) in cases() {
        let text = std::fs::read_to_string(dir.join("params.json")).expect("params.json");
        let p: Value = serde_json::from_str(&text).expect("valid json");
        let note = kernel_note(&p, exp);
        assert!(
            note.contains("are equal"),
            "{} ({exp}){note}",
            dir.display()
        );
        checked[exp as usize] += p["passes"].as_array().map_or(0, Vec::len);
    }
    if std::env::var_os("TENSORWIRE_GOLDEN_DIR").is_none() {
        assert!(
            checked[0] > 1000,
            "only {} libm kernels checked",
            checked[0]
        );
        assert!(
            checked[1] > 200,
            "only {} numpy-avx512 kernels checked",
            checked[1]
        );
    }
}

#[test]
fn unknown_mode_names_are_not_modes() {
    assert_eq!(BoundaryMode::from_name("bogus"), None);
}

/// Checks one case through the slab path (slabs of `height` rows, fed in
/// pieces of `piece` bytes) against scipy's output; cases scipy refused
/// are the business of the whole-tensor walk.
fn check_case_in_slabs(
    dir: &Path,
    exp: KernelExp,
    height: usize,
    piece: usize,
) -> Result<(), String> {
    let text = std::fs::read_to_string(dir.join("params.json")).map_err(|e| e.to_string())?;
    let p: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    if !p["expected_error"].is_null() {
        return Ok(());
    }
    let params = params_of(&p, exp)?;
    let input = load_input(dir);
    let plan = plan(
        input.dtype(),
        input.shape(),
        &params,
        &FilterLimits::default(),
    )
    .map_err(|e| format!("refused a call scipy accepted: {e}"))?;
    let (dtype, _, want) = load_output(dir);
    let want: Vec<u8> = if dtype == DType::Bool {
        want.iter().map(|&b| u8::from(b != 0)).collect()
    } else {
        want
    };
    let got = super::slabs::run_in_slabs(&OpPlan::from(plan.clone()), &input, height, piece);
    if got.len() != want.len() {
        return Err(format!(
            "{} bytes but scipy wrote {}",
            got.len(),
            want.len()
        ));
    }
    match first_mismatch(dtype, &got, &want) {
        None => Ok(()),
        Some((index, g, w)) => Err(format!(
            "slabs of {height} rows: element {index} (flat, C order) is 0x{g}, scipy's is 0x{w}"
        )),
    }
}

/// The golden walk through the slab path, with slabs of one and three rows
/// fed in pieces of 1 and 7 bytes: every case equals scipy's output.
#[test]
fn every_golden_case_matches_scipy_in_tiny_slabs() {
    walk("slabs", |dir, exp| {
        check_case_in_slabs(dir, exp, 1, 7).and(check_case_in_slabs(dir, exp, 3, 1))
    });
}

/// Most input elements of a case that [`small_golden_cases`] takes: Miri
/// interprets every instruction, about a million times slower than native.
const MIRI_CASE_ELEMENTS: u64 = 24;

/// Under Miri, [`small_golden_cases`] takes every this-many-th small case
/// (the names are in generation order, so the sample spans the dtypes,
/// modes and orders): 16 of the 467 small ones.
const MIRI_SAMPLE_STEP: usize = 30;

/// The golden cases whose input has at most [`MIRI_CASE_ELEMENTS`]
/// elements, through the whole-tensor path and through slabs of one row fed
/// byte by byte (a sample of them under Miri). `cargo test` runs it like any
/// other test; it exists for the Miri run (ARCHITECTURE.md, "Testing"),
/// which checks the engine's `unsafe` code (the shared output pointer,
/// unchecked reads, the casts) for undefined behaviour on the plain loops,
/// with real scipy cases as input.
#[test]
fn small_golden_cases() {
    let small: Vec<(PathBuf, KernelExp)> = cases()
        .into_iter()
        .filter(|(dir, _)| {
            let bytes = std::fs::read(dir.join("input.npy")).expect("input.npy");
            let header = read_npy_header(&bytes)
                .expect("input header")
                .expect("complete header");
            header.shape.iter().product::<u64>() <= MIRI_CASE_ELEMENTS
        })
        .collect();
    assert!(
        small.len() >= 10,
        "only {} golden cases have at most {MIRI_CASE_ELEMENTS} elements",
        small.len()
    );
    let step = if cfg!(miri) { MIRI_SAMPLE_STEP } else { 1 };
    let failures: Vec<String> = small
        .iter()
        .step_by(step)
        .filter_map(|(dir, exp)| {
            let whole = check_case(dir, *exp, false);
            let slabs = check_case_in_slabs(dir, *exp, 1, 1);
            whole
                .and(slabs)
                .err()
                .map(|e| format!("{}: {e}", dir.display()))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
