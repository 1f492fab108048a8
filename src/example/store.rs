//! The in-memory state shared by the example services, and the small rules
//! they all follow: how ids sort, how ids and etags are assigned, and how
//! request fields are checked.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::time::SystemTime;

use prost_types::Timestamp;
use tonic::Status;

use crate::pb::examples::v1::{Account, Blog, Post, User};
use crate::pb::google::api::HttpBody;

/// An id used as a map key. Ids made only of decimal digits sort
/// numerically and before every other id; other ids sort as text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum IdKey {
    /// A decimal id: its value, then its text (so `"01"` and `"1"` differ).
    Number(u128, String),
    /// Any other id.
    Text(String),
}

impl IdKey {
    /// The smallest key; ranges over a parent's children start here.
    const MIN: IdKey = IdKey::Number(0, String::new());

    /// The key of `id`.
    pub(super) fn new(id: &str) -> Self {
        if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
            if let Ok(n) = id.parse::<u128>() {
                return Self::Number(n, id.to_owned());
            }
        }
        Self::Text(id.to_owned())
    }
}

/// The kinds of item that get service-assigned ids, one counter each.
#[derive(Clone, Copy, Debug)]
pub(super) enum Kind {
    User,
    Account,
    Blog,
    Post,
}

/// Everything the example services know. Children are keyed by
/// `(parent, child)` so that one parent's children are one contiguous range.
#[derive(Debug, Default)]
pub(super) struct Store {
    pub(super) users: BTreeMap<IdKey, User>,
    /// Each user's avatar, as set: content type and bytes.
    pub(super) avatars: BTreeMap<IdKey, HttpBody>,
    pub(super) accounts: BTreeMap<(IdKey, IdKey), Account>,
    pub(super) blogs: BTreeMap<IdKey, Blog>,
    pub(super) posts: BTreeMap<(IdKey, IdKey), Post>,
    /// The last id handed out per [`Kind`].
    counters: [u64; 4],
    /// Writes so far, across all items; the source of etags.
    writes: u64,
}

impl Store {
    /// The next id of `kind` from its counter, skipping ids that `in_use`
    /// reports taken (a replace may already have created, say, user "3").
    pub(super) fn next_id(&mut self, kind: Kind, in_use: impl Fn(&Self, &IdKey) -> bool) -> String {
        let mut n = self.counters[kind as usize];
        loop {
            n += 1;
            let id = n.to_string();
            if !in_use(self, &IdKey::new(&id)) {
                self.counters[kind as usize] = n;
                return id;
            }
        }
    }

    /// A fresh etag. Etags come from one store-wide write counter, so no
    /// etag is ever reused, not even by an item deleted and created again.
    pub(super) fn etag(&mut self) -> String {
        self.writes += 1;
        format!("w{}", self.writes)
    }
}

/// The preconditions of a replace (RFC 9110 §13.1). `sent_etag` is the
/// body resource's `etag`, where the gateway puts a single `If-Match` tag:
/// when set, the item must exist with that etag. The `if-match` and
/// `if-none-match` metadata (the gateway passes both headers) are read too:
/// `If-Match: *` needs an existing item, a list needs the current etag in
/// it (strong comparison: a weak `W/` tag never matches); `If-None-Match: *`
/// forbids an existing item, a list forbids the current etag. A failed
/// precondition is `FAILED_PRECONDITION`, which the gateway answers with 412
/// when the request carried the header.
pub(super) fn check_preconditions(
    current_etag: Option<&str>,
    sent_etag: &str,
    metadata: &tonic::metadata::MetadataMap,
) -> Result<(), Status> {
    if !sent_etag.is_empty() && current_etag != Some(sent_etag) {
        return Err(Status::failed_precondition(match current_etag {
            Some(current) => {
                format!("etag {sent_etag:?} does not match the current etag {current:?}")
            }
            None => format!("etag {sent_etag:?} given for an item that does not exist"),
        }));
    }
    let header = |name: &str| {
        metadata
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    // The entity tags of a header: `*`, or strong tags (weak ones are kept
    // with their `W/` so they never equal an etag).
    let tags = |value: &str| -> Vec<String> {
        value
            .split(',')
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .map(|t| {
                t.strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .unwrap_or(t)
                    .to_owned()
            })
            .collect()
    };
    if let Some(if_match) = header("if-match") {
        let ok = match current_etag {
            None => false,
            Some(_) if if_match == "*" => true,
            Some(current) => tags(if_match).iter().any(|t| t == current),
        };
        if !ok {
            return Err(Status::failed_precondition(format!(
                "If-Match {if_match} does not match the item (current etag: {})",
                current_etag.unwrap_or("none, it does not exist")
            )));
        }
    }
    if let (Some(if_none_match), Some(current)) = (header("if-none-match"), current_etag) {
        if if_none_match == "*" || tags(if_none_match).iter().any(|t| t == current) {
            return Err(Status::failed_precondition(format!(
                "the item exists with etag {current:?} (If-None-Match: {if_none_match})"
            )));
        }
    }
    Ok(())
}

/// The reply of a replace; when it created the item, says so in the
/// `restgate-created` response metadata so the gateway answers 201.
pub(super) fn replaced<T>(value: T, created: bool) -> tonic::Response<T> {
    let mut response = tonic::Response::new(value);
    if created {
        response.metadata_mut().insert(
            crate::upstream::CREATED_METADATA,
            tonic::metadata::MetadataValue::from_static("true"),
        );
    }
    response
}

/// The values of `map` whose key's parent is `parent`, in child order.
pub(super) fn children<'a, V>(
    map: &'a BTreeMap<(IdKey, IdKey), V>,
    parent: &'a IdKey,
) -> impl Iterator<Item = &'a V> + 'a {
    map.range((
        Bound::Included((parent.clone(), IdKey::MIN)),
        Bound::Unbounded,
    ))
    .take_while(move |((p, _), _)| p == parent)
    .map(|(_, v)| v)
}

/// The current time.
pub(super) fn now() -> Timestamp {
    Timestamp::from(SystemTime::now())
}

/// `value`, or INVALID_ARGUMENT when the client left the message out.
pub(super) fn required<T>(value: Option<T>, field: &str) -> Result<T, Status> {
    value.ok_or_else(|| Status::invalid_argument(format!("{field} is required")))
}

/// The key of an id taken from a request field: it must be non-empty and
/// hold no `/` (ids are path segments of resource names).
pub(super) fn id_key(id: &str, field: &str) -> Result<IdKey, Status> {
    if id.is_empty() {
        return Err(Status::invalid_argument(format!(
            "{field} must not be empty"
        )));
    }
    if id.contains('/') {
        return Err(Status::invalid_argument(format!(
            "{field} must not contain '/', got {id:?}"
        )));
    }
    Ok(IdKey::new(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_ids_sort_numerically_and_before_text() {
        let mut ids = vec!["b", "10", "2", "a", "02", "1"];
        ids.sort_by_key(|id| IdKey::new(id));
        assert_eq!(ids, ["1", "02", "2", "10", "a", "b"]);
    }

    #[test]
    fn next_id_skips_taken_ids() {
        let mut store = Store::default();
        store.users.insert(IdKey::new("2"), User::default());
        let taken = |s: &Store, k: &IdKey| s.users.contains_key(k);
        assert_eq!(store.next_id(Kind::User, taken), "1");
        assert_eq!(store.next_id(Kind::User, taken), "3");
        assert_eq!(store.next_id(Kind::Blog, |_, _| false), "1");
    }

    #[test]
    fn children_stay_within_their_parent() {
        let mut map = BTreeMap::new();
        for (p, c) in [("1", "1"), ("1", "2"), ("2", "1"), ("10", "1")] {
            map.insert((IdKey::new(p), IdKey::new(c)), format!("{p}/{c}"));
        }
        let one = IdKey::new("1");
        let got: Vec<_> = children(&map, &one).cloned().collect();
        assert_eq!(got, ["1/1", "1/2"]);
    }

    #[test]
    fn etags_never_repeat() {
        let mut store = Store::default();
        assert_ne!(store.etag(), store.etag());
    }
}
