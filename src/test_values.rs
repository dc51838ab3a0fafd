//! Values that tests in several modules share.

/// What Python's `json.dumps` writes for doubles that are hard to read
/// back: 17 significant digits, subnormals, the smallest normal, ±0, the
/// largest finite values, 2^53, 1e23 (halfway cases), and the bits each
/// must parse to.
pub(crate) const HARD_DOUBLES: [(&str, u64); 14] = [
    ("0.9997911436030891", 0x3FEFFE49_FF1361F4),
    ("0.30000000000000004", 0x3FD33333_33333334),
    ("0.3333333333333333", 0x3FD55555_55555555),
    ("1.4142135623730951", 0x3FF6A09E_667F3BCD),
    ("5e-324", 0x00000000_00000001),
    ("2.225073858507201e-308", 0x000FFFFF_FFFFFFFF),
    ("2.2250738585072014e-308", 0x00100000_00000000),
    ("-0.0", 0x80000000_00000000),
    ("0.0", 0x00000000_00000000),
    ("1.7976931348623157e+308", 0x7FEFFFFF_FFFFFFFF),
    ("-1.7976931348623157e+308", 0xFFEFFFFF_FFFFFFFF),
    ("9007199254740992.0", 0x43400000_00000000),
    ("1e+23", 0x44B52D02_C7E14AF6),
    ("4.35679e-307", 0x00539496_F9616494),
];
