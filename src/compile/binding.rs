//! Binding: which request field each path variable fills, which field the
//! body fills, and which reply field becomes the response body. Field paths
//! are resolved here, once, against the message descriptors, so nothing later
//! looks a field up by name.

use std::fmt;

use prost_reflect::{Cardinality, FieldDescriptor, Kind, MessageDescriptor};

use super::template::FieldPath;

/// A [`FieldPath`] resolved against a message: one descriptor per part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundField {
    /// The path as written.
    pub path: FieldPath,
    /// The descriptors, outermost first; as long as `path`. Every one but the
    /// last is a singular message field.
    pub fields: Vec<FieldDescriptor>,
}

impl BoundField {
    /// The field the path ends at.
    pub fn leaf(&self) -> &FieldDescriptor {
        // Invariant: resolution never yields an empty chain.
        &self.fields[self.fields.len() - 1]
    }
}

impl fmt::Display for BoundField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.path.fmt(f)
    }
}

/// What the request body fills.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// No body: everything comes from the path and the query string.
    None,
    /// `body: "*"`: the body is the whole request message.
    Whole,
    /// `body: "field"`: the body is this top-level request field.
    Field(BoundField),
}

impl Body {
    /// The selector as written in the annotation: `None`, `"*"`, or the field.
    pub fn selector(&self) -> Option<String> {
        match self {
            Body::None => None,
            Body::Whole => Some("*".to_owned()),
            Body::Field(f) => Some(f.path.to_string()),
        }
    }
}

/// Why a field path does not bind.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BindingError {
    /// The text is not a dotted identifier path.
    #[error("{role} {text:?} is not a field path")]
    BadPath {
        /// What the path is for ("path variable", "body", ...).
        role: Role,
        /// The text as written.
        text: String,
    },
    /// A part names no field.
    #[error("{}: {message} has no field {part:?}", subject(*role, path))]
    NoSuchField {
        /// What the path is for.
        role: Role,
        /// The whole path.
        path: FieldPath,
        /// The message searched.
        message: String,
        /// The part not found.
        part: String,
    },
    /// A non-last part is not a singular message field.
    #[error("{}: {part} is {kind}, so it has no fields to select", subject(*role, path))]
    NotTraversable {
        /// What the path is for.
        role: Role,
        /// The whole path.
        path: FieldPath,
        /// The part that cannot be entered.
        part: String,
        /// What it is, in words.
        kind: String,
    },
    /// The field's kind does not suit the role.
    #[error("{}: field {field} is {kind}; {need}", subject(*role, path))]
    WrongKind {
        /// What the path is for.
        role: Role,
        /// The whole path.
        path: FieldPath,
        /// The field's full name.
        field: String,
        /// What it is, in words.
        kind: String,
        /// What the role needs, in words.
        need: &'static str,
    },
    /// `body`/`response_body` may only name a top-level field.
    #[error("{}: must name a top-level field of {message}", subject(*role, path))]
    NotTopLevel {
        /// What the path is for.
        role: Role,
        /// The whole path.
        path: FieldPath,
        /// The message.
        message: String,
    },
}

/// How messages name the path: `path variable {a.b}`, `body "a"`.
fn subject(role: Role, path: &FieldPath) -> String {
    match role {
        Role::PathVariable => format!("path variable {{{path}}}"),
        Role::Body | Role::ResponseBody => format!("{role} \"{path}\""),
    }
}

impl BindingError {
    /// What the failing path was for.
    pub fn role(&self) -> Role {
        match self {
            BindingError::BadPath { role, .. }
            | BindingError::NoSuchField { role, .. }
            | BindingError::NotTraversable { role, .. }
            | BindingError::WrongKind { role, .. }
            | BindingError::NotTopLevel { role, .. } => *role,
        }
    }
}

/// What a field path is for, named in messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A `{variable}` of the path template.
    PathVariable,
    /// The `body` selector.
    Body,
    /// The `response_body` selector.
    ResponseBody,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::PathVariable => "path variable",
            Role::Body => "body",
            Role::ResponseBody => "response_body",
        })
    }
}

/// Describes a field's kind for messages: "a repeated string", "a message (examples.v1.User)".
pub(crate) fn describe(field: &FieldDescriptor) -> String {
    let base = match field.kind() {
        Kind::Message(m) => format!("a message ({})", m.full_name()),
        Kind::Enum(e) => format!("an enum ({})", e.full_name()),
        other => format!("a {}", kind_name(&other)),
    };
    if field.is_map() {
        "a map".to_owned()
    } else if field.cardinality() == Cardinality::Repeated {
        format!(
            "a repeated field ({})",
            base.trim_start_matches("a ").trim_start_matches("an ")
        )
    } else {
        base
    }
}

fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Double => "double",
        Kind::Float => "float",
        Kind::Int64 => "int64",
        Kind::Uint64 => "uint64",
        Kind::Int32 => "int32",
        Kind::Fixed64 => "fixed64",
        Kind::Fixed32 => "fixed32",
        Kind::Bool => "bool",
        Kind::String => "string",
        Kind::Bytes => "bytes",
        Kind::Uint32 => "uint32",
        Kind::Sfixed32 => "sfixed32",
        Kind::Sfixed64 => "sfixed64",
        Kind::Sint32 => "sint32",
        Kind::Sint64 => "sint64",
        Kind::Message(_) => "message",
        Kind::Enum(_) => "enum",
    }
}

/// Resolves `path` in `message`: every part must exist and every part but the
/// last must be a singular message field.
pub(crate) fn resolve(
    message: &MessageDescriptor,
    path: &FieldPath,
    role: Role,
) -> Result<BoundField, BindingError> {
    let mut current = message.clone();
    let mut fields = Vec::with_capacity(path.parts().len());
    for (i, part) in path.parts().iter().enumerate() {
        let field = current
            .get_field_by_name(part)
            .ok_or_else(|| BindingError::NoSuchField {
                role,
                path: path.clone(),
                message: current.full_name().to_owned(),
                part: part.clone(),
            })?;
        if i + 1 < path.parts().len() {
            match field.kind() {
                Kind::Message(inner) if !field.is_list() && !field.is_map() => current = inner,
                _ => {
                    return Err(BindingError::NotTraversable {
                        role,
                        path: path.clone(),
                        part: part.clone(),
                        kind: describe(&field),
                    })
                }
            }
        }
        fields.push(field);
    }
    Ok(BoundField {
        path: path.clone(),
        fields,
    })
}

/// Which fields a path variable may fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathFields {
    /// Singular scalars only: `(restgate.rest)`, whose variables name a
    /// resource, and the reply fields a `Location` is built from.
    Singular,
    /// Singular scalars, and repeated scalars read from one segment as
    /// comma-separated values, as grpc-gateway reads them: `google.api.http`.
    OrRepeated,
}

/// Binds a path variable: the field must be scalar (a number, bool, string,
/// bytes or enum), since a URL segment fills it, and singular unless
/// `fields` allows a repeated one.
pub(crate) fn path_variable(
    request: &MessageDescriptor,
    path: &FieldPath,
    fields: PathFields,
) -> Result<BoundField, BindingError> {
    let bound = resolve(request, path, Role::PathVariable)?;
    let leaf = bound.leaf();
    let list_ok = fields == PathFields::OrRepeated && leaf.is_list();
    let need = match fields {
        PathFields::Singular => "a path variable needs a singular scalar field",
        PathFields::OrRepeated => "a path variable needs a scalar field (singular or repeated)",
    };
    if (leaf.is_list() && !list_ok) || leaf.is_map() || matches!(leaf.kind(), Kind::Message(_)) {
        return Err(BindingError::WrongKind {
            role: Role::PathVariable,
            path: path.clone(),
            field: leaf.full_name().to_owned(),
            kind: describe(leaf),
            need,
        });
    }
    Ok(bound)
}

/// Binds `body` (or `response_body`): empty is none, `*` the whole message,
/// else a top-level field. With `need_message`, the field must be a singular
/// message (restgate's create and replace carry a resource).
pub(crate) fn selector(
    message: &MessageDescriptor,
    text: &str,
    role: Role,
    need_message: bool,
) -> Result<Body, BindingError> {
    match text {
        "" => Ok(Body::None),
        "*" if role == Role::Body => Ok(Body::Whole),
        _ => {
            let path = FieldPath::parse(text).ok_or_else(|| BindingError::BadPath {
                role,
                text: text.to_owned(),
            })?;
            let bound = resolve(message, &path, role)?;
            if bound.fields.len() > 1 {
                return Err(BindingError::NotTopLevel {
                    role,
                    path,
                    message: message.full_name().to_owned(),
                });
            }
            let leaf = bound.leaf();
            let is_message =
                matches!(leaf.kind(), Kind::Message(_)) && !leaf.is_list() && !leaf.is_map();
            if need_message && !is_message {
                return Err(BindingError::WrongKind {
                    role,
                    path,
                    field: leaf.full_name().to_owned(),
                    kind: describe(leaf),
                    need:
                        "it must name a singular message field carrying the resource (or be \"*\")",
                });
            }
            Ok(Body::Field(bound))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::source::Descriptors;

    fn message(name: &str) -> MessageDescriptor {
        Descriptors::bundled()
            .pool()
            .get_message_by_name(name)
            .unwrap()
    }

    fn path(s: &str) -> FieldPath {
        FieldPath::parse(s).unwrap()
    }

    #[test]
    fn path_variables_need_singular_scalars() {
        let req = message("examples.v1.ReplaceUserRequest");
        assert_eq!(
            path_variable(&req, &path("user_id"), PathFields::Singular)
                .unwrap()
                .leaf()
                .name(),
            "user_id"
        );
        assert_eq!(
            path_variable(&req, &path("user.address.city"), PathFields::Singular)
                .unwrap()
                .fields
                .len(),
            3
        );
        let err = path_variable(&req, &path("user.tags"), PathFields::Singular)
            .unwrap_err()
            .to_string();
        assert_eq!(err, "path variable {user.tags}: field examples.v1.User.tags is a repeated field (string); a path variable needs a singular scalar field");
        let err = path_variable(&req, &path("user"), PathFields::Singular)
            .unwrap_err()
            .to_string();
        assert!(err.contains("is a message (examples.v1.User)"), "{err}");
        let err = path_variable(&req, &path("usr_id"), PathFields::Singular)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "path variable {usr_id}: examples.v1.ReplaceUserRequest has no field \"usr_id\""
        );
        let err = path_variable(&req, &path("user_id.x"), PathFields::Singular)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "path variable {user_id.x}: user_id is a string, so it has no fields to select"
        );
    }

    #[test]
    fn google_api_http_path_variables_may_be_repeated_scalars() {
        let req = message("examples.v1.ReplaceUserRequest");
        let tags = path_variable(&req, &path("user.tags"), PathFields::OrRepeated).unwrap();
        assert!(tags.leaf().is_list());
        let err = path_variable(&req, &path("user"), PathFields::OrRepeated)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is a message (examples.v1.User); a path variable needs a scalar field"),
            "{err}"
        );
    }

    #[test]
    fn body_selectors() {
        let req = message("examples.v1.CreateUserRequest");
        assert_eq!(selector(&req, "", Role::Body, true).unwrap(), Body::None);
        assert_eq!(selector(&req, "*", Role::Body, true).unwrap(), Body::Whole);
        assert_eq!(
            selector(&req, "user", Role::Body, true)
                .unwrap()
                .selector()
                .as_deref(),
            Some("user")
        );
        let err = selector(&req, "usr", Role::Body, true)
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "body \"usr\": examples.v1.CreateUserRequest has no field \"usr\""
        );
        let err = selector(&req, "user.email", Role::Body, false)
            .unwrap_err()
            .to_string();
        assert!(err.contains("must name a top-level field"), "{err}");
        let req = message("examples.v1.GetUserRequest");
        let err = selector(&req, "user_id", Role::Body, true)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("is a string; it must name a singular message field"),
            "{err}"
        );
        assert!(selector(&req, "user_id", Role::Body, false).is_ok());
    }
}
