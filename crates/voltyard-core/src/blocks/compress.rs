//! A block: the uncompressed length (u32, little-endian) followed by one LZ4 block.

use std::fmt;

/// The largest uncompressed block accepted (a block holds one charger's exchanges of one
/// hand-over interval: far less in practice).
pub const MAX_BLOCK_BYTES: usize = 64 << 20;

/// Why a stored block cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockError {
    /// Shorter than its four-byte length prefix.
    Truncated,
    /// Declares more than [`MAX_BLOCK_BYTES`] uncompressed bytes.
    TooLarge(usize),
    /// The LZ4 data is invalid or does not fill the declared length.
    Corrupt(String),
    /// The records end inside one (`what`: "record header", "reading" ...) that starts at byte `at`.
    Cut { what: &'static str, at: usize },
}

impl fmt::Display for BlockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated => write!(f, "block shorter than its 4-byte length prefix"),
            Self::TooLarge(size) => write!(f, "block declares {size} bytes, over the {MAX_BLOCK_BYTES}-byte limit"),
            Self::Corrupt(reason) => write!(f, "corrupt block: {reason}"),
            Self::Cut { what, at } => write!(f, "block ends inside a {what} at byte {at}"),
        }
    }
}

impl std::error::Error for BlockError {}

/// Compresses `raw` into a block.
pub fn compress(raw: &[u8]) -> Vec<u8> {
    lz4_flex::block::compress_prepend_size(raw)
}

/// The raw bytes of a block.
pub fn decompress(block: &[u8]) -> Result<Vec<u8>, BlockError> {
    let Some((size, data)) = block.split_first_chunk::<4>() else {
        return Err(BlockError::Truncated);
    };
    let size = u32::from_le_bytes(*size) as usize;
    if size > MAX_BLOCK_BYTES {
        return Err(BlockError::TooLarge(size));
    }
    let mut raw = vec![0; size];
    let written = lz4_flex::block::decompress_into(data, &mut raw).map_err(|e| BlockError::Corrupt(e.to_string()))?;
    if written != size {
        return Err(BlockError::Corrupt(format!("{written} bytes where {size} were declared")));
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_round_trip_through_compression() {
        let raw: Vec<u8> = (0..10_000u32).flat_map(|i| (i % 97).to_le_bytes()).collect();
        let block = compress(&raw);
        assert!(block.len() < raw.len() / 4);
        assert_eq!(decompress(&block).unwrap(), raw);
        assert_eq!(decompress(&compress(b"")).unwrap(), b"");
    }

    #[test]
    fn bad_blocks_are_errors() {
        assert_eq!(decompress(b"\x01\x02"), Err(BlockError::Truncated));
        let huge = u32::try_from(MAX_BLOCK_BYTES + 1).unwrap().to_le_bytes();
        assert_eq!(decompress(&huge), Err(BlockError::TooLarge(MAX_BLOCK_BYTES + 1)));
        let mut short = compress(b"some bytes that compress to something");
        short[0] += 1; // declares one byte more than the data holds
        assert!(matches!(decompress(&short), Err(BlockError::Corrupt(_))));
        assert!(matches!(decompress(b"\x05\x00\x00\x00\xff\xff"), Err(BlockError::Corrupt(_))));
    }
}
