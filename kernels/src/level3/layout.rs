//! Where element (i, j) of a strided matrix lives in a slice, and rectangular views of it.
//!
//! A [`Layout`] is a `rows × cols` matrix stored at index `i·rs + j·cs` of a slice (row-major
//! with leading dimension `ld` is `rs = ld, cs = 1`). A [`View`] is a rectangle of that
//! matrix, possibly read transposed. The level-3 algorithms (syrk, trsm, Cholesky) work on
//! several views of one buffer at once; two views whose rectangles are disjoint address
//! disjoint elements when the layout is injective, which is the argument every raw-pointer
//! call in this module tree rests on.

/// A `rows × cols` matrix stored at index `i·rs + j·cs`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Layout {
    pub rows: usize,
    pub cols: usize,
    pub rs: usize,
    pub cs: usize,
}

impl Layout {
    /// Row-major with leading dimension `ld`: element (i, j) at `i·ld + j`.
    pub fn row_major(rows: usize, cols: usize, ld: usize) -> Self {
        Layout {
            rows,
            cols,
            rs: ld,
            cs: 1,
        }
    }

    /// One past the largest index addressed (0 when empty), or `None` on overflow.
    pub fn extent(&self) -> Option<usize> {
        if self.rows == 0 || self.cols == 0 {
            return Some(0);
        }
        let last_row = (self.rows - 1).checked_mul(self.rs)?;
        let last_col = (self.cols - 1).checked_mul(self.cs)?;
        last_row.checked_add(last_col)?.checked_add(1)
    }

    /// Whether every element lies inside a slice of length `len`.
    pub fn fits(&self, len: usize) -> bool {
        self.extent().is_some_and(|e| e <= len)
    }

    /// Whether distinct (i, j) address distinct indices (sufficient test: the smaller stride
    /// steps over its whole dimension before the larger stride takes one step).
    pub fn is_injective(&self) -> bool {
        if self.rows == 0 || self.cols == 0 {
            return true;
        }
        // Order the two (stride, dimension) pairs by stride; a dimension of 1 takes no step.
        let (mut small, mut large) = ((self.rs, self.rows), (self.cs, self.cols));
        if small.0 > large.0 {
            (small, large) = (large, small);
        }
        match (small.1 > 1, large.1 > 1) {
            (false, false) => true,
            (true, false) => small.0 > 0,
            (false, true) => large.0 > 0,
            (true, true) => {
                small.0 > 0
                    && (small.1 - 1)
                        .checked_mul(small.0)
                        .is_some_and(|x| x < large.0)
            }
        }
    }

    /// The whole matrix as a view.
    pub fn full(&self) -> View {
        View {
            r0: 0,
            c0: 0,
            rows: self.rows,
            cols: self.cols,
            t: false,
        }
    }
}

/// The rectangle `[r0, r0 + rows) × [c0, c0 + cols)` of a [`Layout`], read transposed if `t`.
///
/// Logical element (i, j) is stored element (r0 + i, c0 + j), or (r0 + j, c0 + i) if `t`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct View {
    pub r0: usize,
    pub c0: usize,
    pub rows: usize,
    pub cols: usize,
    pub t: bool,
}

impl View {
    /// Logical number of rows.
    pub fn m(&self) -> usize {
        if self.t { self.cols } else { self.rows }
    }

    /// Logical number of columns.
    pub fn n(&self) -> usize {
        if self.t { self.rows } else { self.cols }
    }

    /// The transposed view of the same elements.
    pub fn tr(self) -> View {
        View { t: !self.t, ..self }
    }

    /// The logical `m × n` block starting at logical (i, j).
    pub fn sub(self, i: usize, j: usize, m: usize, n: usize) -> View {
        debug_assert!(i + m <= self.m() && j + n <= self.n());
        if self.t {
            View {
                r0: self.r0 + j,
                c0: self.c0 + i,
                rows: n,
                cols: m,
                t: true,
            }
        } else {
            View {
                r0: self.r0 + i,
                c0: self.c0 + j,
                rows: m,
                cols: n,
                t: false,
            }
        }
    }

    /// Logical (row, column) strides in the slice.
    pub fn strides(&self, l: &Layout) -> (usize, usize) {
        if self.t { (l.cs, l.rs) } else { (l.rs, l.cs) }
    }

    /// Index of logical (i, j).
    pub fn at(&self, l: &Layout, i: usize, j: usize) -> usize {
        let (rs, cs) = self.strides(l);
        self.r0 * l.rs + self.c0 * l.cs + i * rs + j * cs
    }

    /// Whether the rectangle lies inside the layout's matrix.
    pub fn within(&self, l: &Layout) -> bool {
        self.r0.checked_add(self.rows).is_some_and(|r| r <= l.rows)
            && self.c0.checked_add(self.cols).is_some_and(|c| c <= l.cols)
    }

    /// Whether the two rectangles share no stored element (either may be empty).
    pub fn disjoint(&self, o: &View) -> bool {
        let empty = self.rows == 0 || self.cols == 0 || o.rows == 0 || o.cols == 0;
        empty
            || self.r0 + self.rows <= o.r0
            || o.r0 + o.rows <= self.r0
            || self.c0 + self.cols <= o.c0
            || o.c0 + o.cols <= self.c0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn injectivity_matches_the_definition_on_small_layouts() {
        for rows in 0..4 {
            for cols in 0..4 {
                for rs in 0..6 {
                    for cs in 0..6 {
                        let l = Layout { rows, cols, rs, cs };
                        let mut seen: Vec<usize> = (0..rows)
                            .flat_map(|i| (0..cols).map(move |j| i * rs + j * cs))
                            .collect();
                        seen.sort_unstable();
                        let distinct = seen.windows(2).all(|w| w[0] != w[1]);
                        // The test is sufficient, so it may only err on the safe side.
                        assert!(!l.is_injective() || distinct, "{l:?}");
                        if rs == 0 || cs == 0 || rs.min(cs) == 1 {
                            assert_eq!(l.is_injective(), distinct, "{l:?}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn transposed_sub_views_address_the_transposed_elements() {
        let l = Layout::row_major(5, 7, 9);
        let v = l.full().sub(1, 2, 3, 4).tr();
        assert_eq!((v.m(), v.n()), (4, 3));
        assert_eq!(v.at(&l, 2, 1), (1 + 1) * 9 + (2 + 2));
        assert_eq!(v.sub(1, 0, 2, 3).at(&l, 0, 2), (1 + 2) * 9 + (2 + 1));
    }
}
