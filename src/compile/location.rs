//! [`ItemUri`]: how a create's `Location` is built.
//!
//! The item route of a collection is the replace (or get) route whose
//! template, expanded, is the collection's plus one variable segment:
//! `/v1/users/{user_id}/accounts` → `/v1/users/{user_id}/accounts/{account_id}`,
//! `/v1/{parent=blogs/*}/posts` → `/v1/{name=blogs/*/posts/*}`. Each of the
//! item template's variables is filled from the create request's path values
//! (same field path, or the variable covering the same segments) or from the
//! reply's field of that path (`account_id`, or a resource `name` such as
//! `blogs/1/posts/2`). A `(restgate.rest)` create may name the item template
//! outright with `item`.

use prost_reflect::MessageDescriptor;

use super::binding::{self, BoundField, PathFields};
use super::template::{FieldPath, PathTemplate, Segment};

/// Where one variable of the item template gets its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemValue {
    /// The create route's path variable with this index.
    PathVariable(usize),
    /// This field of the reply message.
    Reply(BoundField),
}

/// The item template and, per variable, where its value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemUri {
    /// The item template, e.g. `/v1/users/{user_id}/accounts/{account_id}`.
    pub template: PathTemplate,
    /// One entry per variable of `template`, in order.
    pub values: Vec<ItemValue>,
}

/// Why `Location` cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocationError {
    /// No item route extends the collection by one variable segment.
    #[error("no replace or get route on {wanted} to name the created item")]
    NoItemRoute {
        /// The item shape looked for, e.g. `/v1/users/*`.
        wanted: String,
    },
    /// The item template has a variable that neither side can fill.
    #[error("item template {item:?}: variable {{{var}}} is neither a path variable of {collection:?} nor a field of the reply {reply}")]
    Underivable {
        /// The item template.
        item: String,
        /// The variable's field path.
        var: String,
        /// The create template.
        collection: String,
        /// The reply message.
        reply: String,
    },
}

/// Builds the [`ItemUri`] of `item` for a create on `collection` replying
/// `reply`.
pub(crate) fn item_uri(
    collection: &PathTemplate,
    item: &PathTemplate,
    reply: &MessageDescriptor,
) -> Result<ItemUri, LocationError> {
    let values = item
        .variables()
        .iter()
        .map(|var| {
            let by_name = collection
                .variables()
                .iter()
                .position(|c| c.field_path == var.field_path);
            let by_place = || {
                collection
                    .variables()
                    .iter()
                    .position(|c| c.segments == var.segments)
            };
            if let Some(i) = by_name.or_else(by_place) {
                return Ok(ItemValue::PathVariable(i));
            }
            // `{shelf.name=shelves/*}` on a replace names the resource inside
            // the request; the reply is the resource itself, so `name` too.
            let inner = var
                .field_path
                .parts()
                .get(1..)
                .and_then(|rest| FieldPath::parse(&rest.join(".")));
            binding::path_variable(reply, &var.field_path, PathFields::Singular)
                .or_else(|e| {
                    inner.map_or(Err(e), |p| {
                        binding::path_variable(reply, &p, PathFields::Singular)
                    })
                })
                .map(ItemValue::Reply)
                .map_err(|_| LocationError::Underivable {
                    item: item.as_str().to_owned(),
                    var: var.field_path.to_string(),
                    collection: collection.as_str().to_owned(),
                    reply: reply.full_name().to_owned(),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ItemUri {
        template: item.clone(),
        values,
    })
}

/// Whether `item` is `collection` plus one trailing variable segment, both
/// compared after expansion and neither with a verb.
pub(crate) fn is_item_of(collection: &PathTemplate, item: &PathTemplate) -> bool {
    let (c, i) = (collection.segments(), item.segments());
    collection.verb().is_none()
        && item.verb().is_none()
        && i.len() == c.len() + 1
        && i[..c.len()] == *c
        && i[c.len()] == Segment::Any
        && item.ends_in_variable()
}

/// The item shape looked for, for messages: `/v1/users/*`.
pub(crate) fn wanted_shape(collection: &PathTemplate) -> String {
    let mut shape = collection.shape();
    shape.segments.push(Segment::Any);
    shape.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::source::Descriptors;

    fn t(s: &str) -> PathTemplate {
        PathTemplate::parse(s).unwrap()
    }

    #[test]
    fn items_extend_collections_by_one_variable() {
        assert!(is_item_of(&t("/v1/users"), &t("/v1/users/{user_id}")));
        assert!(is_item_of(
            &t("/v1/{parent=blogs/*}/posts"),
            &t("/v1/{name=blogs/*/posts/*}")
        ));
        assert!(!is_item_of(&t("/v1/users"), &t("/v1/users/x")));
        assert!(!is_item_of(&t("/v1/users"), &t("/v1/users/{id}:get")));
        assert!(!is_item_of(&t("/v1/users"), &t("/v1/users/{id}/x")));
    }

    #[test]
    fn values_come_from_the_path_or_the_reply() {
        let pool = Descriptors::bundled();
        let account = pool
            .pool()
            .get_message_by_name("examples.v1.Account")
            .unwrap();
        let uri = item_uri(
            &t("/v1/users/{user_id}/accounts"),
            &t("/v1/users/{user_id}/accounts/{account_id}"),
            &account,
        )
        .unwrap();
        assert_eq!(uri.values[0], ItemValue::PathVariable(0));
        assert!(
            matches!(&uri.values[1], ItemValue::Reply(f) if f.path.to_string() == "account_id")
        );

        let post = pool.pool().get_message_by_name("examples.v1.Post").unwrap();
        let uri = item_uri(
            &t("/v1/{parent=blogs/*}/posts"),
            &t("/v1/{name=blogs/*/posts/*}"),
            &post,
        )
        .unwrap();
        assert!(matches!(&uri.values[0], ItemValue::Reply(f) if f.path.to_string() == "name"));

        let err = item_uri(&t("/v1/users"), &t("/v1/users/{uid}"), &account).unwrap_err();
        assert!(
            err.to_string().contains("variable {uid} is neither"),
            "{err}"
        );
    }
}
