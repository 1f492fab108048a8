//! [`FieldBehavior`]: what a field's `google.api.field_behavior` option says
//! about it (`OUTPUT_ONLY`, `REQUIRED`), read from the descriptors.
//!
//! The option is read wherever its extension is in the pool (the built-in
//! `google/api/field_behavior.proto`, or a user's own copy); a field without
//! it, or a pool without the extension, says nothing.

use prost_reflect::{FieldDescriptor, Value};

/// The extension's full name.
const EXTENSION: &str = "google.api.field_behavior";
/// `google.api.FieldBehavior.REQUIRED`.
const REQUIRED: i32 = 2;
/// `google.api.FieldBehavior.OUTPUT_ONLY`.
const OUTPUT_ONLY: i32 = 3;

/// What one field's `google.api.field_behavior` option says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldBehavior {
    /// `OUTPUT_ONLY`: set by the service, never by a client.
    pub output_only: bool,
    /// `REQUIRED`: the client must set it.
    pub required: bool,
}

impl FieldBehavior {
    /// Reads `field`'s option.
    pub fn of(field: &FieldDescriptor) -> FieldBehavior {
        let Some(extension) = field.parent_pool().get_extension_by_name(EXTENSION) else {
            return FieldBehavior::default();
        };
        let options = field.options();
        if !options.has_extension(&extension) {
            return FieldBehavior::default();
        }
        let mut behavior = FieldBehavior::default();
        if let Value::List(values) = &*options.get_extension(&extension) {
            for value in values {
                match value.as_enum_number() {
                    Some(OUTPUT_ONLY) => behavior.output_only = true,
                    Some(REQUIRED) => behavior.required = true,
                    _ => {}
                }
            }
        }
        behavior
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::Descriptors;

    #[test]
    fn the_examples_mark_what_the_service_sets() {
        let pool = Descriptors::bundled().pool().clone();
        let user = pool.get_message_by_name("examples.v1.User").unwrap();
        let of = |name: &str| FieldBehavior::of(&user.get_field_by_name(name).unwrap());
        assert!(of("etag").output_only && of("create_time").output_only);
        assert!(!of("display_name").output_only && !of("display_name").required);
        let request = pool
            .get_message_by_name("examples.v1.CreateUserRequest")
            .unwrap();
        let body = request.get_field_by_name("user").unwrap();
        assert_eq!(
            FieldBehavior::of(&body),
            FieldBehavior {
                output_only: false,
                required: true
            }
        );
    }
}
