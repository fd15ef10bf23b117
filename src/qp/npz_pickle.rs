//! Recognition (never execution) of the one pickle qpsolvers writes into problem files: a
//! 0-d numpy object array holding `None`, its marker for an absent key (`Problem.save`
//! stores `np.array(None)` for every missing G, h, A, b, lb, ub).
//!
//! `np.save` pickles such an array as `numpy.core.multiarray._reconstruct(numpy.ndarray,
//! (0,), b'b')` followed by `__setstate__((1, (), dtype('O8'), False, [None]))` — protocol 3
//! with `numpy.core` under numpy 1.x, protocol 4 with `numpy._core` under numpy 2.x; the
//! same object pickled with protocols 2 or 5 differs only in opcodes. [`is_pickled_none_array`]
//! walks the opcode stream with a symbolic stack (globals are names, calls are records; no
//! import, no call, no allocation beyond the stream's own size) and accepts exactly that
//! object: an ndarray of shape `()` whose dtype is `O8` and whose single element is `None`.
//! Any other pickle (a scipy matrix, a number, a crafted stream, text-protocol pickles) is
//! not recognised.

use std::collections::HashMap;

/// Longest pickle examined, bytes (the `None` array takes 130–260 bytes).
const MAX_LEN: usize = 4096;

#[derive(Debug, Clone, PartialEq)]
enum V {
    None,
    Bool(bool),
    Int(i64),
    Str(String),
    Bytes(Vec<u8>),
    Tuple(Vec<V>),
    List(Vec<V>),
    Global(String, String),
    Call(Box<V>, Vec<V>),
    Built(Box<V>, Box<V>),
    Mark,
}

struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|s| s[0])
    }
    fn u16(&mut self) -> Option<usize> {
        self.take(2).map(|s| u16::from_le_bytes([s[0], s[1]]) as usize)
    }
    fn u32(&mut self) -> Option<usize> {
        self.take(4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]) as usize)
    }
    fn line(&mut self) -> Option<String> {
        let rest = self.b.get(self.pos..)?;
        let end = rest.iter().position(|&c| c == b'\n')?;
        self.pos += end + 1;
        String::from_utf8(rest[..end].to_vec()).ok()
    }
}

/// Symbolic evaluation of a binary pickle (protocols 2–5); `None` on any opcode outside
/// the small set these arrays use, or on a malformed stream.
fn eval(bytes: &[u8]) -> Option<V> {
    if bytes.len() > MAX_LEN {
        return None;
    }
    let mut r = Reader { b: bytes, pos: 0 };
    let mut st: Vec<V> = Vec::new();
    let mut memo: HashMap<usize, V> = HashMap::new();
    let pop_mark = |st: &mut Vec<V>| -> Option<Vec<V>> {
        let m = st.iter().rposition(|v| *v == V::Mark)?;
        let items = st.split_off(m + 1);
        st.pop();
        Some(items)
    };
    loop {
        let op = r.u8()?;
        match op {
            0x80 => {
                let p = r.u8()?;
                if !(2..=5).contains(&p) {
                    return None;
                }
            }
            0x95 => {
                r.take(8)?;
            }
            b'.' => {
                // STOP must end the body: nothing may follow the object.
                return if st.len() == 1 && r.pos == bytes.len() { st.pop() } else { None };
            }
            b'c' => {
                let (m, n) = (r.line()?, r.line()?);
                st.push(V::Global(m, n));
            }
            0x93 => {
                let n = st.pop()?;
                let m = st.pop()?;
                match (m, n) {
                    (V::Str(m), V::Str(n)) => st.push(V::Global(m, n)),
                    _ => return None,
                }
            }
            0x8c => {
                let n = r.u8()? as usize;
                st.push(V::Str(String::from_utf8(r.take(n)?.to_vec()).ok()?));
            }
            b'X' => {
                let n = r.u32()?;
                st.push(V::Str(String::from_utf8(r.take(n)?.to_vec()).ok()?));
            }
            b'U' => {
                let n = r.u8()? as usize;
                st.push(V::Str(String::from_utf8(r.take(n)?.to_vec()).ok()?));
            }
            b'T' => {
                let n = r.u32()?;
                st.push(V::Str(String::from_utf8(r.take(n)?.to_vec()).ok()?));
            }
            b'C' => {
                let n = r.u8()? as usize;
                st.push(V::Bytes(r.take(n)?.to_vec()));
            }
            b'B' => {
                let n = r.u32()?;
                st.push(V::Bytes(r.take(n)?.to_vec()));
            }
            b'K' => st.push(V::Int(i64::from(r.u8()?))),
            b'M' => st.push(V::Int(r.u16()? as i64)),
            b'J' => {
                let s = r.take(4)?;
                st.push(V::Int(i64::from(i32::from_le_bytes([s[0], s[1], s[2], s[3]]))));
            }
            b'N' => st.push(V::None),
            0x88 => st.push(V::Bool(true)),
            0x89 => st.push(V::Bool(false)),
            b')' => st.push(V::Tuple(Vec::new())),
            0x85..=0x87 => {
                let k = (op - 0x84) as usize;
                let at = st.len().checked_sub(k)?;
                let items = st.split_off(at);
                st.push(V::Tuple(items));
            }
            b'(' => st.push(V::Mark),
            b't' => {
                let items = pop_mark(&mut st)?;
                st.push(V::Tuple(items));
            }
            b']' => st.push(V::List(Vec::new())),
            b'a' => {
                let v = st.pop()?;
                match st.last_mut()? {
                    V::List(l) => l.push(v),
                    _ => return None,
                }
            }
            b'e' => {
                let items = pop_mark(&mut st)?;
                match st.last_mut()? {
                    V::List(l) => l.extend(items),
                    _ => return None,
                }
            }
            b'R' => {
                let args = st.pop()?;
                let f = st.pop()?;
                match args {
                    V::Tuple(a) => st.push(V::Call(Box::new(f), a)),
                    _ => return None,
                }
            }
            b'b' => {
                let state = st.pop()?;
                let obj = st.pop()?;
                st.push(V::Built(Box::new(obj), Box::new(state)));
            }
            b'q' => {
                let k = r.u8()? as usize;
                memo.insert(k, st.last()?.clone());
            }
            b'r' => {
                let k = r.u32()?;
                memo.insert(k, st.last()?.clone());
            }
            0x94 => {
                let k = memo.len();
                memo.insert(k, st.last()?.clone());
            }
            b'h' => {
                let k = r.u8()? as usize;
                st.push(memo.get(&k)?.clone());
            }
            b'j' => {
                let k = r.u32()?;
                st.push(memo.get(&k)?.clone());
            }
            _ => return None,
        }
        if st.len() > MAX_LEN {
            return None;
        }
    }
}

fn is_global(v: &V, modules: &[&str], name: &str) -> bool {
    matches!(v, V::Global(m, n) if modules.contains(&m.as_str()) && n == name)
}

/// `b'b'` as protocol 3+ writes it, or `_codecs.encode('b', 'latin1')` (protocol 2).
fn is_b_bytes(v: &V) -> bool {
    match v {
        V::Bytes(b) => b == b"b",
        V::Call(f, a) => {
            is_global(f, &["_codecs"], "encode")
                && a.first() == Some(&V::Str("b".into()))
                && matches!(a.get(1), Some(V::Str(e)) if e == "latin1" || e == "latin-1")
        }
        _ => false,
    }
}

fn is_false(v: &V) -> bool {
    matches!(v, V::Bool(false) | V::Int(0))
}

/// `dtype('O8', False, True)` with any `__setstate__`.
fn is_object_dtype(v: &V) -> bool {
    let V::Built(obj, _) = v else { return false };
    let V::Call(f, a) = obj.as_ref() else { return false };
    is_global(f, &["numpy"], "dtype") && a.first() == Some(&V::Str("O8".into()))
}

/// True when `pickle` (the body of an `.npy` file with an object dtype) is exactly a 0-d
/// numpy object array holding `None` (module docs).
pub(crate) fn is_pickled_none_array(pickle: &[u8]) -> bool {
    let Some(V::Built(obj, state)) = eval(pickle) else { return false };
    let V::Call(f, args) = obj.as_ref() else { return false };
    let ctor_ok = is_global(f, &["numpy.core.multiarray", "numpy._core.multiarray"], "_reconstruct")
        && args.len() == 3
        && is_global(&args[0], &["numpy"], "ndarray")
        && args[1] == V::Tuple(vec![V::Int(0)])
        && is_b_bytes(&args[2]);
    let V::Tuple(s) = state.as_ref() else { return false };
    ctor_ok
        && s.len() == 5
        && s[0] == V::Int(1)
        && s[1] == V::Tuple(Vec::new())
        && is_object_dtype(&s[2])
        && is_false(&s[3])
        && s[4] == V::List(vec![V::None])
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    /// Bodies written by `np.save(f, np.array(None, dtype=object), allow_pickle=True)` with
    /// numpy 2.2.6 (protocol 4) and numpy 1.26.4 (protocol 3), and the same array pickled
    /// with protocols 2 and 5 (numpy 2.2.6).
    pub(crate) const NONE_NP2_P4: &str = "80049587000000000000008c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b012968038c0564747970659493948c024f3894898887945294284b038c017c944e4e4e4affffffff4affffffff4b3f749462895d944e617494622e";
    const NONE_NP1_P3: &str = "8003636e756d70792e636f72652e6d756c746961727261790a5f7265636f6e7374727563740a7100636e756d70790a6e6461727261790a71014b008571024301627103877104527105284b0129636e756d70790a64747970650a710658020000004f3871078988877108527109284b0358010000007c710a4e4e4e4affffffff4affffffff4b3f74710b62895d710c4e6174710d622e";
    const NONE_NP2_P2: &str = "8002636e756d70792e5f636f72652e6d756c746961727261790a5f7265636f6e7374727563740a7100636e756d70790a6e6461727261790a71014b00857102635f636f646563730a656e636f64650a7103580100000062710458060000006c6174696e317105867106527107877108527109284b0129636e756d70790a64747970650a710a58020000004f38710b898887710c52710d284b0358010000007c710e4e4e4e4affffffff4affffffff4b3f74710f62895d71104e61747111622e";
    const NONE_NP2_P5: &str = "80059587000000000000008c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b012968038c0564747970659493948c024f3894898887945294284b038c017c944e4e4e4affffffff4affffffff4b3f749462895d944e617494622e";
    /// `np.array(1, dtype=object)` (numpy 2.2.6) and `np.array([None], dtype=object)`.
    const ONE_NP2: &str = "80049588000000000000008c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b012968038c0564747970659493948c024f3894898887945294284b038c017c944e4e4e4affffffff4affffffff4b3f749462895d944b01617494622e";
    const LIST_NONE_NP2: &str = "8004958a000000000000008c166e756d70792e5f636f72652e6d756c74696172726179948c0c5f7265636f6e7374727563749493948c056e756d7079948c076e6461727261799493944b0085944301629487945294284b014b01859468038c0564747970659493948c024f3894898887945294284b038c017c944e4e4e4affffffff4affffffff4b3f749462895d944e617494622e";

    #[test]
    fn recognises_none_arrays_of_numpy_1_and_2() {
        for h in [NONE_NP2_P4, NONE_NP1_P3, NONE_NP2_P2, NONE_NP2_P5] {
            assert!(is_pickled_none_array(&hex(h)), "{h}");
        }
    }

    #[test]
    fn rejects_other_pickles() {
        assert!(!is_pickled_none_array(&hex(ONE_NP2)), "a 0-d array holding 1");
        assert!(!is_pickled_none_array(&hex(LIST_NONE_NP2)), "a 1-d array holding [None]");
        // A bare pickled None (protocol 2: \x80\x02N.) is not an ndarray.
        assert!(!is_pickled_none_array(b"\x80\x02N."));
        // Text protocol 0, truncation, trailing garbage, empty input.
        assert!(!is_pickled_none_array(b"N."));
        let good = hex(NONE_NP2_P4);
        assert!(!is_pickled_none_array(&good[..good.len() - 1]));
        let mut extra = good.clone();
        extra.push(b'N');
        assert!(!is_pickled_none_array(&extra));
        assert!(!is_pickled_none_array(&[]));
        // Another callable in place of _reconstruct.
        let evil = NONE_NP1_P3.replace(
            &"_reconstruct".bytes().map(|b| format!("{b:02x}")).collect::<String>(),
            &"system______".bytes().map(|b| format!("{b:02x}")).collect::<String>(),
        );
        assert!(!is_pickled_none_array(&hex(&evil)));
    }
}
