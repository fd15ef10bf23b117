//! Compressed sparse column (CSC) matrices, the storage every QP backend shares.

/// Errors building or checking a sparse matrix.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum SparseError {
    /// An entry outside the matrix.
    #[error("dimension mismatch: {0}")]
    Dimension(String),
    /// Malformed CSC structure.
    #[error("malformed matrix: {0}")]
    Format(String),
    /// A NaN or infinite value.
    #[error("non-finite value in {0}")]
    NonFinite(String),
}

/// A sparse matrix in compressed sparse column form (0-based indices, as OSQP/Clarabel).
///
/// Column `j` holds entries `rowval[colptr[j]..colptr[j+1]]` with values
/// `nzval[colptr[j]..colptr[j+1]]`; row indices are strictly increasing within a column.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CscMatrix {
    /// Number of rows.
    pub nrows: usize,
    /// Number of columns.
    pub ncols: usize,
    /// Column pointers, length `ncols + 1`.
    pub colptr: Vec<usize>,
    /// Row index of each stored entry.
    pub rowval: Vec<usize>,
    /// Value of each stored entry.
    pub nzval: Vec<f64>,
}

impl CscMatrix {
    /// An all-zero `nrows × ncols` matrix with no stored entries.
    pub fn zeros(nrows: usize, ncols: usize) -> Self {
        Self { nrows, ncols, colptr: vec![0; ncols + 1], rowval: Vec::new(), nzval: Vec::new() }
    }

    /// The `n × n` identity scaled by `s`.
    pub fn identity(n: usize, s: f64) -> Self {
        Self { nrows: n, ncols: n, colptr: (0..=n).collect(), rowval: (0..n).collect(), nzval: vec![s; n] }
    }

    /// Number of stored entries.
    pub fn nnz(&self) -> usize {
        self.nzval.len()
    }

    /// Builds a matrix from (row, col, value) triplets; duplicates are summed, explicit
    /// zeros kept (they reserve a place in the sparsity pattern).
    pub(crate) fn from_triplets(
        nrows: usize,
        ncols: usize,
        triplets: &[(usize, usize, f64)],
    ) -> Result<Self, SparseError> {
        let mut t: Vec<(usize, usize, f64)> = triplets.to_vec();
        for &(r, c, _) in &t {
            if r >= nrows || c >= ncols {
                return Err(SparseError::Dimension(format!("triplet ({r},{c}) outside {nrows}x{ncols}")));
            }
        }
        t.sort_by_key(|a| (a.1, a.0));
        let mut colptr = vec![0usize; ncols + 1];
        let mut rowval = Vec::with_capacity(t.len());
        let mut nzval: Vec<f64> = Vec::with_capacity(t.len());
        let mut last: Option<(usize, usize)> = None;
        for (r, c, v) in t {
            if last == Some((r, c)) {
                *nzval.last_mut().expect("entry exists") += v;
            } else {
                rowval.push(r);
                nzval.push(v);
                colptr[c + 1] += 1;
                last = Some((r, c));
            }
        }
        for j in 0..ncols {
            colptr[j + 1] += colptr[j];
        }
        Ok(Self { nrows, ncols, colptr, rowval, nzval })
    }

    /// Builds a matrix from a dense row-major slice, storing entries with `|v| > 0`.
    pub fn from_dense(nrows: usize, ncols: usize, rowmajor: &[f64]) -> Self {
        assert_eq!(rowmajor.len(), nrows * ncols, "dense data has the wrong length");
        let mut colptr = Vec::with_capacity(ncols + 1);
        let mut rowval = Vec::new();
        let mut nzval = Vec::new();
        colptr.push(0);
        for j in 0..ncols {
            for i in 0..nrows {
                let v = rowmajor[i * ncols + j];
                if v != 0.0 {
                    rowval.push(i);
                    nzval.push(v);
                }
            }
            colptr.push(rowval.len());
        }
        Self { nrows, ncols, colptr, rowval, nzval }
    }

    /// Dense row-major copy (for tests and small problems).
    pub fn to_dense(&self) -> Vec<f64> {
        let mut d = vec![0.0; self.nrows * self.ncols];
        for j in 0..self.ncols {
            for k in self.colptr[j]..self.colptr[j + 1] {
                d[self.rowval[k] * self.ncols + j] += self.nzval[k];
            }
        }
        d
    }

    /// Checks the structural invariants (pointer lengths, sorted in-range rows, finite values).
    pub fn validate(&self, name: &str) -> Result<(), SparseError> {
        if self.colptr.len() != self.ncols + 1 || self.colptr[0] != 0 {
            return Err(SparseError::Format(format!("{name}: colptr must have ncols+1 entries starting at 0")));
        }
        if *self.colptr.last().unwrap_or(&0) != self.rowval.len() || self.rowval.len() != self.nzval.len() {
            return Err(SparseError::Format(format!("{name}: colptr/rowval/nzval lengths disagree")));
        }
        for j in 0..self.ncols {
            if self.colptr[j] > self.colptr[j + 1] {
                return Err(SparseError::Format(format!("{name}: colptr decreases at column {j}")));
            }
            let mut prev: Option<usize> = None;
            for k in self.colptr[j]..self.colptr[j + 1] {
                let r = self.rowval[k];
                if r >= self.nrows {
                    return Err(SparseError::Format(format!("{name}: row index {r} out of range in column {j}")));
                }
                if prev.is_some_and(|p| p >= r) {
                    return Err(SparseError::Format(format!(
                        "{name}: row indices not strictly increasing in column {j}"
                    )));
                }
                prev = Some(r);
                if !self.nzval[k].is_finite() {
                    return Err(SparseError::NonFinite(format!("{name}[{r},{j}]")));
                }
            }
        }
        Ok(())
    }

    /// y ← y + M·x.
    pub fn mul_add(&self, x: &[f64], y: &mut [f64]) {
        debug_assert_eq!(x.len(), self.ncols);
        debug_assert_eq!(y.len(), self.nrows);
        for j in 0..self.ncols {
            let xj = x[j];
            if xj == 0.0 {
                continue;
            }
            for k in self.colptr[j]..self.colptr[j + 1] {
                y[self.rowval[k]] += self.nzval[k] * xj;
            }
        }
    }

    /// y ← y + Mᵀ·x.
    pub(crate) fn mul_t_add(&self, x: &[f64], y: &mut [f64]) {
        debug_assert_eq!(x.len(), self.nrows);
        debug_assert_eq!(y.len(), self.ncols);
        for j in 0..self.ncols {
            let mut s = 0.0;
            for k in self.colptr[j]..self.colptr[j + 1] {
                s += self.nzval[k] * x[self.rowval[k]];
            }
            y[j] += s;
        }
    }

    /// y ← y + S·x where `self` holds the upper triangle of a symmetric matrix S
    /// (the OSQP convention for P).
    pub(crate) fn sym_upper_mul_add(&self, x: &[f64], y: &mut [f64]) {
        debug_assert_eq!(self.nrows, self.ncols);
        for j in 0..self.ncols {
            let mut s = 0.0;
            for k in self.colptr[j]..self.colptr[j + 1] {
                let i = self.rowval[k];
                let v = self.nzval[k];
                s += v * x[i];
                if i != j {
                    y[i] += v * x[j];
                }
            }
            y[j] += s;
        }
    }

    /// The transpose, as a new CSC matrix.
    pub fn transpose(&self) -> Self {
        self.transpose_with_map().0
    }

    /// Transpose, and for each of its entries the position of the same entry in `self`
    /// (`t.nzval[k] == self.nzval[map[k]]`): refills the transpose of a matrix with new values
    /// and the same pattern without redoing the pass.
    pub(crate) fn transpose_with_map(&self) -> (Self, Vec<usize>) {
        let mut count = vec![0usize; self.nrows + 1];
        for &r in &self.rowval {
            count[r + 1] += 1;
        }
        for i in 0..self.nrows {
            count[i + 1] += count[i];
        }
        let colptr = count.clone();
        let mut next = count;
        let mut rowval = vec![0; self.nnz()];
        let mut nzval = vec![0.0; self.nnz()];
        let mut map = vec![0; self.nnz()];
        for j in 0..self.ncols {
            for k in self.colptr[j]..self.colptr[j + 1] {
                let i = self.rowval[k];
                let dst = next[i];
                rowval[dst] = j;
                nzval[dst] = self.nzval[k];
                map[dst] = k;
                next[i] += 1;
            }
        }
        (Self { nrows: self.ncols, ncols: self.nrows, colptr, rowval, nzval }, map)
    }

    /// Upper triangle (i ≤ j) of this square matrix.
    pub fn upper_triangle(&self) -> Self {
        let mut colptr = vec![0];
        let mut rowval = Vec::new();
        let mut nzval = Vec::new();
        for j in 0..self.ncols {
            for k in self.colptr[j]..self.colptr[j + 1] {
                if self.rowval[k] <= j {
                    rowval.push(self.rowval[k]);
                    nzval.push(self.nzval[k]);
                }
            }
            colptr.push(rowval.len());
        }
        Self { nrows: self.nrows, ncols: self.ncols, colptr, rowval, nzval }
    }

    /// Full symmetric matrix from an upper triangle (both triangles stored).
    pub(crate) fn sym_upper_to_full(&self) -> Self {
        let mut t = Vec::with_capacity(2 * self.nnz());
        for j in 0..self.ncols {
            for k in self.colptr[j]..self.colptr[j + 1] {
                let i = self.rowval[k];
                t.push((i, j, self.nzval[k]));
                if i != j {
                    t.push((j, i, self.nzval[k]));
                }
            }
        }
        Self::from_triplets(self.nrows, self.ncols, &t).expect("indices already in range")
    }

    /// ∞-norm of each column (max |entry|), length `ncols`.
    pub(crate) fn col_inf_norms(&self) -> Vec<f64> {
        (0..self.ncols)
            .map(|j| self.nzval[self.colptr[j]..self.colptr[j + 1]].iter().fold(0.0f64, |m, v| m.max(v.abs())))
            .collect()
    }

    /// ∞-norm of each row (max |entry|), length `nrows`.
    pub(crate) fn row_inf_norms(&self) -> Vec<f64> {
        let mut r = vec![0.0f64; self.nrows];
        for (k, &i) in self.rowval.iter().enumerate() {
            r[i] = r[i].max(self.nzval[k].abs());
        }
        r
    }

    /// M ← diag(dl)·M·diag(dr) in place (`dl` length nrows, `dr` length ncols).
    pub(crate) fn scale(&mut self, dl: &[f64], dr: &[f64]) {
        for j in 0..self.ncols {
            for k in self.colptr[j]..self.colptr[j + 1] {
                self.nzval[k] *= dl[self.rowval[k]] * dr[j];
            }
        }
    }

    /// True when both matrices have the same shape and sparsity pattern.
    pub fn same_pattern(&self, other: &Self) -> bool {
        self.nrows == other.nrows
            && self.ncols == other.ncols
            && self.colptr == other.colptr
            && self.rowval == other.rowval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triplets_dense_roundtrip_and_products() {
        let m = CscMatrix::from_triplets(2, 3, &[(0, 0, 1.0), (1, 2, 2.0), (0, 2, 3.0), (1, 2, 1.0)]).unwrap();
        assert_eq!(m.to_dense(), vec![1.0, 0.0, 3.0, 0.0, 0.0, 3.0]);
        let mut y = vec![0.0; 2];
        m.mul_add(&[1.0, 2.0, 3.0], &mut y);
        assert_eq!(y, vec![10.0, 9.0]);
        let mut z = vec![0.0; 3];
        m.mul_t_add(&[1.0, 1.0], &mut z);
        assert_eq!(z, vec![1.0, 0.0, 6.0]);
        assert_eq!(m.transpose().to_dense(), vec![1.0, 0.0, 0.0, 0.0, 3.0, 3.0]);
    }

    #[test]
    fn symmetric_upper_product_matches_full() {
        let full = CscMatrix::from_dense(3, 3, &[4.0, 1.0, 0.0, 1.0, 3.0, 2.0, 0.0, 2.0, 5.0]);
        let up = full.upper_triangle();
        let x = [1.0, -2.0, 0.5];
        let (mut a, mut b) = (vec![0.0; 3], vec![0.0; 3]);
        full.mul_add(&x, &mut a);
        up.sym_upper_mul_add(&x, &mut b);
        assert_eq!(a, b);
        assert_eq!(up.sym_upper_to_full().to_dense(), full.to_dense());
    }

    #[test]
    fn validate_rejects_bad_structure() {
        let mut m = CscMatrix::identity(2, 1.0);
        m.rowval[1] = 5;
        assert!(m.validate("M").is_err());
        let mut m = CscMatrix::identity(2, 1.0);
        m.nzval[0] = f64::NAN;
        assert!(matches!(m.validate("M"), Err(SparseError::NonFinite(_))));
    }
}
