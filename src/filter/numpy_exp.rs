//! NumPy's float64 `exp` as it runs on a CPU with AVX-512 (x86-64-v4),
//! reproduced bit for bit in portable scalar Rust.
//!
//! # What NumPy really runs
//!
//! The Linux x86-64 wheels of NumPy 2.x (checked: 2.4.6) are built with
//! Intel's SVML.  `DOUBLE_exp` in
//! `numpy/_core/src/umath/loops_exponent_log.dispatch.c.src` is dispatched for
//! `X86_V4` and `X86_V3`; in the `X86_V4` build, `NPY_HAVE_AVX512_SKX` and
//! `NPY_CAN_LINK_SVML` are both defined, so a contiguous float64 array goes to
//! `__svml_exp8_ha` (`numpy/SVML`, `linux/avx512/svml_z0_exp_d_ha.s`).  The
//! older hand-written `AVX512F_exp_DOUBLE` (Tang's 32-entry-table method,
//! `EXP_Table_top`/`EXP_Table_tail`) sits in the `#else` branch and is not
//! compiled into those wheels.  On a CPU without AVX-512 (or with
//! `NPY_DISABLE_CPU_FEATURES="X86_V4 ..."`), NumPy calls the C library's
//! `exp` instead, which is what Rust's `f64::exp` calls too.
//!
//! No crate reproduces SVML's results bit for bit, and a Rust build cannot
//! count on AVX-512 being there, hence this hand-written emulation.  It uses
//! `f64::mul_add` where the machine code fuses a multiply-add, plain `*`/`+`
//! where it does not, and integer arithmetic where it works on bit patterns,
//! so it gives the same bits on every CPU.  The constants below are the bit
//! patterns of SVML's data tables (verified against the shipped wheel).
//!
//! # Algorithm (table-driven exp, after Tang, ACM TOMS 15 (1989) 144-157)
//!
//! Main path, `|x| < 1021·ln 2` (and NaN):
//! 1. `N = x·log2(e)` truncated downwards to 4 fractional bits: one FMA
//!    `x·log2(e) + shifter` rounded toward zero;
//!    `N = M + j/16` with `M = floor(N)`, `j` in `0..16`.
//! 2. `r = (x - N·ln2_hi) - N·ln2_lo` (two FMAs), so `0 <= r < ln2/16`
//!    (up to rounding).
//! 3. `p = r·(c1 + c2·r + ... + c6·r^5) + Tlr[j]` evaluated Estrin-like
//!    with FMAs, `Th[j]·(1 + Tlr[j]) ≈ 2^(j/16)`.
//! 4. `exp(x) = scalef(Th[j] + Th[j]·p, N) = (Th[j] + Th[j]·p)·2^M`, one
//!    rounding (AVX-512 `vscalefpd`, emulated exactly, subnormals included).
//!
//! Rare path, `|x| >= 1021·ln 2` and ±inf: SVML's scalar fallback
//! (`__svml_dexp_ha_cout_rare_internal`, plain SSE2 arithmetic): a 64-entry
//! table, `N = rint(x·64/ln2)`, a degree-6 polynomial by Horner, and a
//! careful split product for results that fall into the subnormal range.

/// `log2(e)`, the multiplier of the main path.
const LOG2E: f64 = f64::from_bits(0x3ff7_1547_652b_82fe);
/// `1.5·2^48 + 1023`: adding it leaves `x·log2(e)` with 4 fractional bits in
/// the low mantissa bits (and the exponent bias above them).
const SHIFTER: f64 = f64::from_bits(0x42f8_0000_0000_3ff0);
/// `ln 2` split in a high and a low part.
const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fefa_39ef);
const LN2_LO: f64 = f64::from_bits(0x3c7a_bc9e_3b39_803f);
/// SVML clears exponent bit 62 of `r` ("ensure |r| < 2 for special cases").
const R_MASK: u64 = 0xbfff_ffff_ffff_ffff;
/// Polynomial coefficients, `exp(r) - 1 ≈ c1·r + c2·r^2 + ... + c6·r^6`.
const C1: f64 = f64::from_bits(0x3fef_ffff_ffff_ff70);
const C2: f64 = f64::from_bits(0x3fe0_0000_0000_d008);
const C3: f64 = f64::from_bits(0x3fc5_5555_5393_9732);
const C4: f64 = f64::from_bits(0x3fa5_5557_242d_68fe);
const C5: f64 = f64::from_bits(0x3f81_101c_bbc2_65c0);
const C6: f64 = f64::from_bits(0x3f57_4118_3694_0c04);
/// `|x| >= MAIN_LIMIT` (about `1021·ln 2`) leaves the main path.
const MAIN_LIMIT: f64 = f64::from_bits(0x4086_1da0_4cba_fe44);

/// `Th[j]`, the leading part of `2^(j/16)`.
const TH: [u64; 16] = [
    0x3ff0_0000_0000_0000,
    0x3ff0_b558_6cf9_890f,
    0x3ff1_72b8_3c7d_517b,
    0x3ff2_387a_6e75_6238,
    0x3ff3_06fe_0a31_b715,
    0x3ff3_dea6_4c12_3422,
    0x3ff4_bfda_d536_2a27,
    0x3ff5_ab07_dd48_5429,
    0x3ff6_a09e_667f_3bcd,
    0x3ff7_a114_73eb_0187,
    0x3ff8_ace5_422a_a0db,
    0x3ff9_c491_82a3_f090,
    0x3ffa_e89f_995a_d3ad,
    0x3ffc_199b_dd85_529c,
    0x3ffd_5818_dcfb_a487,
    0x3ffe_a4af_a2a4_90da,
];
/// `Tlr[j]`, the relative trailing part: `Th[j]·(1 + Tlr[j]) ≈ 2^(j/16)`.
const TLR: [u64; 16] = [
    0x0000_0000_0000_0000,
    0x3c97_9aa6_5d83_7b6d,
    0xbc80_1b15_eaa5_9348,
    0x3c96_8efd_e3a8_a894,
    0x3c83_4d75_4db0_abb6,
    0x3c85_9f48_a72a_4c6d,
    0x3c76_90ce_bb7a_afb0,
    0x3c90_63e1_e21c_5409,
    0xbc93_b3ef_bf5e_2228,
    0xbc7b_32dc_b94d_a51d,
    0x3c8d_b72f_c1f0_eab4,
    0x3c71_affc_2b91_ce27,
    0x3c8c_1a77_92cb_3387,
    0x3c73_6eae_30af_0cb3,
    0x3c74_a385_a63d_07a7,
    0xbc8f_f712_8fd3_91f0,
];

/// Rare path: `64/ln 2`.
const RARE_INV_LN2_64: f64 = f64::from_bits(0x4057_1547_652b_82fe);
/// Rare path: `1.5·2^52`, rounds to an integer.
const RARE_SHIFTER: f64 = f64::from_bits(0x4338_0000_0000_0000);
/// Rare path: `ln2/64` split in a high and a low part.
const RARE_LN2_64_HI: f64 = f64::from_bits(0x3f86_2e42_fefa_0000);
const RARE_LN2_64_LO: f64 = f64::from_bits(0x3d1c_f79a_bc9e_3b3a);
/// Rare path polynomial, `exp(r) - 1 ≈ r + d2·r^2 + ... + d6·r^6`.
const D2: f64 = f64::from_bits(0x3fe0_0000_0000_0000);
const D3: f64 = f64::from_bits(0x3fc5_5555_5555_48f8);
const D4: f64 = f64::from_bits(0x3fa5_5555_5555_8fcc);
const D5: f64 = f64::from_bits(0x3f81_1112_3aaf_20d3);
const D6: f64 = f64::from_bits(0x3f56_c16a_1c2a_3ffd);
/// Above this the result overflows (`ln(f64::MAX)`).
const RARE_OVERFLOW: f64 = f64::from_bits(0x4086_2e42_fefa_39ef);
/// Below this the result is subnormal (about `-1022·ln 2`).
const RARE_SUBNORMAL: f64 = f64::from_bits(0xc086_232b_dd7a_bcd2);
/// Below this the result underflows to zero (about `-1075·ln 2`).
const RARE_UNDERFLOW: f64 = f64::from_bits(0xc087_4910_d52d_3051);
/// `TINY·TINY` rounds to +0, `HUGE·HUGE` to +inf.
const RARE_TINY: f64 = f64::from_bits(0x0010_0000_0000_0001);
const RARE_HUGE: f64 = f64::from_bits(0x7fef_ffff_ffff_ffff);
/// `1.5·2^32`, splits a double in a high and a low half.
const RARE_SPLIT: f64 = f64::from_bits(0x41f8_0000_0000_0000);
/// `2^-60`, undoes the `2^60` pre-scaling of subnormal results.
const TWO_POW_M60: f64 = f64::from_bits(0x3c30_0000_0000_0000);
/// Rare path table: `(T[j], t[j])` with `T[j]·(1 + t[j]) ≈ 2^(j/64)`.
const RARE_TABLE: [(u64, u64); 64] = [
    (0x3ff00000_00000000, 0x00000000_00000000),
    (0x3ff02c9a_3e778061, 0xbc716013_9cd8dc5d),
    (0x3ff059b0_d3158574, 0x3c8cd252_3567f613),
    (0x3ff08745_18759bc8, 0x3c60f74e_61e6c861),
    (0x3ff0b558_6cf9890f, 0x3c979aa6_5d837b6d),
    (0x3ff0e3ec_32d3d1a2, 0x3c3ebe3d_702f9cd1),
    (0x3ff11301_d0125b51, 0xbc955652_2a2fbd0e),
    (0x3ff1429a_aea92de0, 0xbc91c923_b9d5f416),
    (0x3ff172b8_3c7d517b, 0xbc801b15_eaa59348),
    (0x3ff1a35b_eb6fcb75, 0x3c8b898c_3f1353bf),
    (0x3ff1d487_3168b9aa, 0x3c9aecf7_3e3a2f60),
    (0x3ff2063b_88628cd6, 0x3c8a6f41_44a6c38d),
    (0x3ff2387a_6e756238, 0x3c968efd_e3a8a894),
    (0x3ff26b45_65e27cdd, 0x3c80472b_981fe7f2),
    (0x3ff29e9d_f51fdee1, 0x3c82f7e1_6d09ab31),
    (0x3ff2d285_a6e4030b, 0x3c8b3782_720c0ab4),
    (0x3ff306fe_0a31b715, 0x3c834d75_4db0abb6),
    (0x3ff33c08_b26416ff, 0x3c8fdd39_5dd3f84a),
    (0x3ff371a7_373aa9cb, 0xbc924aed_cc4b5068),
    (0x3ff3a7db_34e59ff7, 0xbc71d1e8_3e9436d2),
    (0x3ff3dea6_4c123422, 0x3c859f48_a72a4c6d),
    (0x3ff4160a_21f72e2a, 0xbc58a78f_4817895b),
    (0x3ff44e08_6061892d, 0x3c4363ed_60c2ac11),
    (0x3ff486a2_b5c13cd0, 0x3c6ecce1_daa10379),
    (0x3ff4bfda_d5362a27, 0x3c7690ce_bb7aafb0),
    (0x3ff4f9b2_769d2ca7, 0xbc8f9434_0071a38e),
    (0x3ff5342b_569d4f82, 0xbc78dec6_bd0f385f),
    (0x3ff56f47_36b527da, 0x3c933505_18fdd78e),
    (0x3ff5ab07_dd485429, 0x3c9063e1_e21c5409),
    (0x3ff5e76f_15ad2148, 0x3c9432e6_2b64c035),
    (0x3ff6247e_b03a5585, 0xbc8c33c5_3bef4da8),
    (0x3ff66238_82552225, 0xbc93cedd_78565858),
    (0x3ff6a09e_667f3bcd, 0xbc93b3ef_bf5e2228),
    (0x3ff6dfb2_3c651a2f, 0xbc6367ef_b86da9ee),
    (0x3ff71f75_e8ec5f74, 0xbc781f64_7e5a3ecf),
    (0x3ff75feb_564267c9, 0xbc861932_1e55e68a),
    (0x3ff7a114_73eb0187, 0xbc7b32dc_b94da51d),
    (0x3ff7e2f3_36cf4e62, 0x3c65ebe1_abd66c55),
    (0x3ff82589_994cce13, 0xbc9369b6_f13b3734),
    (0x3ff868d9_9b4492ed, 0xbc94d450_d872576e),
    (0x3ff8ace5_422aa0db, 0x3c8db72f_c1f0eab4),
    (0x3ff8f1ae_99157736, 0x3c7bf683_59f35f44),
    (0x3ff93737_b0cdc5e5, 0xbc5da9b8_8b6c1e29),
    (0x3ff97d82_9fde4e50, 0xbc924343_22f4f9aa),
    (0x3ff9c491_82a3f090, 0x3c71affc_2b91ce27),
    (0x3ffa0c66_7b5de565, 0xbc87c504_22622263),
    (0x3ffa5503_b23e255d, 0xbc91bbd1_d3bcbb15),
    (0x3ffa9e6b_5579fdbf, 0x3c846984_6e735ab3),
    (0x3ffae89f_995ad3ad, 0x3c8c1a77_92cb3387),
    (0x3ffb33a2_b84f15fb, 0xbc55c3d9_56dcaeba),
    (0x3ffb7f76_f2fb5e47, 0xbc68d6f4_38ad9334),
    (0x3ffbcc1e_904bc1d2, 0x3c74ffd7_0a5fddcd),
    (0x3ffc199b_dd85529c, 0x3c736eae_30af0cb3),
    (0x3ffc67f1_2e57d14b, 0x3c84e08f_d10959ac),
    (0x3ffcb720_dcef9069, 0x3c676b2c_6c921968),
    (0x3ffd072d_4a07897c, 0xbc8fad5d_3ffffa6f),
    (0x3ffd5818_dcfba487, 0x3c74a385_a63d07a7),
    (0x3ffda9e6_03db3285, 0x3c8e5a50_d5c192ac),
    (0x3ffdfc97_337b9b5f, 0xbc82d521_07b43e1f),
    (0x3ffe502e_e78b3ff6, 0x3c74b604_603a88d3),
    (0x3ffea4af_a2a490da, 0xbc8ff712_8fd391f0),
    (0x3ffefa1b_ee615a27, 0x3c8ec3bc_41aa2008),
    (0x3fff5076_5b6e4540, 0x3c8a64a9_31d185ee),
    (0x3fffa7c1_819e90d8, 0x3c77893b_4d91cd9d),
];

const SIGN_BIT: u64 = 0x8000_0000_0000_0000;
const QUIET_BIT: u64 = 0x0008_0000_0000_0000;
const FRAC_MASK: u64 = 0x000f_ffff_ffff_ffff;

/// NumPy's float64 `np.exp` as a default NumPy 2.x (Linux x86-64 wheel)
/// computes it on a CPU with AVX-512 (x86-64-v4): Intel SVML's
/// `__svml_exp8_ha`, reproduced bit for bit on any CPU.
///
/// It differs from the C library's `exp` (`f64::exp`) by one ulp for a
/// fraction of a percent of arguments.  NaN gives the same NaN made quiet;
/// `+inf` gives `+inf`, `-inf` gives `+0`; results overflow to `+inf` above
/// `ln(f64::MAX)` and reach the subnormal range below about `-708.4`.
pub fn numpy_avx512_exp(x: f64) -> f64 {
    if x.is_nan() {
        // Every step propagates the NaN of `x`; `vscalefpd` returns it quiet.
        return f64::from_bits(x.to_bits() | QUIET_BIT);
    }
    if x.abs() >= MAIN_LIMIT {
        return rare_path(x);
    }
    // Step 1: the FMA `x·LOG2E + SHIFTER` rounded toward zero.  The sum lies
    // in [2^48, 2^49), where doubles are 1/16 apart, so rounding toward zero
    // adds `floor(16·x·LOG2E)/16` of the exact product to `SHIFTER`, exactly.
    let shifted = SHIFTER + floor_sixteenths_of_x_log2e(x) as f64 / 16.0;
    // `N = M + j/16`, exactly; the table index `j` is the low four bits.
    let n = shifted - SHIFTER;
    let j = (shifted.to_bits() & 15) as usize;
    // Step 2: `r = x - N·ln2`, two fused negated multiply-adds.
    let r = (-n).mul_add(LN2_HI, x);
    let r = (-n).mul_add(LN2_LO, r);
    let r = f64::from_bits(r.to_bits() & R_MASK);
    // Step 3: the polynomial, in SVML's order of operations.
    let r2 = r * r;
    let p56 = C6.mul_add(r, C5);
    let p34 = C4.mul_add(r, C3);
    let p12 = C2.mul_add(r, C1);
    let p36 = r2.mul_add(p56, p34);
    let p16 = r2.mul_add(p36, p12);
    let th = f64::from_bits(TH[j]);
    let p = p16.mul_add(r, f64::from_bits(TLR[j]));
    let res = th.mul_add(p, th);
    // Step 4: `vscalefpd`: `res·2^floor(N)` with one rounding.
    scalef(res, n.floor() as i64)
}

/// `floor(16·x·LOG2E)` of the exact (unrounded) product, for `|x| < 1100`.
fn floor_sixteenths_of_x_log2e(x: f64) -> i64 {
    let p = x * LOG2E;
    // The product's rounding error; exact here (`|x|` is either 0 or large
    // enough whenever it is used below).
    let err = x.mul_add(LOG2E, -p);
    let p16 = p * 16.0;
    let mut f = p16.floor();
    // When `16·p` is not an integer, the error (at most half an ulp of `p`)
    // cannot carry the exact product across an integer.  When it is one, the
    // sign of the error decides.
    if f == p16 && err < 0.0 {
        f -= 1.0;
    }
    f as i64
}

/// `a·2^m` rounded once to nearest-even, as `vscalefpd` computes it for a
/// finite `a` (its second operand is `m`, already an integer), including
/// results that overflow or become subnormal.
fn scalef(a: f64, m: i64) -> f64 {
    if a == 0.0 || !a.is_finite() {
        return a;
    }
    let bits = a.to_bits();
    let sign = bits & SIGN_BIT;
    let field = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & FRAC_MASK;
    // `|a| = mant·2^(e - 1075)` with the biased exponent `e`.
    let (mut mant, mut e) = if field == 0 {
        (frac, 1)
    } else {
        (frac | (1 << 52), field)
    };
    // Normalize so that bit 52 of `mant` is set.
    let shift = i64::from(mant.leading_zeros()) - 11;
    mant <<= shift;
    e -= shift;
    // Biased exponent of the result; `m` clamped so nothing overflows.
    let e = e + m.clamp(-4096, 4096);
    if e >= 0x7ff {
        return f64::from_bits(sign | 0x7ff0_0000_0000_0000);
    }
    if e >= 1 {
        return f64::from_bits(sign | ((e as u64) << 52) | (mant & FRAC_MASK));
    }
    // Subnormal: `mant·2^(e - 1075)` in units of `2^-1074` is `mant >> sh`.
    let sh = 1 - e;
    if sh > 54 {
        return f64::from_bits(sign);
    }
    let q = mant >> sh;
    let rem = mant & ((1u64 << sh) - 1);
    let half = 1u64 << (sh - 1);
    let q = if rem > half || (rem == half && q & 1 == 1) {
        q + 1
    } else {
        q
    };
    // A carry into bit 52 gives the smallest normal number, as it should.
    f64::from_bits(sign | q)
}

/// A double `2^(field - 1023)` built from a biased exponent field, as the
/// scalar fallback does (`field` already masked to 11 bits).
fn pow2_from_field(field: u32) -> f64 {
    f64::from_bits(u64::from(field) << 52)
}

/// SVML's scalar fallback for `|x| >= MAIN_LIMIT` (never NaN here):
/// plain double arithmetic, rounded to nearest, in the machine code's order.
fn rare_path(x: f64) -> f64 {
    let field = (x.to_bits() >> 52) & 0x7ff;
    if field == 0x7ff {
        // -inf gives +0; +inf (and NaN, not reached) give `x·x`.
        return if x == f64::NEG_INFINITY { 0.0 } else { x * x };
    }
    if field <= 970 {
        return 1.0 + x;
    }
    if x > RARE_OVERFLOW {
        return RARE_HUGE * RARE_HUGE;
    }
    if x < RARE_UNDERFLOW {
        return RARE_TINY * RARE_TINY;
    }
    let shifted = RARE_INV_LN2_64 * x + RARE_SHIFTER;
    // The low 32 bits of the shifted sum hold `N = rint(64·x/ln2)`.
    let low = shifted.to_bits() as u32;
    let j = (low & 63) as usize;
    let nd = shifted - RARE_SHIFTER;
    let r = x - nd * RARE_LN2_64_HI;
    let r = r - nd * RARE_LN2_64_LO;
    let mut q = D6 * r + D5;
    q = q * r + D4;
    q = q * r + D3;
    q = q * r + D2;
    q = q * r * r + r;
    let (t_hi, t_lo) = RARE_TABLE[j];
    let t_hi = f64::from_bits(t_hi);
    q = (q + f64::from_bits(t_lo)) * t_hi;
    // `M = floor(N/64)` through a logical shift of the 32-bit pattern.
    let m = low >> 6;
    if x < RARE_SUBNORMAL {
        // Subnormal result: work at `2^(M+60)`, scale by `2^-60` at the end.
        let field = m.wrapping_add(1083) & 2047;
        let scale = pow2_from_field(field);
        let lo = q * scale;
        let hi = scale * t_hi;
        let sum = hi + lo;
        if field <= 50 {
            return sum * TWO_POW_M60;
        }
        let err = (hi - sum) + lo;
        let c = sum * RARE_SPLIT;
        let top = (sum + c) - c;
        let bottom = err + (sum - top);
        return top * TWO_POW_M60 + bottom * TWO_POW_M60;
    }
    let field = m.wrapping_add(1023) & 2047;
    let q = q + t_hi;
    if field > 2046 {
        return q * pow2_from_field(field.wrapping_sub(1) & 2047) * 2.0;
    }
    q * pow2_from_field(field)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(argument, NumPy's result)` bit patterns, written by
    /// `tools/numpy_exp_samples.py`.
    const SAMPLES: &str = include_str!("numpy_exp_samples.txt");

    fn samples() -> Vec<(u64, u64)> {
        SAMPLES
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .map(|line| {
                let mut words = line.split_whitespace();
                let mut next = || u64::from_str_radix(words.next().unwrap(), 16).unwrap();
                (next(), next())
            })
            .collect()
    }

    fn exp_bits(x: f64) -> u64 {
        numpy_avx512_exp(x).to_bits()
    }

    /// The next double toward +inf (`x` finite).
    fn next_up(x: f64) -> f64 {
        match x {
            0.0 => f64::from_bits(1),
            _ if x > 0.0 => f64::from_bits(x.to_bits() + 1),
            _ => f64::from_bits(x.to_bits() - 1),
        }
    }

    /// The next double toward -inf (`x` finite).
    fn next_down(x: f64) -> f64 {
        -next_up(-x)
    }

    #[test]
    fn committed_samples_match_bit_for_bit() {
        let samples = samples();
        assert!(samples.len() >= 2000, "only {} samples", samples.len());
        let wrong: Vec<String> = samples
            .iter()
            .filter(|&&(x, y)| exp_bits(f64::from_bits(x)) != y)
            .map(|&(x, y)| {
                format!(
                    "{x:016x}: want {y:016x}, got {:016x}",
                    exp_bits(f64::from_bits(x))
                )
            })
            .collect();
        assert!(
            wrong.is_empty(),
            "{} of {} differ: {:?}",
            wrong.len(),
            samples.len(),
            &wrong[..wrong.len().min(10)]
        );
    }

    #[test]
    fn samples_cover_what_matters() {
        let samples = samples();
        let args: Vec<f64> = samples.iter().map(|&(x, _)| f64::from_bits(x)).collect();
        // Arguments of scipy's Gaussian kernel for sigma = 0.5 and 8.
        for sigma in [0.5f64, 8.0] {
            let radius = (4.0 * sigma + 0.5) as i64;
            for x in -radius..=radius {
                let a = -0.5 / (sigma * sigma) * (x * x) as f64;
                assert!(args.iter().any(|&b| b.to_bits() == a.to_bits()), "{a}");
            }
        }
        // Subnormal results, and the special values.
        assert!(samples.iter().any(|&(_, y)| (1..1 << 52).contains(&y)));
        for bits in [0x7ff0_0000_0000_0000u64, 0xfff0_0000_0000_0000, 0, 1 << 63] {
            assert!(samples.iter().any(|&(x, _)| x == bits), "{bits:x}");
        }
    }

    #[test]
    fn special_values() {
        assert_eq!(exp_bits(f64::NAN), f64::NAN.to_bits());
        assert_eq!(exp_bits(-f64::NAN), (-f64::NAN).to_bits());
        // A signalling NaN comes back quiet, payload and sign kept.
        assert_eq!(
            exp_bits(f64::from_bits(0xfff0_0000_0000_0001)),
            0xfff8_0000_0000_0001
        );
        assert_eq!(numpy_avx512_exp(f64::INFINITY), f64::INFINITY);
        assert_eq!(exp_bits(f64::NEG_INFINITY), 0);
        assert_eq!(numpy_avx512_exp(0.0), 1.0);
        assert_eq!(numpy_avx512_exp(-0.0), 1.0);
        assert_eq!(numpy_avx512_exp(f64::MAX), f64::INFINITY);
        assert_eq!(exp_bits(f64::MIN), 0);
        assert_eq!(exp_bits(-1000.0), 0);
        assert_eq!(numpy_avx512_exp(1000.0), f64::INFINITY);
        assert_eq!(numpy_avx512_exp(5e-324), 1.0);
        assert_eq!(numpy_avx512_exp(1e-300), 1.0);
        assert_eq!(numpy_avx512_exp(-1e-300), 1.0);
        assert_eq!(numpy_avx512_exp(1.0), std::f64::consts::E);
        assert_eq!(exp_bits(-0.5), 0x3fe3_68b2_fc6f_960a);
        assert_eq!(exp_bits(-1.0), 0x3fd7_8b56_362c_ef38);
    }

    #[test]
    fn where_it_differs_from_a_correctly_rounded_exp() {
        // exp(-2^-54) is 1 - 2^-54 + ..., which rounds to 1; SVML's argument
        // reduction truncates downwards and lands one ulp below.
        assert_eq!(exp_bits(-(2f64.powi(-54))), 0x3fef_ffff_ffff_ffff);
    }

    #[test]
    fn thresholds() {
        // Overflow: ln(f64::MAX) is the last finite argument.
        assert!(numpy_avx512_exp(RARE_OVERFLOW).is_finite());
        assert_eq!(numpy_avx512_exp(next_up(RARE_OVERFLOW)), f64::INFINITY);
        assert_eq!(exp_bits(709.78), 0x7fef_e9ce_5c4c_52b4);
        // Underflow: the last argument with a nonzero result.
        assert_eq!(exp_bits(RARE_UNDERFLOW), 1);
        assert_eq!(exp_bits(next_down(RARE_UNDERFLOW)), 0);
        // Subnormal results through the scalar fallback's split product.
        assert_eq!(exp_bits(-740.0), 0x55);
        assert_eq!(exp_bits(-708.5), 0x000e_6cf6_d088_97ac);
        assert!(numpy_avx512_exp(RARE_SUBNORMAL) >= f64::MIN_POSITIVE);
        // Both sides of the main path's limit (main path, then the scalar
        // fallback) stay within an ulp of the C library's exp.
        for limit in [MAIN_LIMIT, -MAIN_LIMIT] {
            let inside = next_down(limit.abs()).copysign(limit);
            for x in [inside, limit] {
                let diff = numpy_avx512_exp(x).to_bits().abs_diff(x.exp().to_bits());
                assert!(diff <= 1, "{x}");
            }
        }
        assert_eq!(exp_bits(MAIN_LIMIT), 0x7fc0_0000_0000_007c);
    }

    #[test]
    fn within_one_ulp_of_the_c_library() {
        // Both functions are accurate to about half an ulp, so they never
        // differ by more than one; a wrong constant or step would.
        let mut differ = 0;
        let mut x = -745.0;
        while x < 709.7 {
            let ours = numpy_avx512_exp(x).to_bits() as i64;
            let libm = x.exp().to_bits() as i64;
            assert!((ours - libm).abs() <= 1, "{x}: {ours:x} {libm:x}");
            differ += i64::from(ours != libm);
            x += 0.001_234_567;
        }
        assert!(differ > 0);
    }

    #[test]
    fn floor_sixteenths_is_exact_at_grid_points() {
        // x = k/16 / log2(e) rounded: the exact product straddles k/16.
        for k in -16_352i64..=16_336 {
            let x = k as f64 / 16.0 / LOG2E;
            for x in [next_down(x), x, next_up(x)] {
                let n = floor_sixteenths_of_x_log2e(x);
                let lo = (n as f64) / 16.0;
                // N <= x·log2(e) < N + 1/16, checked with an FMA residual.
                assert!(x.mul_add(LOG2E, -lo) >= 0.0, "{x} {n}");
                assert!(x.mul_add(LOG2E, -(lo + 0.0625)) < 0.0, "{x} {n}");
            }
        }
    }

    #[test]
    fn scalef_rounds_once() {
        let mantissas = [
            1.0,
            1.5,
            f64::from_bits(0x3ff0_0000_0000_0001),
            f64::from_bits(0x3fff_ffff_ffff_ffff),
            f64::from_bits(0x3ff8_0000_0000_0001),
            f64::from_bits(0x3ff7_ffff_ffff_ffff),
            f64::from_bits(0x3ffa_5a5a_5a5a_5a5a),
            -1.25,
        ];
        for &a in &mantissas {
            for m in -1074i64..=1023 {
                // 2^m is a double here, so one IEEE multiplication is the
                // once-rounded reference.
                let pow = if m >= -1022 {
                    f64::from_bits(((m + 1023) as u64) << 52)
                } else {
                    f64::from_bits(1u64 << (m + 1074))
                };
                assert_eq!(scalef(a, m).to_bits(), (a * pow).to_bits(), "{a} {m}");
            }
            // Below 2^-1074: scale exactly first, then round once.
            for m in -1130i64..-1074 {
                let exact = a * f64::from_bits(((m + 1074 + 1023) as u64) << 52);
                let want = exact * f64::from_bits(1);
                assert_eq!(scalef(a, m).to_bits(), want.to_bits(), "{a} {m}");
            }
            assert_eq!(scalef(a, 1024), f64::INFINITY.copysign(a));
        }
        // Ties to even, and a carry into the smallest normal number.
        assert_eq!(scalef(1.5, -1074).to_bits(), 2);
        assert_eq!(scalef(2.5, -1074).to_bits(), 2);
        assert_eq!(
            scalef(f64::from_bits(0x3fff_ffff_ffff_ffff), -1023),
            f64::MIN_POSITIVE
        );
        // Just above half of the smallest subnormal: rounds up to it, where
        // two steps through a subnormal round twice (to 16, then tie to 0).
        let a = f64::from_bits(0x3ff0_0000_0000_0003);
        assert_eq!(scalef(a, -1075).to_bits(), 1);
        let two_step = a * f64::from_bits(1 << 4) * f64::from_bits(0x3fa0_0000_0000_0000);
        assert_eq!(two_step.to_bits(), 0);
        assert_eq!(scalef(0.0, 5).to_bits(), 0);
        assert_eq!(scalef(-0.0, -5).to_bits(), 1 << 63);
    }

    #[test]
    fn gaussian_kernel_arguments_stay_on_the_main_path() {
        // scipy: exp(-0.5/sigma^2 * x^2), |x| <= int(4 sigma + 0.5): the
        // argument is at least about -8.6, far from every threshold.
        for sigma in [0.5f64, 1.0, 1.5, 2.0, 3.0, 8.0, 0.1, 37.3] {
            let radius = (4.0 * sigma + 0.5) as i64;
            for x in -radius..=radius {
                let a = -0.5 / (sigma * sigma) * (x * x) as f64;
                assert!(a.abs() < MAIN_LIMIT);
                let y = numpy_avx512_exp(a);
                assert!(y > 0.0 && y <= 1.0, "{sigma} {x}: {y}");
            }
        }
    }
}
