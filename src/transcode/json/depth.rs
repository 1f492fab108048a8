//! The nesting bound on request JSON: a body nested deeper than serde_json
//! reads (its recursion limit: 127 arrays or objects, one inside the other)
//! is refused before anything walks it, so that no walk over the text
//! recurses once per level of a 100,000-deep body and overflows the stack.

use crate::transcode::TranscodeError;

/// The deepest nesting serde_json reads; one more is its "recursion limit
/// exceeded".
pub(super) const MAX_DEPTH: usize = 127;

/// Refuses `bytes` when its arrays and objects nest deeper than
/// [`MAX_DEPTH`]. One pass over the bytes, brackets inside strings skipped;
/// anything else wrong with the text is left to the parser.
pub(super) fn check(bytes: &[u8]) -> Result<(), TranscodeError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for &byte in bytes {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(TranscodeError::Json(format!(
                        "the body nests arrays and objects deeper than {MAX_DEPTH} levels"
                    )));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}
