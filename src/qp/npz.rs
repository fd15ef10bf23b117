//! QPs as `.npz` files in the qpsolvers layout, with a small `.npy` reader/writer.
//!
//! # Layout
//!
//! ```text
//! minimize ½xᵀPx + qᵀx   s.t.   Gx ≤ h,   Ax = b,   lb ≤ x ≤ ub
//! ```
//! Keys `P, q, G, h, A, b, lb, ub`; `q` is required, every other key may be missing
//! (missing P means an LP). Bounds may hold ±inf (written by numpy as IEEE infinities).
//!
//! # What is read
//!
//! - Dense arrays: `.npy` format versions 1.0, 2.0 and 3.0, dtypes `f8`, `f4`, `i8`, `i4`,
//!   `i2`, `i1`, `u8`, `u4`, `u2`, `u1`, `b1` in either byte order, C or Fortran order;
//!   matrices 2-D (a 1-D `G` or `A` is one row), vectors 1-D (or 2-D with one column/row).
//!   Stored (`np.savez`) and deflated (`np.savez_compressed`) members.
//! - Sparse matrices saved as separate keys, scipy-style: for a matrix key `X`, the keys
//!   `X_data`, `X_indices`, `X_indptr`, `X_shape` and optionally `X_format` (`"csc"` (the
//!   default) or `"csr"`, a numpy unicode or bytes array). This is how one stores
//!   `scipy.sparse.csc_matrix` parts with `np.savez(f, P_data=P.data, P_indices=P.indices,
//!   P_indptr=P.indptr, P_shape=P.shape, P_format="csc")`. Files written by
//!   `scipy.sparse.save_npz` (one matrix per file, keys `data, indices, indptr, shape,
//!   format`) load through [`read_sparse_npz`]. COO is not supported.
//! - A 0-d object array holding a pickled `None` — what qpsolvers' `Problem.save` writes
//!   for every absent key — means the key is absent (the pickle is recognised byte-wise by
//!   [`super::npz_pickle`], never unpickled). Every other pickled object array is rejected
//!   with an error naming the key.
//!
//! # Conversion to OSQP form
//!
//! P is symmetrised ((P + Pᵀ)/2, as ½xᵀPx only sees the symmetric part) and its upper
//! triangle kept; rows are stacked as `[G; A; I]` with bounds `(−∞, h)`, `(b, b)`,
//! `(lb, ub)` (a bound row only for variables with a finite lb or ub).
//!
//! # Writing
//!
//! [`save_problem`] writes the qpsolvers layout from an OSQP-form problem: equality rows
//! → `A, b`; every finite upper side → a `G` row, every finite lower side → a negated `G`
//! row; dense `<f8` arrays (or sparse key groups when `sparse` is true).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

use super::{CscMatrix, INFTY, Problem, QpError};

/// Values of an `.npy` array, in C (row-major) order.
#[derive(Debug, Clone, PartialEq)]
pub enum NpyData {
    /// Floating point (f4 widened to f64).
    F64(Vec<f64>),
    /// Integers and booleans (widened to i64).
    I64(Vec<i64>),
    /// Strings (`U` or `S` dtypes).
    Str(Vec<String>),
}

/// One `.npy` array.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Shape (empty for a scalar).
    pub shape: Vec<usize>,
    /// Values in C order.
    pub data: NpyData,
}

fn fmt_err(msg: impl Into<String>) -> QpError {
    QpError::Format(msg.into())
}

/// The message of a format error without its "malformed problem data" prefix.
fn inner_msg(e: &QpError) -> String {
    match e {
        QpError::Format(s) => s.clone(),
        other => other.to_string(),
    }
}

impl NpyArray {
    /// A float64 array.
    pub fn f64(shape: Vec<usize>, data: Vec<f64>) -> Self {
        Self { shape, data: NpyData::F64(data) }
    }

    /// The values as f64 (integers converted).
    pub fn to_f64(&self, key: &str) -> Result<Vec<f64>, QpError> {
        match &self.data {
            NpyData::F64(v) => Ok(v.clone()),
            NpyData::I64(v) => Ok(v.iter().map(|&x| x as f64).collect()),
            NpyData::Str(_) => Err(fmt_err(format!("{key}: expected numbers, found strings"))),
        }
    }

    /// The values as non-negative indices.
    pub(crate) fn to_usize(&self, key: &str) -> Result<Vec<usize>, QpError> {
        let v: Vec<i64> = match &self.data {
            NpyData::I64(v) => v.clone(),
            NpyData::F64(v) if v.iter().all(|x| x.fract() == 0.0 && x.is_finite()) => {
                v.iter().map(|&x| x as i64).collect()
            }
            _ => return Err(fmt_err(format!("{key}: expected integer indices"))),
        };
        v.into_iter().map(|x| usize::try_from(x).map_err(|_| fmt_err(format!("{key}: negative index {x}")))).collect()
    }
}

/// True when an `.npy` image is qpsolvers' marker of an absent key: a 0-d object array
/// holding a pickled `None`. Object arrays holding anything else are an error (spikectl
/// never unpickles); arrays of other dtypes give `false`.
pub(crate) fn is_absent_marker(bytes: &[u8]) -> Result<bool, QpError> {
    let Some(NpyHeader { descr, shape, body }) = npy_header(bytes) else { return Ok(false) };
    if !descr.contains('O') || descr.starts_with('[') {
        return Ok(false);
    }
    if shape.is_empty() && super::npz_pickle::is_pickled_none_array(body) {
        return Ok(true);
    }
    Err(fmt_err(format!(
        "pickled object array (dtype '{descr}', shape {shape:?}) that is not qpsolvers' pickled None; \
         spikectl does not unpickle: save the data as numeric arrays (scipy matrices as *_data/*_indices/*_indptr/*_shape keys)"
    )))
}

/// The dtype, shape and data of an `.npy` image.
struct NpyHeader<'a> {
    descr: String,
    shape: Vec<usize>,
    body: &'a [u8],
}

/// The header of an `.npy` image, `None` when it is not readable (then [`parse_npy`]
/// reports the problem).
fn npy_header(bytes: &[u8]) -> Option<NpyHeader<'_>> {
    if bytes.len() < 12 || &bytes[..6] != b"\x93NUMPY" {
        return None;
    }
    let (hlen, hstart): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12),
        _ => return None,
    };
    let header = std::str::from_utf8(bytes.get(hstart..hstart.saturating_add(hlen))?).ok()?;
    let descr = dict_value(header, "descr")?.trim().trim_matches(|c| c == '\'' || c == '"').to_string();
    let inner = dict_value(header, "shape")?.trim().strip_prefix('(')?.strip_suffix(')')?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.trim_end_matches('L').parse::<usize>().ok())
        .collect::<Option<Vec<usize>>>()?;
    Some(NpyHeader { descr, shape, body: &bytes[hstart + hlen..] })
}

/// Parses one `.npy` file image.
pub(crate) fn parse_npy(bytes: &[u8]) -> Result<NpyArray, QpError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(fmt_err("not an .npy array (bad magic)"));
    }
    let major = bytes[6];
    let (hlen, hstart) = match major {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 => {
            if bytes.len() < 12 {
                return Err(fmt_err(".npy header truncated"));
            }
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        v => return Err(fmt_err(format!("unsupported .npy version {v}"))),
    };
    let header = bytes.get(hstart..hstart + hlen).ok_or_else(|| fmt_err(".npy header truncated"))?;
    let header = std::str::from_utf8(header).map_err(|_| fmt_err(".npy header is not text"))?;
    let descr = dict_value(header, "descr").ok_or_else(|| fmt_err(".npy header without 'descr'"))?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"').to_string();
    let fortran = dict_value(header, "fortran_order").map(|v| v.trim().starts_with("True")).unwrap_or(false);
    let shape_s = dict_value(header, "shape").ok_or_else(|| fmt_err(".npy header without 'shape'"))?;
    let shape_s = shape_s.trim();
    let inner = shape_s.strip_prefix('(').and_then(|s| s.strip_suffix(')')).ok_or_else(|| fmt_err("bad shape"))?;
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse::<usize>().map_err(|_| fmt_err(format!("bad shape entry '{s}'"))))
        .collect::<Result<_, _>>()?;
    let count = shape.iter().try_fold(1usize, |a, &b| a.checked_mul(b)).ok_or_else(|| fmt_err("shape too large"))?;
    let body = &bytes[hstart + hlen..];
    let (order, kind, size) = parse_descr(&descr)?;
    let need = count.checked_mul(size).ok_or_else(|| fmt_err("array too large"))?;
    if body.len() < need {
        return Err(fmt_err(format!("array data truncated: {} bytes for {count} × {size}", body.len())));
    }
    let chunk = |k: usize| -> &[u8] { &body[k * size..(k + 1) * size] };
    let le = order != '>';
    macro_rules! num {
        ($t:ty) => {{
            let mut b = [0u8; std::mem::size_of::<$t>()];
            (0..count)
                .map(|k| {
                    b.copy_from_slice(chunk(k));
                    if le { <$t>::from_le_bytes(b) } else { <$t>::from_be_bytes(b) }
                })
                .collect::<Vec<$t>>()
        }};
    }
    let data = match (kind, size) {
        ('f', 8) => NpyData::F64(num!(f64)),
        ('f', 4) => NpyData::F64(num!(f32).into_iter().map(f64::from).collect()),
        ('i', 8) => NpyData::I64(num!(i64)),
        ('i', 4) => NpyData::I64(num!(i32).into_iter().map(i64::from).collect()),
        ('i', 2) => NpyData::I64(num!(i16).into_iter().map(i64::from).collect()),
        ('i', 1) => NpyData::I64(num!(i8).into_iter().map(i64::from).collect()),
        ('u', 8) => NpyData::I64(
            num!(u64)
                .into_iter()
                .map(|v| i64::try_from(v).map_err(|_| fmt_err("u8 value too large")))
                .collect::<Result<_, _>>()?,
        ),
        ('u', 4) => NpyData::I64(num!(u32).into_iter().map(i64::from).collect()),
        ('u', 2) => NpyData::I64(num!(u16).into_iter().map(i64::from).collect()),
        ('u', 1) | ('b', 1) => NpyData::I64(num!(u8).into_iter().map(i64::from).collect()),
        ('S', _) => NpyData::Str(
            (0..count).map(|k| String::from_utf8_lossy(chunk(k)).trim_end_matches('\0').to_string()).collect(),
        ),
        ('U', _) => NpyData::Str(
            (0..count)
                .map(|k| {
                    chunk(k)
                        .chunks(4)
                        .map(|c| {
                            let v = if le {
                                u32::from_le_bytes([c[0], c[1], c[2], c[3]])
                            } else {
                                u32::from_be_bytes([c[0], c[1], c[2], c[3]])
                            };
                            char::from_u32(v).unwrap_or('\u{fffd}')
                        })
                        .collect::<String>()
                        .trim_end_matches('\0')
                        .to_string()
                })
                .collect(),
        ),
        _ => return Err(fmt_err(format!("unsupported dtype '{descr}'"))),
    };
    let data = if fortran && shape.len() > 1 { to_c_order(data, &shape) } else { data };
    Ok(NpyArray { shape, data })
}

/// (byte order, kind, item size) of a numpy dtype string like `<f8` or `|S3`.
fn parse_descr(d: &str) -> Result<(char, char, usize), QpError> {
    if d.starts_with('[') || d.contains('O') {
        return Err(fmt_err(format!("unsupported dtype '{d}' (object/structured arrays need pickle)")));
    }
    let mut c = d.chars();
    let first = c.next().ok_or_else(|| fmt_err("empty dtype"))?;
    let (order, kind) =
        if "<>|=".contains(first) { (first, c.next().ok_or_else(|| fmt_err("bad dtype"))?) } else { ('=', first) };
    let n: usize = c.as_str().parse().map_err(|_| fmt_err(format!("bad dtype '{d}'")))?;
    let size = if kind == 'U' { 4 * n } else { n };
    if size == 0 {
        return Err(fmt_err(format!("zero-size dtype '{d}'")));
    }
    Ok((order, kind, size))
}

fn to_c_order(data: NpyData, shape: &[usize]) -> NpyData {
    // Only 2-D arrays occur in QP files; higher ranks are permuted generically.
    let count: usize = shape.iter().product();
    let nd = shape.len();
    let perm: Vec<usize> = (0..count)
        .map(|c_idx| {
            // C index → multi-index → Fortran linear index.
            let mut rem = c_idx;
            let mut idx = vec![0; nd];
            for k in (0..nd).rev() {
                idx[k] = rem % shape[k];
                rem /= shape[k];
            }
            let mut f = 0;
            let mut stride = 1;
            for k in 0..nd {
                f += idx[k] * stride;
                stride *= shape[k];
            }
            f
        })
        .collect();
    match data {
        NpyData::F64(v) => NpyData::F64(perm.iter().map(|&i| v[i]).collect()),
        NpyData::I64(v) => NpyData::I64(perm.iter().map(|&i| v[i]).collect()),
        NpyData::Str(v) => NpyData::Str(perm.iter().map(|&i| v[i].clone()).collect()),
    }
}

/// Value text of `'key': value` in a numpy header dict (up to the next top-level comma).
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pat1 = format!("'{key}'");
    let pat2 = format!("\"{key}\"");
    let pos = header.find(&pat1).map(|p| p + pat1.len()).or_else(|| header.find(&pat2).map(|p| p + pat2.len()))?;
    let rest = header[pos..].trim_start().strip_prefix(':')?;
    let mut depth = 0i32;
    for (i, ch) in rest.char_indices() {
        match ch {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
    }
    Some(rest)
}

/// Serialises an array as `.npy` version 1.0 (`<f8`, `<i8` or `<U` dtype, C order).
pub(crate) fn write_npy(a: &NpyArray) -> Vec<u8> {
    let (descr, body): (String, Vec<u8>) = match &a.data {
        NpyData::F64(v) => ("<f8".into(), v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        NpyData::I64(v) => ("<i8".into(), v.iter().flat_map(|x| x.to_le_bytes()).collect()),
        NpyData::Str(v) => {
            let w = v.iter().map(|s| s.chars().count()).max().unwrap_or(1).max(1);
            let mut b = Vec::new();
            for s in v {
                let mut n = 0;
                for ch in s.chars() {
                    b.extend_from_slice(&(ch as u32).to_le_bytes());
                    n += 1;
                }
                b.extend(std::iter::repeat_n(0u8, 4 * (w - n)));
            }
            (format!("<U{w}"), b)
        }
    };
    let shape = match a.shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", a.shape[0]),
        _ => format!("({})", a.shape.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")),
    };
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad so that magic (6) + version (2) + len (2) + header is a multiple of 64, ending in '\n'.
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + body.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&body);
    out
}

/// Reads every member of an `.npz` archive (keys without the `.npy` suffix).
pub fn read_npz(path: &Path) -> Result<BTreeMap<String, NpyArray>, QpError> {
    let f = std::fs::File::open(path).map_err(|e| QpError::Io(format!("{}: {e}", path.display())))?;
    let mut z =
        zip::ZipArchive::new(f).map_err(|e| fmt_err(format!("{}: not a zip/npz archive: {e}", path.display())))?;
    let mut out = BTreeMap::new();
    for i in 0..z.len() {
        let mut member = z.by_index(i).map_err(|e| fmt_err(format!("{}: bad member {i}: {e}", path.display())))?;
        let name = member.name().to_string();
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        let mut buf = Vec::new();
        member.read_to_end(&mut buf).map_err(|e| fmt_err(format!("{}: reading '{name}': {e}", path.display())))?;
        let in_key = |e: QpError| fmt_err(format!("{}: key '{key}': {}", path.display(), inner_msg(&e)));
        if is_absent_marker(&buf).map_err(in_key)? {
            continue;
        }
        let arr = parse_npy(&buf).map_err(in_key)?;
        out.insert(key, arr);
    }
    Ok(out)
}

/// Writes arrays as an `.npz` archive (deflated members `KEY.npy`).
pub fn write_npz(path: &Path, arrays: &BTreeMap<String, NpyArray>) -> Result<(), QpError> {
    let io = |e: std::io::Error| QpError::Io(format!("{}: {e}", path.display()));
    let f = std::fs::File::create(path).map_err(io)?;
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (k, a) in arrays {
        z.start_file(format!("{k}.npy"), opts).map_err(|e| QpError::Io(format!("{}: {e}", path.display())))?;
        z.write_all(&write_npy(a)).map_err(io)?;
    }
    z.finish().map_err(|e| QpError::Io(format!("{}: {e}", path.display())))?;
    Ok(())
}

/// A QP in the qpsolvers layout (matrices as CSC with both triangles of P).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QpsolversProblem {
    /// Quadratic cost (n×n), `None` for an LP.
    pub p: Option<CscMatrix>,
    /// Linear cost (length n).
    pub q: Vec<f64>,
    /// Inequality matrix G (Gx ≤ h).
    pub g: Option<CscMatrix>,
    /// Inequality right-hand side h.
    pub h: Option<Vec<f64>>,
    /// Equality matrix A (Ax = b).
    pub a: Option<CscMatrix>,
    /// Equality right-hand side b.
    pub b: Option<Vec<f64>>,
    /// Variable lower bounds (−∞ allowed).
    pub lb: Option<Vec<f64>>,
    /// Variable upper bounds (+∞ allowed).
    pub ub: Option<Vec<f64>>,
}

fn vector(arrs: &BTreeMap<String, NpyArray>, key: &str) -> Result<Option<Vec<f64>>, QpError> {
    let Some(a) = arrs.get(key) else { return Ok(None) };
    let ok = match a.shape.len() {
        0 | 1 => true,
        2 => a.shape[0] == 1 || a.shape[1] == 1,
        _ => false,
    };
    if !ok {
        return Err(fmt_err(format!("'{key}' must be a vector, has shape {:?}", a.shape)));
    }
    Ok(Some(a.to_f64(key)?))
}

fn matrix(arrs: &BTreeMap<String, NpyArray>, key: &str) -> Result<Option<CscMatrix>, QpError> {
    if let Some(a) = arrs.get(key) {
        let (r, c) = match a.shape.as_slice() {
            [c] => (1, *c),
            [r, c] => (*r, *c),
            s => return Err(fmt_err(format!("'{key}' must be a matrix, has shape {s:?}"))),
        };
        let v = a.to_f64(key)?;
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(QpError::NonFinite(format!("{key} (entry {i})")));
        }
        return Ok(Some(CscMatrix::from_dense(r, c, &v)));
    }
    let dk = format!("{key}_data");
    if !arrs.contains_key(&dk) {
        return Ok(None);
    }
    sparse_from(arrs, &format!("{key}_"), key).map(Some)
}

fn sparse_from(arrs: &BTreeMap<String, NpyArray>, prefix: &str, name: &str) -> Result<CscMatrix, QpError> {
    let get = |s: &str| {
        arrs.get(&format!("{prefix}{s}")).ok_or_else(|| fmt_err(format!("sparse '{name}': missing key '{prefix}{s}'")))
    };
    let data = get("data")?.to_f64(name)?;
    let indices = get("indices")?.to_usize(name)?;
    let indptr = get("indptr")?.to_usize(name)?;
    let shape = get("shape")?.to_usize(name)?;
    if shape.len() != 2 {
        return Err(fmt_err(format!("sparse '{name}': shape must have 2 entries")));
    }
    let format = match arrs.get(&format!("{prefix}format")) {
        Some(NpyArray { data: NpyData::Str(s), .. }) => s.first().cloned().unwrap_or_default(),
        Some(_) => return Err(fmt_err(format!("sparse '{name}': format must be a string"))),
        None => "csc".into(),
    };
    let (rows, cols) = (shape[0], shape[1]);
    let (outer, inner) = match format.as_str() {
        "csc" => (cols, rows),
        "csr" => (rows, cols),
        f => return Err(fmt_err(format!("sparse '{name}': format '{f}' not supported (csc or csr)"))),
    };
    if indptr.len() != outer + 1 || indices.len() != data.len() || indptr.last() != Some(&data.len()) {
        return Err(fmt_err(format!("sparse '{name}': indptr/indices/data lengths disagree with the shape")));
    }
    let mut trip = Vec::with_capacity(data.len());
    for o in 0..outer {
        if indptr[o] > indptr[o + 1] {
            return Err(fmt_err(format!("sparse '{name}': indptr decreases")));
        }
        for k in indptr[o]..indptr[o + 1] {
            if indices[k] >= inner {
                return Err(fmt_err(format!("sparse '{name}': index {} out of range", indices[k])));
            }
            if !data[k].is_finite() {
                return Err(QpError::NonFinite(format!("{name} (entry {k})")));
            }
            trip.push(if format == "csc" { (indices[k], o, data[k]) } else { (o, indices[k], data[k]) });
        }
    }
    Ok(CscMatrix::from_triplets(rows, cols, &trip)?)
}

/// Reads a matrix saved by `scipy.sparse.save_npz` (keys `data, indices, indptr, shape,
/// format`; csc or csr).
pub fn read_sparse_npz(path: &Path) -> Result<CscMatrix, QpError> {
    sparse_from(&read_npz(path)?, "", &path.display().to_string())
}

impl QpsolversProblem {
    /// Reads the qpsolvers keys from parsed arrays.
    pub(crate) fn from_arrays(arrs: &BTreeMap<String, NpyArray>) -> Result<Self, QpError> {
        let q = vector(arrs, "q")?.ok_or_else(|| fmt_err("missing required key 'q'"))?;
        Ok(Self {
            p: matrix(arrs, "P")?,
            q,
            g: matrix(arrs, "G")?,
            h: vector(arrs, "h")?,
            a: matrix(arrs, "A")?,
            b: vector(arrs, "b")?,
            lb: vector(arrs, "lb")?,
            ub: vector(arrs, "ub")?,
        })
    }

    /// The arrays to write (dense `<f8`, or sparse key groups for matrices when `sparse`).
    pub fn to_arrays(&self, sparse: bool) -> BTreeMap<String, NpyArray> {
        let mut m = BTreeMap::new();
        let put_mat = |m: &mut BTreeMap<String, NpyArray>, k: &str, a: &CscMatrix| {
            if sparse {
                let us = |v: &[usize]| NpyArray {
                    shape: vec![v.len()],
                    data: NpyData::I64(v.iter().map(|&x| x as i64).collect()),
                };
                m.insert(format!("{k}_data"), NpyArray::f64(vec![a.nnz()], a.nzval.clone()));
                m.insert(format!("{k}_indices"), us(&a.rowval));
                m.insert(format!("{k}_indptr"), us(&a.colptr));
                m.insert(format!("{k}_shape"), us(&[a.nrows, a.ncols]));
                m.insert(format!("{k}_format"), NpyArray { shape: vec![], data: NpyData::Str(vec!["csc".into()]) });
            } else {
                m.insert(k.to_string(), NpyArray::f64(vec![a.nrows, a.ncols], a.to_dense()));
            }
        };
        if let Some(p) = &self.p {
            put_mat(&mut m, "P", p);
        }
        if let Some(g) = &self.g {
            put_mat(&mut m, "G", g);
        }
        if let Some(a) = &self.a {
            put_mat(&mut m, "A", a);
        }
        let mut put_vec = |k: &str, v: &Option<Vec<f64>>| {
            if let Some(v) = v {
                m.insert(k.to_string(), NpyArray::f64(vec![v.len()], v.clone()));
            }
        };
        put_vec("q", &Some(self.q.clone()));
        put_vec("h", &self.h);
        put_vec("b", &self.b);
        put_vec("lb", &self.lb);
        put_vec("ub", &self.ub);
        m
    }

    /// Converts to OSQP form (see the module docs), validating sizes.
    pub(crate) fn to_problem(&self) -> Result<Problem, QpError> {
        let n = self.q.len();
        let p = match &self.p {
            Some(p) => {
                if p.nrows != n || p.ncols != n {
                    return Err(QpError::Dimension(format!("P is {}x{}, q has length {n}", p.nrows, p.ncols)));
                }
                let pt = p.transpose();
                let mut t = Vec::with_capacity(2 * p.nnz());
                for m in [p, &pt] {
                    for j in 0..n {
                        for k in m.colptr[j]..m.colptr[j + 1] {
                            if m.rowval[k] <= j {
                                t.push((m.rowval[k], j, 0.5 * m.nzval[k]));
                            }
                        }
                    }
                }
                CscMatrix::from_triplets(n, n, &t)?
            }
            None => CscMatrix::zeros(n, n),
        };
        let mut trip = Vec::new();
        let mut l = Vec::new();
        let mut u = Vec::new();
        let mut add_rows = |m: &CscMatrix, lo: &dyn Fn(usize) -> f64, hi: &dyn Fn(usize) -> f64, name: &str| {
            if m.ncols != n {
                return Err(QpError::Dimension(format!("{name} has {} columns, q has length {n}", m.ncols)));
            }
            let r0 = l.len();
            for j in 0..n {
                for k in m.colptr[j]..m.colptr[j + 1] {
                    trip.push((r0 + m.rowval[k], j, m.nzval[k]));
                }
            }
            for i in 0..m.nrows {
                l.push(lo(i));
                u.push(hi(i));
            }
            Ok(())
        };
        match (&self.g, &self.h) {
            (Some(g), Some(h)) => {
                if h.len() != g.nrows {
                    return Err(QpError::Dimension(format!("G has {} rows, h has length {}", g.nrows, h.len())));
                }
                add_rows(g, &|_| -INFTY, &|i| h[i], "G")?;
            }
            (None, None) => {}
            _ => return Err(fmt_err("G and h must be given together")),
        }
        match (&self.a, &self.b) {
            (Some(a), Some(b)) => {
                if b.len() != a.nrows {
                    return Err(QpError::Dimension(format!("A has {} rows, b has length {}", a.nrows, b.len())));
                }
                if let Some(i) = b.iter().position(|v| !v.is_finite()) {
                    return Err(QpError::NonFinite(format!("b[{i}]")));
                }
                add_rows(a, &|i| b[i], &|i| b[i], "A")?;
            }
            (None, None) => {}
            _ => return Err(fmt_err("A and b must be given together")),
        }
        let lb = self.lb.clone().unwrap_or_else(|| vec![-INFTY; n]);
        let ub = self.ub.clone().unwrap_or_else(|| vec![INFTY; n]);
        if lb.len() != n || ub.len() != n {
            return Err(QpError::Dimension(format!("lb/ub have lengths {}/{}, q has length {n}", lb.len(), ub.len())));
        }
        for j in 0..n {
            if lb[j] > -INFTY || ub[j] < INFTY {
                trip.push((l.len(), j, 1.0));
                l.push(lb[j]);
                u.push(ub[j]);
            }
        }
        let a = CscMatrix::from_triplets(l.len(), n, &trip)?;
        if let Some(i) = l.iter().chain(&u).position(|v| v.is_nan()) {
            return Err(QpError::NonFinite(format!("bound {i}")));
        }
        Problem::new(p, self.q.clone(), a, l, u)
    }

    /// Converts an OSQP-form problem (see the module docs, "Writing").
    pub fn from_problem(pb: &Problem) -> Self {
        let n = pb.n();
        let at = pb.a.transpose();
        let (mut gt, mut h, mut et, mut b) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..pb.m() {
            let row: Vec<(usize, f64)> =
                (at.colptr[i]..at.colptr[i + 1]).map(|k| (at.rowval[k], at.nzval[k])).collect();
            if pb.l[i] == pb.u[i] {
                let r = b.len();
                et.extend(row.iter().map(|&(j, v)| (r, j, v)));
                b.push(pb.l[i]);
                continue;
            }
            if pb.u[i] < INFTY {
                let r = h.len();
                gt.extend(row.iter().map(|&(j, v)| (r, j, v)));
                h.push(pb.u[i]);
            }
            if pb.l[i] > -INFTY {
                let r = h.len();
                gt.extend(row.iter().map(|&(j, v)| (r, j, -v)));
                h.push(-pb.l[i]);
            }
        }
        let g = (!h.is_empty()).then(|| CscMatrix::from_triplets(h.len(), n, &gt).expect("in range"));
        let a = (!b.is_empty()).then(|| CscMatrix::from_triplets(b.len(), n, &et).expect("in range"));
        Self {
            p: Some(pb.p.sym_upper_to_full()),
            q: pb.q.clone(),
            h: g.as_ref().map(|_| h),
            g,
            b: a.as_ref().map(|_| b),
            a,
            lb: None,
            ub: None,
        }
    }
}

/// Loads a qpsolvers-layout `.npz` file as an OSQP-form problem.
pub fn load_problem(path: &Path) -> Result<Problem, QpError> {
    QpsolversProblem::from_arrays(&read_npz(path)?).and_then(|q| q.to_problem()).map_err(|e| match e {
        QpError::Io(_) => e,
        other => QpError::Format(format!("{}: {other}", path.display())),
    })
}

/// Saves an OSQP-form problem in the qpsolvers layout (dense arrays, or sparse key groups).
pub fn save_problem(path: &Path, pb: &Problem, sparse: bool) -> Result<(), QpError> {
    write_npz(path, &QpsolversProblem::from_problem(pb).to_arrays(sparse))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_roundtrip_and_fortran_order() {
        let a = NpyArray::f64(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, f64::INFINITY]);
        let bytes = write_npy(&a);
        assert_eq!((bytes.len() - 48) % 64, 0, "header padded to 64 bytes");
        assert_eq!(parse_npy(&bytes).unwrap(), a);
        // Hand-made Fortran-order i4 array [[1,2],[3,4]] stored column-major: 1,3,2,4.
        let mut h = "{'descr': '<i4', 'fortran_order': True, 'shape': (2, 2), }".to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut f = b"\x93NUMPY\x01\x00".to_vec();
        f.extend_from_slice(&(h.len() as u16).to_le_bytes());
        f.extend_from_slice(h.as_bytes());
        for v in [1i32, 3, 2, 4] {
            f.extend_from_slice(&v.to_le_bytes());
        }
        let p = parse_npy(&f).unwrap();
        assert_eq!(p.data, NpyData::I64(vec![1, 2, 3, 4]));
        let s = NpyArray { shape: vec![], data: NpyData::Str(vec!["csc".into()]) };
        assert_eq!(parse_npy(&write_npy(&s)).unwrap(), s);
    }

    /// An `.npy` image of `np.save(f, np.array(None), allow_pickle=True)` (numpy 2.2.6) or,
    /// with `body_hex`, of another 0-d object array.
    fn object_npy(body_hex: &str) -> Vec<u8> {
        let mut h = "{'descr': '|O', 'fortran_order': False, 'shape': (), }".to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        let mut f = b"\x93NUMPY\x01\x00".to_vec();
        f.extend_from_slice(&(h.len() as u16).to_le_bytes());
        f.extend_from_slice(h.as_bytes());
        f.extend((0..body_hex.len()).step_by(2).map(|i| u8::from_str_radix(&body_hex[i..i + 2], 16).unwrap()));
        f
    }

    #[test]
    fn qpsolvers_none_entries_are_absent_other_pickles_are_errors() {
        let none = object_npy(crate::qp::npz_pickle::tests::NONE_NP2_P4);
        assert!(is_absent_marker(&none).unwrap());
        assert!(!is_absent_marker(&write_npy(&NpyArray::f64(vec![2], vec![1.0, 2.0]))).unwrap());
        // A 0-d object array holding 1: an error, not "absent".
        let one = object_npy(
            "80049588000000000000008c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b012968038c0564747970659493948c024f3894898887945294284b038c017c944e4e4e4affffffff4affffffff4b3f749462895d944b01617494622e",
        );
        let e = is_absent_marker(&one).unwrap_err();
        assert!(format!("{e}").contains("does not unpickle"), "{e}");
        // A whole file as qpsolvers writes it for min ½x'Px + q'x s.t. Gx ≤ h (A, b, lb, ub absent).
        let dir = std::env::temp_dir().join(format!("spikectl-npz-none-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("qpsolvers_none.npz");
        {
            let f = std::fs::File::create(&path).unwrap();
            let mut z = zip::ZipWriter::new(f);
            let opts = zip::write::SimpleFileOptions::default();
            let arrays = [
                ("P", write_npy(&NpyArray::f64(vec![2, 2], vec![2.0, 0.0, 0.0, 2.0]))),
                ("q", write_npy(&NpyArray::f64(vec![2], vec![-2.0, -2.0]))),
                ("G", write_npy(&NpyArray::f64(vec![1, 2], vec![1.0, 1.0]))),
                ("h", write_npy(&NpyArray::f64(vec![1], vec![1.0]))),
                ("A", none.clone()),
                ("b", none.clone()),
                ("lb", none.clone()),
                ("ub", none.clone()),
            ];
            for (k, b) in arrays {
                z.start_file(format!("{k}.npy"), opts).unwrap();
                z.write_all(&b).unwrap();
            }
            z.finish().unwrap();
        }
        let pb = load_problem(&path).unwrap();
        assert_eq!((pb.n(), pb.m()), (2, 1));
        assert_eq!((pb.l[0], pb.u[0]), (-INFTY, 1.0));
        std::fs::remove_file(&path).unwrap();
        let _ = std::fs::remove_dir(&dir);
    }

    #[test]
    fn malformed_npy_is_a_clear_error() {
        assert!(parse_npy(b"hello world").is_err());
        let a = write_npy(&NpyArray::f64(vec![4], vec![1.0; 4]));
        let e = parse_npy(&a[..a.len() - 3]).unwrap_err();
        assert!(format!("{e}").contains("truncated"), "{e}");
        let mut o = a.clone();
        let pos = o.windows(3).position(|w| w == b"<f8").unwrap();
        o[pos..pos + 3].copy_from_slice(b"|O8");
        assert!(format!("{}", parse_npy(&o).unwrap_err()).contains("dtype"));
    }
}
