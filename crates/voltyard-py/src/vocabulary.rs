//! Python strings for the words of OCPP 1.6 (every property name and enumerated value of its
//! schemas), made once per codec and shared by every payload it decodes: a decoded word is neither
//! allocated nor hashed again when it becomes a dict key or a value. Anything else gets a new
//! string. Read-only after construction, so decoding needs no lock.

use pyo3::prelude::*;
use pyo3::types::PyString;

/// A word with its full hash (compared before the bytes) and its Python string.
type Entry = (u64, Box<str>, Py<PyString>);

/// Open-addressing table, at most 1/4 full so that probes stay short.
pub struct Vocabulary {
    slots: Vec<Option<Entry>>,
    mask: usize,
}

impl Vocabulary {
    pub fn new(py: Python<'_>, words: &[String]) -> Self {
        let size = (words.len() * 4).next_power_of_two().max(64);
        let mut vocabulary = Self { slots: (0..size).map(|_| None).collect(), mask: size - 1 };
        for word in words {
            let h = hash(word);
            let mut at = vocabulary.slot_of(h);
            while vocabulary.slots[at].is_some() {
                at = (at + 1) & vocabulary.mask;
            }
            vocabulary.slots[at] = Some((h, word.as_str().into(), PyString::intern(py, word).unbind()));
        }
        vocabulary
    }

    /// The Python string for `text`: the shared one for a word of the vocabulary, else a new one.
    pub fn string<'py>(&self, py: Python<'py>, text: &str) -> Bound<'py, PyString> {
        let h = hash(text);
        let mut at = self.slot_of(h);
        while let Some((word_hash, word, string)) = &self.slots[at] {
            if *word_hash == h && word.as_ref() == text {
                return string.bind(py).clone();
            }
            at = (at + 1) & self.mask;
        }
        PyString::new(py, text)
    }

    fn slot_of(&self, h: u64) -> usize {
        usize::try_from(h >> 40).unwrap_or(0) & self.mask
    }
}

/// Eight bytes per step (`FxHash`'s mixing) and a final avalanche so that the high bits, which
/// pick the slot, depend on every byte.
fn hash(text: &str) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mut chunks = text.as_bytes().chunks_exact(8);
    let mut h = text.len() as u64;
    for chunk in &mut chunks {
        h = (h.rotate_left(5) ^ u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]))).wrapping_mul(K);
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h.rotate_left(5) ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^ (h >> 33)
}
