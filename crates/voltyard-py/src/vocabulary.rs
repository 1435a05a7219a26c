//! Python strings for the words of OCPP 1.6 (every property name and enumerated value of its
//! schemas), made once per codec and shared by every payload it decodes: a decoded word is neither
//! allocated nor hashed again when it becomes a dict key or a value. Anything else gets a new
//! string. Read-only after construction, so decoding needs no lock.
//!
//! A lookup reads the text's first and last eight bytes once: they make the hash and, for texts of
//! up to 16 bytes (most OCPP words), the whole comparison, without a call to `memcmp`.

use pyo3::prelude::*;
use pyo3::types::PyString;

/// A word with what a lookup compares first, and its Python string.
struct Entry {
    hash: u64,
    len: usize,
    head: u64,
    tail: u64,
    word: Box<str>,
    string: Py<PyString>,
}

/// Open-addressing table, at most 1/4 full so that probes stay short.
pub struct Vocabulary {
    slots: Vec<Option<Entry>>,
    mask: usize,
    /// No word starts with a digit (true of OCPP 1.6): numbers-as-strings and timestamps, the
    /// commonest values that are not words, then skip the table.
    no_digit_words: bool,
}

impl Vocabulary {
    pub fn new(py: Python<'_>, words: &[String]) -> Self {
        let size = (words.len() * 4).next_power_of_two().max(64);
        let no_digit_words = !words.iter().any(|w| w.as_bytes().first().is_some_and(u8::is_ascii_digit));
        let mut vocabulary = Self { slots: (0..size).map(|_| None).collect(), mask: size - 1, no_digit_words };
        for word in words {
            let (head, tail) = head_tail(word.as_bytes());
            let hash = hash(word.len(), head, tail);
            let mut at = vocabulary.slot_of(hash);
            while vocabulary.slots[at].is_some() {
                at = (at + 1) & vocabulary.mask;
            }
            let string = PyString::intern(py, word).unbind();
            vocabulary.slots[at] =
                Some(Entry { hash, len: word.len(), head, tail, word: word.as_str().into(), string });
        }
        vocabulary
    }

    /// The Python string for `text`: the shared one for a word of the vocabulary, else a new one.
    #[inline]
    pub fn string<'py>(&self, py: Python<'py>, text: &str) -> Bound<'py, PyString> {
        match self.find(text) {
            Some(shared) => shared.bind(py).clone(),
            None => PyString::new(py, text),
        }
    }

    #[inline]
    fn find(&self, text: &str) -> Option<&Py<PyString>> {
        let bytes = text.as_bytes();
        if self.no_digit_words && bytes.first().is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let (head, tail) = head_tail(bytes);
        let hash = hash(bytes.len(), head, tail);
        let mut at = self.slot_of(hash);
        while let Some(entry) = &self.slots[at] {
            if entry.hash == hash
                && entry.len == bytes.len()
                && entry.head == head
                && entry.tail == tail
                && (bytes.len() <= 16 || entry.word.as_bytes()[8..] == bytes[8..])
            {
                return Some(&entry.string);
            }
            at = (at + 1) & self.mask;
        }
        None
    }

    fn slot_of(&self, hash: u64) -> usize {
        usize::try_from(hash >> 40).unwrap_or(0) & self.mask
    }
}

/// The first and the last eight bytes (overlapping for shorter texts; all of it below eight).
#[inline]
fn head_tail(bytes: &[u8]) -> (u64, u64) {
    if let (Some(head), Some(tail)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        return (u64::from_le_bytes(*head), u64::from_le_bytes(*tail));
    }
    let short = bytes.iter().rev().fold(0u64, |v, &b| (v << 8) | u64::from(b));
    (short, short)
}

#[inline]
fn hash(len: usize, head: u64, tail: u64) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let h = (head ^ len as u64).wrapping_mul(K);
    let h = (h.rotate_left(29) ^ tail).wrapping_mul(K);
    h ^ (h >> 31)
}
