//! [`Diagnostic`]: one finding about the user's protos, printed the way
//! compilers print them: `path/to/file.proto:LINE:COL: error: message`.

use std::fmt;

/// How bad a finding is. Errors fail `restgate check` and the build step;
/// warnings are printed and change nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The protos cannot be served as written.
    Error,
    /// Served, but something a user would want to know (e.g. no `Location`).
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// A 1-based line and column in a proto file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

/// One finding, tied to a file and, when the descriptors carry source info,
/// a position in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file as the user knows it: its path on disk when it came from
    /// `--proto`, else its name in the descriptor set.
    pub file: String,
    /// Where in the file; `None` for descriptor sets built without source info.
    pub position: Option<Position>,
    /// What is wrong, in one line.
    pub message: String,
}

impl Diagnostic {
    /// An error at `file`/`position`.
    pub fn error(file: String, position: Option<Position>, message: impl fmt::Display) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file,
            position,
            message: message.to_string(),
        }
    }

    /// A warning at `file`/`position`.
    pub fn warning(file: String, position: Option<Position>, message: impl fmt::Display) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, position, message)
        }
    }

    /// Whether this finding fails the check.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.position {
            Some(Position { line, column }) => write!(f, "{}:{line}:{column}", self.file)?,
            None => f.write_str(&self.file)?,
        }
        write!(f, ": {}: {}", self.severity, self.message)
    }
}

/// Every finding of one run, sorted by file and position, errors first on a tie.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(Vec<Diagnostic>);

impl Diagnostics {
    /// Sorts the findings into reading order.
    pub fn new(mut all: Vec<Diagnostic>) -> Self {
        all.sort_by(|a, b| {
            (&a.file, a.position, a.severity).cmp(&(&b.file, b.position, b.severity))
        });
        all.dedup();
        Diagnostics(all)
    }

    /// The findings in reading order.
    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter()
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(Diagnostic::is_error)
    }

    /// How many findings are errors.
    pub fn error_count(&self) -> usize {
        self.0.iter().filter(|d| d.is_error()).count()
    }

    /// Whether there are no findings at all.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, d) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{d}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_a_compiler() {
        let pos = Some(Position { line: 3, column: 7 });
        let d = Diagnostic::error("proto/a.proto".into(), pos, "bad");
        assert_eq!(d.to_string(), "proto/a.proto:3:7: error: bad");
        let d = Diagnostic::warning("a.proto".into(), None, "meh");
        assert_eq!(d.to_string(), "a.proto: warning: meh");
    }

    #[test]
    fn sorted_by_file_then_position() {
        let at = |line| Some(Position { line, column: 1 });
        let all = Diagnostics::new(vec![
            Diagnostic::error("b.proto".into(), at(1), "x"),
            Diagnostic::warning("a.proto".into(), at(9), "y"),
            Diagnostic::error("a.proto".into(), at(2), "z"),
        ]);
        let lines: Vec<String> = all.iter().map(|d| d.to_string()).collect();
        assert_eq!(
            lines,
            [
                "a.proto:2:1: error: z",
                "a.proto:9:1: warning: y",
                "b.proto:1:1: error: x"
            ]
        );
        assert_eq!(all.error_count(), 2);
    }
}
