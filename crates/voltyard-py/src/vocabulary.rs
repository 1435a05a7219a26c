//! Python strings for the words of OCPP 1.6 (every property name and enumerated value of its
//! schemas), made once per codec and shared by every payload it decodes: a decoded word is neither
//! allocated nor hashed again when it becomes a dict key or a value. Anything else gets a new
//! string. Read-only after construction, so decoding needs no lock.
//!
//! A lookup reads the text's first and last eight bytes once: they make the hash and, for texts of
//! up to 16 bytes (most OCPP words), the whole comparison, without a call to `memcmp`.

use pyo3::prelude::*;
use pyo3::types::PyString;

/// A word with what a lookup compares first, and its Python string: 32 bytes, two to a cache line.
#[repr(align(32))]
struct Entry {
    head: u64,
    tail: u64,
    len: u32,
    string: Py<PyString>,
}

/// Open addressing over a compact index, at most 1/4 full so that probes stay short. A slot holds
/// the top 16 bits of the word's hash and its entry number plus one (0: empty): probing reads only
/// this small table, which stays in the L1 cache, and an entry is read once its tag matched.
pub struct Vocabulary {
    slots: Vec<u32>,
    entries: Vec<Entry>,
    /// The words by entry, for the bytes past the sixteenth of a long one.
    words: Vec<Box<str>>,
    mask: usize,
    /// No word starts with a digit (true of OCPP 1.6): numbers-as-strings and timestamps, the
    /// commonest values that are not words, then skip the table.
    no_digit_words: bool,
}

impl Vocabulary {
    pub fn new(py: Python<'_>, words: &[String]) -> Self {
        assert!(words.len() < usize::from(u16::MAX), "a vocabulary holds fewer than 65535 words");
        let size = (words.len() * 4).next_power_of_two().max(64);
        let no_digit_words = !words.iter().any(|w| w.as_bytes().first().is_some_and(u8::is_ascii_digit));
        let mut vocabulary =
            Self { slots: vec![0; size], entries: Vec::new(), words: Vec::new(), mask: size - 1, no_digit_words };
        for word in words {
            let (head, tail) = head_tail(word.as_bytes());
            let hash = hash(word.len(), head, tail);
            let mut at = vocabulary.slot_of(hash);
            while vocabulary.slots[at] != 0 {
                at = (at + 1) & vocabulary.mask;
            }
            let string = PyString::intern(py, word).unbind();
            let len = u32::try_from(word.len()).expect("a word is shorter than 4 GiB");
            vocabulary.entries.push(Entry { head, tail, len, string });
            vocabulary.words.push(word.as_str().into());
            vocabulary.slots[at] = tag(hash) | u32::try_from(vocabulary.entries.len()).unwrap_or(0);
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

    /// The shared string for a word of the vocabulary, borrowed (no reference taken).
    #[inline]
    pub fn shared<'a, 'py>(&'a self, py: Python<'py>, text: &str) -> Option<&'a Bound<'py, PyString>> {
        self.find(text).map(|shared| shared.bind(py))
    }

    #[inline]
    fn find(&self, text: &str) -> Option<&Py<PyString>> {
        let bytes = text.as_bytes();
        if self.no_digit_words && bytes.first().is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let (head, tail) = head_tail(bytes);
        let hash = hash(bytes.len(), head, tail);
        let wanted = tag(hash);
        let mut at = self.slot_of(hash);
        loop {
            let slot = self.slots[at];
            if slot == 0 {
                return None;
            }
            if slot & 0xFFFF_0000 == wanted {
                let at = (slot & 0xFFFF) as usize - 1;
                let entry = &self.entries[at];
                if entry.len as usize == bytes.len()
                    && entry.head == head
                    && entry.tail == tail
                    && (bytes.len() <= 16 || self.words[at].as_bytes()[8..] == bytes[8..])
                {
                    return Some(&entry.string);
                }
            }
            at = (at + 1) & self.mask;
        }
    }

    fn slot_of(&self, hash: u64) -> usize {
        usize::try_from(hash >> 40).unwrap_or(0) & self.mask
    }
}

/// The slot tag of a hash: bits that `slot_of` does not use for the position.
#[inline]
fn tag(hash: u64) -> u32 {
    u32::try_from(hash & 0xFFFF).unwrap_or(0) << 16
}

/// The first and the last eight bytes (overlapping for shorter texts). Below eight bytes, reads
/// that overlap cover every byte, so that with the length the pair still stands for the whole text:
/// the first and last four bytes from four bytes up, else the first, middle and last byte.
#[inline]
fn head_tail(bytes: &[u8]) -> (u64, u64) {
    if let (Some(head), Some(tail)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        return (u64::from_le_bytes(*head), u64::from_le_bytes(*tail));
    }
    let short = if let (Some(head), Some(tail)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        u64::from(u32::from_le_bytes(*head)) | (u64::from(u32::from_le_bytes(*tail)) << 32)
    } else if let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) {
        u64::from(first) | (u64::from(bytes[bytes.len() / 2]) << 8) | (u64::from(last) << 16)
    } else {
        0
    };
    (short, short)
}

#[inline]
fn hash(len: usize, head: u64, tail: u64) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let h = (head ^ len as u64).wrapping_mul(K);
    let h = (h.rotate_left(29) ^ tail).wrapping_mul(K);
    h ^ (h >> 31)
}
