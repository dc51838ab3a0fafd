//! Where a sample beyond the edge of an axis comes from, for each mode.
//!
//! These are the index formulas of scipy's `NI_ExtendLine`, written as maps
//! from any position to a position inside the axis (or to `cval`). They hold
//! for every radius, also one longer than the axis, where scipy's copying
//! loops keep cycling through the values they already wrote.

use super::params::BoundaryMode;

/// The source of position `p` (which may lie outside `0..n`) on an axis of
/// length `n >= 1`: `Some(index)` inside the axis, or `None` for `cval`.
pub(crate) fn source_index(mode: BoundaryMode, p: i64, n: usize) -> Option<usize> {
    let n_i = n as i64;
    if (0..n_i).contains(&p) {
        return Some(p as usize);
    }
    let m = match mode {
        BoundaryMode::Constant | BoundaryMode::GridConstant => return None,
        BoundaryMode::Nearest => p.clamp(0, n_i - 1),
        BoundaryMode::Wrap | BoundaryMode::GridWrap => p.rem_euclid(n_i),
        BoundaryMode::Reflect | BoundaryMode::GridMirror => {
            let m = p.rem_euclid(2 * n_i);
            if m < n_i { m } else { 2 * n_i - 1 - m }
        }
        // scipy treats a mirror of a single sample as nearest.
        BoundaryMode::Mirror if n == 1 => 0,
        BoundaryMode::Mirror => {
            let period = 2 * n_i - 2;
            let m = p.rem_euclid(period);
            if m < n_i { m } else { period - m }
        }
    };
    Some(m as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extend(mode: BoundaryMode, n: usize, before: i64, after: i64) -> Vec<Option<usize>> {
        (-before..n as i64 + after)
            .map(|p| source_index(mode, p, n))
            .collect()
    }

    fn some(v: &[usize]) -> Vec<Option<usize>> {
        v.iter().map(|&i| Some(i)).collect()
    }

    #[test]
    fn reflect_repeats_the_edge_sample() {
        // d c b a | a b c d | d c b a
        assert_eq!(
            extend(BoundaryMode::Reflect, 4, 4, 4),
            some(&[3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0])
        );
        assert_eq!(
            extend(BoundaryMode::GridMirror, 2, 5, 0),
            some(&[0, 0, 1, 1, 0, 0, 1])
        );
    }

    #[test]
    fn mirror_does_not_repeat_the_edge_sample() {
        // d c b | a b c d | c b a
        assert_eq!(
            extend(BoundaryMode::Mirror, 4, 3, 3),
            some(&[3, 2, 1, 0, 1, 2, 3, 2, 1, 0])
        );
        assert_eq!(
            extend(BoundaryMode::Mirror, 1, 2, 2),
            some(&[0, 0, 0, 0, 0])
        );
        assert_eq!(
            extend(BoundaryMode::Mirror, 2, 3, 3),
            some(&[1, 0, 1, 0, 1, 0, 1, 0])
        );
    }

    #[test]
    fn wrap_is_periodic_for_any_distance() {
        assert_eq!(
            extend(BoundaryMode::Wrap, 3, 7, 4),
            some(&[2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
        );
        assert_eq!(
            extend(BoundaryMode::GridWrap, 3, 1, 1),
            some(&[2, 0, 1, 2, 0])
        );
    }

    #[test]
    fn nearest_clamps_and_constant_gives_cval() {
        assert_eq!(
            extend(BoundaryMode::Nearest, 3, 2, 2),
            some(&[0, 0, 0, 1, 2, 2, 2])
        );
        assert_eq!(
            extend(BoundaryMode::Constant, 2, 1, 1),
            vec![None, Some(0), Some(1), None]
        );
        assert_eq!(source_index(BoundaryMode::GridConstant, -1, 5), None);
    }
}
