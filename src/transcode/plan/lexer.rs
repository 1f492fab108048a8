//! Reading JSON text one token at a time, for the JSON → wire codec: the
//! grammar of RFC 8259 as serde_json reads it (no trailing commas, no
//! comments, strings with their escapes and surrogate pairs checked, the
//! number grammar exact), number literals handed over as written, and the
//! nesting bound of `json/depth` (127 arrays or objects).
//!
//! The text is checked to be UTF-8 once, up front, so strings are sliced
//! out of it without checking again.

use std::borrow::Cow;

use super::fault::Fault;

/// The deepest nesting read (serde_json's recursion limit).
const MAX_DEPTH: usize = 127;

/// What the next value is, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Next {
    Object,
    Array,
    String,
    Number,
    True,
    False,
    Null,
}

/// A cursor over JSON text.
pub(super) struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    depth: usize,
}

impl<'a> Lexer<'a> {
    pub(super) fn new(bytes: &'a [u8]) -> Result<Self, Fault> {
        let text = std::str::from_utf8(bytes).map_err(|_| Fault::syntax("invalid UTF-8"))?;
        Ok(Lexer {
            text,
            pos: 0,
            depth: 0,
        })
    }

    #[inline]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    #[inline]
    fn skip_ws(&mut self) {
        let bytes = self.bytes();
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// The kind of the next value (whitespace skipped).
    #[inline]
    pub(super) fn peek(&mut self) -> Result<Next, Fault> {
        self.skip_ws();
        Ok(match self.bytes().get(self.pos) {
            Some(b'{') => Next::Object,
            Some(b'[') => Next::Array,
            Some(b'"') => Next::String,
            Some(b'-' | b'0'..=b'9') => Next::Number,
            Some(b't') => Next::True,
            Some(b'f') => Next::False,
            Some(b'n') => Next::Null,
            Some(_) => return Err(Fault::syntax("expected a value")),
            None => return Err(Fault::syntax("EOF while parsing a value")),
        })
    }

    /// Where the cursor is, to come back to with [`Lexer::reset`].
    pub(super) fn mark(&self) -> (usize, usize) {
        (self.pos, self.depth)
    }

    pub(super) fn reset(&mut self, (pos, depth): (usize, usize)) {
        self.pos = pos;
        self.depth = depth;
    }

    /// The whole text was one value: only whitespace follows.
    pub(super) fn end(&mut self) -> Result<(), Fault> {
        self.skip_ws();
        if self.pos < self.text.len() {
            return Err(Fault::syntax("trailing characters"));
        }
        Ok(())
    }

    fn literal(&mut self, word: &str) -> Result<(), Fault> {
        if self.text[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(Fault::syntax("expected ident"))
        }
    }

    /// `true`, `false` or `null` (after [`Lexer::peek`] named it).
    pub(super) fn word(&mut self, next: Next) -> Result<(), Fault> {
        self.literal(match next {
            Next::True => "true",
            Next::False => "false",
            _ => "null",
        })
    }

    /// Opens an object or array (after [`Lexer::peek`]): one level deeper.
    pub(super) fn open(&mut self) -> Result<(), Fault> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Fault::syntax(&format!(
                "the body nests arrays and objects deeper than {MAX_DEPTH} levels"
            )));
        }
        self.pos += 1;
        Ok(())
    }

    /// The next key of an object just opened (`first`) or continued:
    /// `None` at its closing brace.
    pub(super) fn key(&mut self, first: bool) -> Result<Option<Cow<'a, str>>, Fault> {
        self.skip_ws();
        match self.bytes().get(self.pos) {
            Some(b'}') => {
                self.pos += 1;
                self.depth -= 1;
                return Ok(None);
            }
            Some(b',') if !first => {
                self.pos += 1;
                self.skip_ws();
            }
            Some(b'"') if first => {}
            None => return Err(Fault::syntax("EOF while parsing an object")),
            _ => return Err(Fault::syntax("expected `,` or `}`")),
        }
        if self.bytes().get(self.pos) != Some(&b'"') {
            return Err(Fault::syntax("key must be a string"));
        }
        let key = self.string()?;
        self.skip_ws();
        if self.bytes().get(self.pos) != Some(&b':') {
            return Err(Fault::syntax("expected `:`"));
        }
        self.pos += 1;
        Ok(Some(key))
    }

    /// Whether an array just opened (`first`) or continued has another
    /// item; consumes its closing bracket when not.
    pub(super) fn item(&mut self, first: bool) -> Result<bool, Fault> {
        self.skip_ws();
        match self.bytes().get(self.pos) {
            Some(b']') => {
                self.pos += 1;
                self.depth -= 1;
                Ok(false)
            }
            Some(b',') if !first => {
                self.pos += 1;
                Ok(true)
            }
            None => Err(Fault::syntax("EOF while parsing a list")),
            _ if first => Ok(true),
            _ => Err(Fault::syntax("expected `,` or `]`")),
        }
    }

    /// A string (after [`Lexer::peek`] saw its quote), borrowed when it
    /// holds no escapes.
    #[inline]
    pub(super) fn string(&mut self) -> Result<Cow<'a, str>, Fault> {
        let bytes = self.bytes();
        let start = self.pos + 1;
        let mut at = start;
        loop {
            match bytes.get(at) {
                Some(b'"') => {
                    self.pos = at + 1;
                    return Ok(Cow::Borrowed(&self.text[start..at]));
                }
                Some(b'\\') => break,
                Some(0..=0x1f) => return Err(Fault::syntax("control character in a string")),
                Some(_) => at += 1,
                None => return Err(Fault::syntax("EOF while parsing a string")),
            }
        }
        let mut owned = String::from(&self.text[start..at]);
        self.pos = at;
        self.escaped(&mut owned)?;
        Ok(Cow::Owned(owned))
    }

    /// The rest of a string from its first backslash.
    fn escaped(&mut self, out: &mut String) -> Result<(), Fault> {
        let bytes = self.bytes();
        loop {
            let run = self.pos;
            while let Some(&b) = bytes.get(self.pos) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[run..self.pos]);
            match bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(out)?;
                }
                Some(_) => return Err(Fault::syntax("control character in a string")),
                None => return Err(Fault::syntax("EOF while parsing a string")),
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), Fault> {
        let byte = *self
            .bytes()
            .get(self.pos)
            .ok_or_else(|| Fault::syntax("EOF in escape"))?;
        self.pos += 1;
        out.push(match byte {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => return self.unicode(out),
            _ => return Err(Fault::syntax("invalid escape")),
        });
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, Fault> {
        let digits = self
            .text
            .get(self.pos..self.pos + 4)
            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| Fault::syntax("invalid escape"))?;
        self.pos += 4;
        u32::from_str_radix(digits, 16).map_err(|_| Fault::syntax("invalid escape"))
    }

    /// `\uXXXX`, a surrogate pair written as two; a lone surrogate is refused.
    fn unicode(&mut self, out: &mut String) -> Result<(), Fault> {
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.text[self.pos..].starts_with("\\u") {
                    return Err(Fault::syntax("lone leading surrogate in hex escape"));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(Fault::syntax("lone leading surrogate in hex escape"));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(Fault::syntax("lone trailing surrogate in hex escape")),
            code => code,
        };
        out.push(char::from_u32(code).ok_or_else(|| Fault::syntax("invalid escape"))?);
        Ok(())
    }

    /// A number literal as written (after [`Lexer::peek`] saw its start),
    /// checked against JSON's grammar.
    #[inline]
    pub(super) fn number(&mut self) -> Result<&'a str, Fault> {
        let bytes = self.bytes();
        let start = self.pos;
        let mut at = start + usize::from(bytes[start] == b'-');
        let digits = |at: usize| {
            bytes[at..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        match bytes.get(at) {
            Some(b'0') => at += 1,
            Some(b'1'..=b'9') => at += digits(at),
            _ => return Err(Fault::syntax("invalid number")),
        }
        if bytes.get(at) == Some(&b'.') {
            let n = digits(at + 1);
            if n == 0 {
                return Err(Fault::syntax("invalid number"));
            }
            at += 1 + n;
        }
        if let Some(b'e' | b'E') = bytes.get(at) {
            at += 1;
            if let Some(b'+' | b'-') = bytes.get(at) {
                at += 1;
            }
            let n = digits(at);
            if n == 0 {
                return Err(Fault::syntax("invalid number"));
            }
            at += n;
        }
        self.pos = at;
        Ok(&self.text[start..at])
    }

    /// Reads past the next value, whatever it is (an unknown field's).
    pub(super) fn skip(&mut self) -> Result<(), Fault> {
        match self.peek()? {
            Next::Object => {
                self.open()?;
                let mut first = true;
                while self.key(first)?.is_some() {
                    first = false;
                    self.skip()?;
                }
            }
            Next::Array => {
                self.open()?;
                let mut first = true;
                while self.item(first)? {
                    first = false;
                    self.skip()?;
                }
            }
            Next::String => {
                self.string()?;
            }
            Next::Number => {
                self.number()?;
            }
            word => self.word(word)?,
        }
        Ok(())
    }
}
