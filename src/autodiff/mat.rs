//! The dense matrix every tape node holds: `rows × cols` f64 values, row-major.
//!
//! A column vector is `n × 1`, a scalar `1 × 1`. Nothing here is clever: the tape's
//! ops read and write `data` directly, and matrix products go through [`super::matmul`].

/// A dense row-major matrix: entry (i, j) is `data[i * cols + j]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Mat {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// The `rows · cols` entries, row by row.
    pub data: Vec<f64>,
}

impl Mat {
    /// The `rows × cols` matrix of zeros.
    pub fn zeros(rows: usize, cols: usize) -> Self {
        Mat {
            rows,
            cols,
            data: vec![0.0; rows * cols],
        }
    }

    /// A matrix from its row-major entries.
    ///
    /// # Panics
    /// If `data.len() != rows * cols`.
    #[track_caller]
    pub fn from_vec(rows: usize, cols: usize, data: Vec<f64>) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "Mat::from_vec: {rows} x {cols} needs {} entries",
            rows * cols
        );
        Mat { rows, cols, data }
    }

    /// The column vector `v` (`len × 1`).
    pub fn column(v: &[f64]) -> Self {
        Mat::from_vec(v.len(), 1, v.to_vec())
    }

    /// The `1 × 1` matrix holding `x`.
    pub fn scalar(x: f64) -> Self {
        Mat::from_vec(1, 1, vec![x])
    }

    /// Entry (i, j).
    ///
    /// # Panics
    /// If (i, j) is out of bounds.
    #[track_caller]
    pub fn get(&self, i: usize, j: usize) -> f64 {
        assert!(
            i < self.rows && j < self.cols,
            "Mat::get: ({i}, {j}) out of bounds"
        );
        self.data[i * self.cols + j]
    }

    /// Row `i` as a slice.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Number of entries, `rows · cols`.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether the matrix has no entries.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Whether the shape is `rows × cols`.
    pub fn has_shape(&self, rows: usize, cols: usize) -> bool {
        self.rows == rows && self.cols == cols
    }

    /// self ← self + other, entry by entry.
    ///
    /// # Panics
    /// If the shapes differ.
    #[track_caller]
    pub fn add_in_place(&mut self, other: &Mat) {
        assert!(
            self.has_shape(other.rows, other.cols),
            "Mat::add_in_place: {}x{} vs {}x{}",
            self.rows,
            self.cols,
            other.rows,
            other.cols
        );
        for (s, o) in self.data.iter_mut().zip(&other.data) {
            *s += o;
        }
    }

    /// The transpose, `cols × rows`.
    pub fn transpose(&self) -> Mat {
        let mut t = Mat::zeros(self.cols, self.rows);
        for i in 0..self.rows {
            for j in 0..self.cols {
                t.data[j * self.rows + i] = self.data[i * self.cols + j];
            }
        }
        t
    }
}
