//! [`TranscodeError`]: why a request could not become a protobuf message (the
//! client's fault: a 400) or a reply could not become JSON (ours: a 500).

/// What went wrong between HTTP/JSON and protobuf.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranscodeError {
    /// The body is not JSON, or its JSON does not fit the message (wrong
    /// types, unknown fields when those are refused).
    #[error("invalid JSON body: {0}")]
    Json(String),
    /// A path or query value does not parse as its field's type.
    #[error("invalid value {value:?} for {field}: {reason}")]
    BadValue {
        /// The field, as a dotted path.
        field: String,
        /// The value as sent.
        value: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A query parameter names no field of the request.
    #[error("unknown query parameter {0:?}")]
    UnknownParameter(String),
    /// A system parameter (`$alt`, `callback`…) asks for what the gateway
    /// cannot do.
    #[error("unsupported value {value:?} for system parameter {name}: {reason}")]
    SystemParameter {
        /// The parameter, as sent (`$alt` or `alt`).
        name: String,
        /// The value as sent.
        value: String,
        /// Why it cannot be honoured.
        reason: String,
    },
    /// A query parameter names a field the path or body already fills.
    #[error("query parameter {0:?} names a field the path or body fills")]
    ParameterClash(String),
    /// On replace (or update), the body names a different item than the URI.
    #[error("the body's {field} is {body:?} but the URI says {path:?}; the URI names the item")]
    IdConflict {
        /// The body field, as a dotted path.
        field: String,
        /// The value in the URI.
        path: String,
        /// The value in the body.
        body: String,
    },
    /// A PATCH body carries a field the service sets
    /// (`google.api.field_behavior` OUTPUT_ONLY).
    #[error("{0} is output only: the service sets it, so a PATCH body may not carry it")]
    OutputOnly(String),
    /// The reply could not be written as JSON.
    #[error("cannot write the reply as JSON: {0}")]
    Reply(String),
}

impl TranscodeError {
    /// Whether the client caused it (400) rather than the gateway or service (500).
    pub fn is_client_error(&self) -> bool {
        !matches!(self, TranscodeError::Reply(_))
    }
}
