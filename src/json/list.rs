//! Nested JSON lists into tensors, as `numpy.array(list)` reads them.
//!
//! The list is read in one pass straight into a flat buffer (no
//! `serde_json::Value` tree): every list at one depth must have the same
//! length (else it is ragged), numbers must all sit at the same depth (else
//! lists and numbers are mixed), and the depth is at most NumPy's 64 axes.
//! The dtype follows NumPy: all booleans → `bool`; integers (and booleans)
//! → `int64`, or `uint64` when one is over `int64` and none is negative; any
//! float → `float64`; an empty list → `float64`. Strings, `null` and objects
//! are refused.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::tensor::{DType, Tensor, TensorLimits};

/// Deepest nesting accepted: NumPy's `NPY_MAXDIMS`.
pub const MAX_DEPTH: usize = 64;

/// Why a body is not a usable list.
#[derive(Debug, PartialEq, Eq)]
pub enum ListError {
    /// The body has no such field.
    Missing,
    /// The body or the list is malformed; the reason, for a person.
    Invalid(String),
}

/// Reads `{"<field>": <nested list>, ...}` into a tensor, as the seed
/// routes do with a JSON body's `array_list`. Other fields are skipped
/// (they must still be valid JSON); a second `<field>` is skipped too.
/// Never panics: malformed JSON, ragged, mixed, non-numeric or too deep
/// lists are [`ListError::Invalid`], a body without the field is
/// [`ListError::Missing`]. Public so the fuzz targets (`fuzz/`) can call it.
pub fn tensor_from_json_body(body: &[u8], field: &str) -> Result<Tensor, ListError> {
    // serde_json skips the strings of the fields it ignores without checking
    // that they are UTF-8, so a body with bad bytes in another field was
    // read: check the whole body, as JSON must be UTF-8 (RFC 8259) and Flask
    // refuses such a body. Found by the `json_list` fuzz target.
    let text = std::str::from_utf8(body).map_err(|e| {
        ListError::Invalid(format!("the body is not valid UTF-8, as JSON must be: {e}"))
    })?;
    let mut builder = Builder::default();
    let mut de = serde_json::Deserializer::from_str(text);
    let found = BodySeed {
        field,
        builder: &mut builder,
    }
    .deserialize(&mut de)
    .and_then(|found| de.end().map(|()| found))
    .map_err(|e| ListError::Invalid(e.to_string()))?;
    if !found {
        return Err(ListError::Missing);
    }
    builder.finish().map_err(ListError::Invalid)
}

/// One scalar as read.
#[derive(Clone, Copy, Debug)]
enum Scalar {
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
}

#[derive(Default)]
struct Builder {
    /// Length of the lists at each depth, once one has ended.
    lengths: Vec<Option<usize>>,
    /// Whether a list has started at each depth.
    list_seen: Vec<bool>,
    /// Depth of the scalars, once one is seen.
    leaf_depth: Option<usize>,
    values: Vec<Scalar>,
    any_float: bool,
    any_int: bool,
    any_negative: bool,
    any_over_i64: bool,
}

impl Builder {
    fn start_list(&mut self, depth: usize) -> Result<(), String> {
        if depth >= MAX_DEPTH {
            return Err(format!(
                "the list is nested deeper than {MAX_DEPTH} levels (NumPy's limit of axes)"
            ));
        }
        if self.leaf_depth == Some(depth) {
            return Err(mixed(depth));
        }
        if self.list_seen.len() <= depth {
            self.list_seen.resize(depth + 1, false);
        }
        self.list_seen[depth] = true;
        Ok(())
    }

    fn end_list(&mut self, depth: usize, len: usize) -> Result<(), String> {
        if self.lengths.len() <= depth {
            self.lengths.resize(depth + 1, None);
        }
        match self.lengths[depth] {
            None => self.lengths[depth] = Some(len),
            Some(expected) if expected != len => {
                return Err(format!(
                    "the list is ragged: lists at depth {depth} have lengths {expected} and {len}; every list at one depth must have the same length"
                ));
            }
            Some(_) => {}
        }
        Ok(())
    }

    fn scalar(&mut self, depth: usize, value: Scalar) -> Result<(), String> {
        match self.leaf_depth {
            None => {
                if self.list_seen.get(depth).copied().unwrap_or(false) {
                    return Err(mixed(depth));
                }
                self.leaf_depth = Some(depth);
            }
            Some(leaf) if leaf != depth => {
                return Err(format!(
                    "the list is ragged: numbers appear at depths {leaf} and {depth}"
                ));
            }
            Some(_) => {}
        }
        match value {
            Scalar::Bool(_) => {}
            Scalar::Int(v) => {
                self.any_int = true;
                self.any_negative |= v < 0;
            }
            Scalar::UInt(v) => {
                self.any_int = true;
                self.any_over_i64 |= v > i64::MAX as u64;
            }
            Scalar::Float(_) => self.any_float = true,
        }
        self.values.push(value);
        Ok(())
    }

    fn finish(self) -> Result<Tensor, String> {
        let rank = self.leaf_depth.unwrap_or(self.lengths.len());
        let shape: Vec<u64> = self.lengths[..rank.min(self.lengths.len())]
            .iter()
            .map(|len| len.unwrap_or(0) as u64)
            .collect();
        let dtype = if self.any_float || (self.values.is_empty()) {
            DType::Float64
        } else if self.any_int {
            match (self.any_over_i64, self.any_negative) {
                (false, _) => DType::Int64,
                (true, false) => DType::UInt64,
                (true, true) => {
                    return Err("the integers do not all fit in int64 or uint64 (some are negative and some are over 2**63 - 1)".into());
                }
            }
        } else {
            DType::Bool
        };
        let mut data = Vec::with_capacity(self.values.len() * dtype.itemsize());
        for value in &self.values {
            match dtype {
                DType::Bool => data.push(matches!(value, Scalar::Bool(true)) as u8),
                DType::Int64 => data.extend_from_slice(&as_i64(*value).to_le_bytes()),
                DType::UInt64 => data.extend_from_slice(&as_u64(*value).to_le_bytes()),
                _ => data.extend_from_slice(&as_f64(*value).to_le_bytes()),
            }
        }
        let limits = TensorLimits {
            max_rank: MAX_DEPTH,
            max_bytes: u64::MAX,
        };
        Tensor::new(dtype, &shape, bytes::Bytes::from(data), &limits).map_err(|e| e.to_string())
    }
}

fn mixed(depth: usize) -> String {
    format!("the list mixes numbers and lists at depth {depth}")
}

fn as_i64(value: Scalar) -> i64 {
    match value {
        Scalar::Bool(b) => i64::from(b),
        Scalar::Int(v) => v,
        Scalar::UInt(v) => v as i64,
        Scalar::Float(v) => v as i64,
    }
}

fn as_u64(value: Scalar) -> u64 {
    match value {
        Scalar::Bool(b) => u64::from(b),
        Scalar::Int(v) => v as u64,
        Scalar::UInt(v) => v,
        Scalar::Float(v) => v as u64,
    }
}

fn as_f64(value: Scalar) -> f64 {
    match value {
        Scalar::Bool(b) => f64::from(u8::from(b)),
        Scalar::Int(v) => v as f64,
        Scalar::UInt(v) => v as f64,
        Scalar::Float(v) => v,
    }
}

/// The top-level object: finds the field, skips the others.
struct BodySeed<'f, 'b> {
    field: &'f str,
    builder: &'b mut Builder,
}

impl<'de> DeserializeSeed<'de> for BodySeed<'_, '_> {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<bool, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for BodySeed<'_, '_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a JSON object with an '{}' field", self.field)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut found = false;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.field && !found {
                map.next_value_seed(NodeSeed {
                    depth: 0,
                    builder: self.builder,
                })?;
                found = true;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// One value of the list at `depth`.
struct NodeSeed<'b> {
    depth: usize,
    builder: &'b mut Builder,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = ();
    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, a boolean or a list")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<(), E> {
        self.builder
            .scalar(self.depth, Scalar::Bool(v))
            .map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<(), E> {
        self.builder
            .scalar(self.depth, Scalar::Int(v))
            .map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<(), E> {
        let value = match i64::try_from(v) {
            Ok(v) => Scalar::Int(v),
            Err(_) => Scalar::UInt(v),
        };
        self.builder.scalar(self.depth, value).map_err(E::custom)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        self.builder
            .scalar(self.depth, Scalar::Float(v))
            .map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<(), E> {
        Err(E::custom(format!(
            "the list holds a string ({v:?}); only numbers and booleans are accepted"
        )))
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(
            "the list holds null; only numbers and booleans are accepted",
        ))
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<(), A::Error> {
        Err(de::Error::custom(
            "the list holds an object; only numbers and booleans are accepted",
        ))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let depth = self.depth;
        self.builder.start_list(depth).map_err(de::Error::custom)?;
        let mut len = 0usize;
        while seq
            .next_element_seed(NodeSeed {
                depth: depth + 1,
                builder: self.builder,
            })?
            .is_some()
        {
            len += 1;
        }
        self.builder.end_list(depth, len).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<Tensor, ListError> {
        tensor_from_json_body(json.as_bytes(), "array_list")
    }

    fn shape_and_dtype(json: &str) -> (Vec<usize>, DType) {
        let t = read(json).unwrap_or_else(|e| panic!("{json}: {e:?}"));
        (t.shape().to_vec(), t.dtype())
    }

    #[test]
    fn infers_shape_and_dtype_as_numpy_does() {
        let cases: [(&str, Vec<usize>, DType); 9] = [
            (
                r#"{"array_list": [[1, 2, 3], [4, 5, 6]]}"#,
                vec![2, 3],
                DType::Int64,
            ),
            (
                r#"{"array_list": [[1, 2.5], [3, 4]]}"#,
                vec![2, 2],
                DType::Float64,
            ),
            (r#"{"array_list": [true, false]}"#, vec![2], DType::Bool),
            (r#"{"array_list": [true, 2]}"#, vec![2], DType::Int64),
            (
                r#"{"array_list": [18446744073709551615]}"#,
                vec![1],
                DType::UInt64,
            ),
            (r#"{"array_list": []}"#, vec![0], DType::Float64),
            (r#"{"array_list": [[], []]}"#, vec![2, 0], DType::Float64),
            (r#"{"array_list": 7}"#, vec![], DType::Int64),
            (
                r#"{"id": {"x": [1]}, "array_list": [[[1]]], "z": 1}"#,
                vec![1, 1, 1],
                DType::Int64,
            ),
        ];
        for (json, shape, dtype) in cases {
            assert_eq!(shape_and_dtype(json), (shape, dtype), "{json}");
        }
    }

    #[test]
    fn values_are_stored_little_endian_in_c_order() {
        let t = read(r#"{"array_list": [[1, -2], [3, 4]]}"#).unwrap();
        let values: Vec<i64> = t
            .data()
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(values, vec![1, -2, 3, 4]);
    }

    #[test]
    fn refuses_ragged_mixed_non_numeric_and_too_deep_lists() {
        for bad in [
            r#"{"array_list": [[1, 2], [3]]}"#,
            r#"{"array_list": [[1], 2]}"#,
            r#"{"array_list": [1, [2]]}"#,
            r#"{"array_list": [[[1]], [2]]}"#,
            r#"{"array_list": [1, "a"]}"#,
            r#"{"array_list": [1, null]}"#,
            r#"{"array_list": [{"a": 1}]}"#,
            r#"{"array_list": "abc"}"#,
            r#"{"array_list": [-1, 18446744073709551615]}"#,
            r#"{"array_list": [1, 2"#,
            r#"[1, 2]"#,
        ] {
            assert!(
                matches!(read(bad), Err(ListError::Invalid(_))),
                "{bad} should be refused"
            );
        }
        let deep = format!(
            r#"{{"array_list": {}1{}}}"#,
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        match read(&deep) {
            Err(ListError::Invalid(m)) => assert!(m.contains("deeper"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refuses_a_body_that_is_not_utf8_even_in_a_skipped_field() {
        // Found by the `json_list` fuzz target
        // (tests/fuzz_regressions/json_list/).
        for body in [
            &b"{\"id\": {\"\xff\": 1}, \"array_list\": [1]}"[..],
            b"{\"id\": \"\xc3\", \"other\": [1]}",
        ] {
            match tensor_from_json_body(body, "array_list") {
                Err(ListError::Invalid(m)) => assert!(m.contains("UTF-8"), "{m}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn floats_parse_to_the_doubles_pythons_json_reads() {
        let texts: Vec<&str> = crate::test_values::HARD_DOUBLES
            .iter()
            .map(|(t, _)| *t)
            .collect();
        let t = read(&format!(r#"{{"array_list": [{}]}}"#, texts.join(", "))).unwrap();
        assert_eq!(t.dtype(), DType::Float64);
        let got: Vec<u64> = t
            .data()
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect();
        let want: Vec<u64> = crate::test_values::HARD_DOUBLES
            .iter()
            .map(|(_, b)| *b)
            .collect();
        assert_eq!(got, want);
    }

    #[test]
    fn a_body_without_the_field_is_missing() {
        assert_eq!(read(r#"{"other": [1]}"#).err(), Some(ListError::Missing));
    }
}
