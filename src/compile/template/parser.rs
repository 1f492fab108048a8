//! The recursive-descent parser of the template grammar (see the parent
//! module): flattens a template into segments and variables, checks each
//! literal and percent-decodes it, and points every error at its byte.

use super::{FieldPath, PathTemplate, Segment, TemplateError, Variable};

/// Parses `text` (see [`PathTemplate::parse`]).
pub(super) fn parse(text: &str) -> Result<PathTemplate, TemplateError> {
    Parser {
        text,
        pos: 0,
        segments: Vec::new(),
        variables: Vec::new(),
    }
    .template()
}

/// A recursive-descent parser over the template's bytes.
struct Parser<'a> {
    text: &'a str,
    pos: usize,
    segments: Vec<Segment>,
    variables: Vec<Variable>,
}

impl Parser<'_> {
    fn err<T>(&self, offset: usize, reason: impl Into<String>) -> Result<T, TemplateError> {
        Err(TemplateError {
            offset,
            reason: reason.into(),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn template(mut self) -> Result<PathTemplate, TemplateError> {
        if self.text.is_empty() {
            return self.err(0, "template is empty");
        }
        if self.peek() != Some(b'/') {
            return self.err(0, "template must start with '/'");
        }
        self.pos += 1;
        self.segments_until(None)?;
        let verb = if self.peek() == Some(b':') {
            self.pos += 1;
            let start = self.pos;
            let verb = self.literal()?;
            if verb.is_empty() {
                return self.err(start, "empty verb after ':'");
            }
            Some(verb)
        } else {
            None
        };
        if let Some(c) = self.peek() {
            let what = match c {
                _ if verb.is_some() => "the verb (after ':') must end the template".to_owned(),
                b'}' => "unmatched '}'".to_owned(),
                _ => format!("unexpected {:?}", self.char_at(self.pos)),
            };
            return self.err(self.pos, what);
        }
        let last = self.segments.len() - 1;
        if self.segments[..last].contains(&Segment::Rest) {
            return self.err(
                self.text.find("**").unwrap_or(0),
                "'**' must be the last segment",
            );
        }
        Ok(PathTemplate {
            text: self.text.to_owned(),
            segments: self.segments,
            variables: self.variables,
            verb,
        })
    }

    fn char_at(&self, pos: usize) -> char {
        self.text[pos..].chars().next().unwrap_or('\0')
    }

    /// Segments separated by '/', up to `}` (inside a variable), `:` or the end.
    fn segments_until(&mut self, in_variable: Option<usize>) -> Result<(), TemplateError> {
        loop {
            self.segment(in_variable)?;
            if self.peek() == Some(b'/') {
                self.pos += 1;
            } else {
                return Ok(());
            }
        }
    }

    fn segment(&mut self, in_variable: Option<usize>) -> Result<(), TemplateError> {
        let start = self.pos;
        match self.peek() {
            Some(b'*') => {
                self.pos += 1;
                if self.peek() == Some(b'*') {
                    self.pos += 1;
                    self.segments.push(Segment::Rest);
                } else {
                    self.segments.push(Segment::Any);
                }
                if self.peek() == Some(b'*') {
                    return self.err(self.pos, "a segment may hold at most '**'");
                }
                if self.peek().is_some_and(|c| !b"/:}".contains(&c)) {
                    return self.err(self.pos, "'*' and '**' must fill a whole segment");
                }
                Ok(())
            }
            Some(b'{') => {
                if let Some(open) = in_variable {
                    return self.err(
                        start,
                        format!("variables cannot nest (inside the one opened at byte {open})"),
                    );
                }
                self.variable()
            }
            Some(b'/') | Some(b':') | Some(b'}') | None => self.err(
                start,
                "empty segment (a template may not hold '//' or end with '/')",
            ),
            Some(_) => {
                let literal = self.literal()?;
                if literal.is_empty() {
                    return self.err(start, format!("unexpected {:?}", self.char_at(start)));
                }
                self.segments.push(Segment::Literal(literal));
                Ok(())
            }
        }
    }

    fn variable(&mut self) -> Result<(), TemplateError> {
        let open = self.pos;
        self.pos += 1;
        let name_start = self.pos;
        while let Some(c) = self.peek() {
            if c == b'=' || c == b'}' {
                break;
            }
            self.pos += 1;
        }
        let name = &self.text[name_start..self.pos];
        let Some(field_path) = FieldPath::parse(name) else {
            return if self.peek().is_none() {
                self.err(open, "unclosed '{'")
            } else if name.is_empty() {
                self.err(name_start, "variable without a field name")
            } else {
                self.err(
                    name_start,
                    format!("{name:?} is not a field path (identifiers joined by '.')"),
                )
            };
        };
        if self.variables.iter().any(|v| v.field_path == field_path) {
            return self.err(name_start, format!("variable {field_path} appears twice"));
        }
        let first = self.segments.len();
        match self.peek() {
            Some(b'=') => {
                self.pos += 1;
                self.segments_until(Some(open))?;
            }
            _ => self.segments.push(Segment::Any),
        }
        if self.peek() != Some(b'}') {
            return self.err(open, "unclosed '{'");
        }
        self.pos += 1;
        self.variables.push(Variable {
            field_path,
            segments: first..self.segments.len(),
        });
        Ok(())
    }

    /// A run of literal characters: unreserved, sub-delims (except '=' and
    /// '*', which the grammar uses), '@', and %XX escapes, which are decoded.
    fn literal(&mut self) -> Result<String, TemplateError> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let mut decoded = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                b'A'..=b'Z'
                | b'a'..=b'z'
                | b'0'..=b'9'
                | b'-'
                | b'.'
                | b'_'
                | b'~'
                | b'!'
                | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'+'
                | b','
                | b';'
                | b'@' => {
                    decoded.push(c);
                    self.pos += 1;
                }
                b'%' => {
                    let hex = bytes
                        .get(self.pos + 1..self.pos + 3)
                        .and_then(|h| std::str::from_utf8(h).ok())
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    match hex {
                        Some(b) => decoded.push(b),
                        None => return self.err(self.pos, "'%' must start a %XX escape"),
                    }
                    self.pos += 3;
                }
                b'/' | b':' | b'{' | b'}' | b'*' | b'=' => break,
                _ => {
                    return self.err(
                        self.pos,
                        format!(
                            "{:?} is not allowed in a path template",
                            self.char_at(self.pos)
                        ),
                    )
                }
            }
        }
        String::from_utf8(decoded).or_else(|_| self.err(start, "literal is not UTF-8 once decoded"))
    }
}
