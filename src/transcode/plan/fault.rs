//! Why a value cannot be transcoded, and where it sits: the path is built
//! as the error unwinds (each level adds its field, index or key), so the
//! success path pays nothing for it.

use std::fmt::Write as _;

use crate::transcode::TranscodeError;

/// One step of a path: `user`, `[2]`, `["k"]`.
#[derive(Debug)]
enum Step {
    Field(Box<str>),
    Index(usize),
    Key(Box<str>),
}

/// An error on its way up, innermost step first.
#[derive(Debug)]
pub(super) struct Fault {
    reason: String,
    steps: Vec<Step>,
}

impl Fault {
    pub(super) fn new(reason: impl Into<String>) -> Fault {
        Fault {
            reason: reason.into(),
            steps: Vec::new(),
        }
    }

    /// Bad JSON text (the path is added all the same).
    pub(super) fn syntax(reason: &str) -> Fault {
        Fault::new(reason)
    }

    /// A value refused as strict's pass words it: `{text} is {reason}`.
    pub(super) fn refused(text: &str, reason: &str) -> Fault {
        Fault::new(format!("{text} is {reason}"))
    }

    pub(super) fn in_field(mut self, name: &str) -> Fault {
        self.steps.push(Step::Field(name.into()));
        self
    }

    pub(super) fn at_index(mut self, index: usize) -> Fault {
        self.steps.push(Step::Index(index));
        self
    }

    pub(super) fn at_key(mut self, key: &str) -> Fault {
        self.steps.push(Step::Key(key.into()));
        self
    }

    /// `user.tags[2]: reason`, or the reason alone at the top.
    fn render(self) -> String {
        if self.steps.is_empty() {
            return self.reason;
        }
        let mut out = String::new();
        for (i, step) in self.steps.iter().rev().enumerate() {
            let _ = match step {
                Step::Field(name) if i == 0 => write!(out, "{name}"),
                Step::Field(name) => write!(out, ".{name}"),
                Step::Index(index) => write!(out, "[{index}]"),
                Step::Key(key) => write!(out, "[{key:?}]"),
            };
        }
        let _ = write!(out, ": {}", self.reason);
        out
    }

    /// As a request error (400).
    pub(super) fn into_request(self) -> TranscodeError {
        TranscodeError::Json(self.render())
    }

    /// As a reply error (500).
    pub(super) fn into_reply(self) -> TranscodeError {
        TranscodeError::Reply(self.render())
    }
}

/// Adds a step to an error's path.
pub(super) trait At<T> {
    fn in_field(self, name: &str) -> Result<T, Fault>;
    fn at_index(self, index: usize) -> Result<T, Fault>;
    fn at_key(self, key: &str) -> Result<T, Fault>;
}

impl<T> At<T> for Result<T, Fault> {
    #[inline]
    fn in_field(self, name: &str) -> Result<T, Fault> {
        self.map_err(|f| f.in_field(name))
    }
    #[inline]
    fn at_index(self, index: usize) -> Result<T, Fault> {
        self.map_err(|f| f.at_index(index))
    }
    #[inline]
    fn at_key(self, key: &str) -> Result<T, Fault> {
        self.map_err(|f| f.at_key(key))
    }
}
