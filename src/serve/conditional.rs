//! Conditional GET (RFC 9110 §13.1.2): a `GET` or `HEAD` answer whose `ETag`
//! matches the request's `If-None-Match` becomes `304 Not Modified`, with the
//! `ETag` and no body. Comparison is weak (`W/` ignored), over a list of tags
//! or `*`.

use bytes::Bytes;
use http::{header, HeaderMap, StatusCode};

use super::answer::Answer;

/// `answer`, or `304 Not Modified` when the request's `If-None-Match`
/// matches its `ETag`.
pub(super) fn revalidate(request: &HeaderMap, answer: Answer) -> Answer {
    if answer.status != StatusCode::OK {
        return answer;
    }
    // Looked at in place: a copy of the value costs an allocation on
    // every GET.
    let Some(etag) = answer.headers.get(header::ETAG) else {
        return answer;
    };
    let matched = request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|list| matches(list, etag.to_str().unwrap_or("")));
    if !matched {
        return answer;
    }
    let etag = etag.clone();
    let mut headers = HeaderMap::with_capacity(1);
    headers.insert(header::ETAG, etag);
    Answer {
        status: StatusCode::NOT_MODIFIED,
        headers,
        body: Bytes::new(),
    }
}

/// Whether `If-None-Match: list` matches the entity tag `etag`, weakly.
fn matches(list: &str, etag: &str) -> bool {
    let Some(ours) = opaque(etag.trim()) else {
        return false;
    };
    if list.trim() == "*" {
        return true;
    }
    tags(list).any(|tag| tag == ours)
}

/// An entity tag's quoted part, without `W/`.
fn opaque(tag: &str) -> Option<&str> {
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.strip_prefix('"')?.strip_suffix('"')
}

/// The opaque tags of a comma-separated list (a tag may hold commas).
fn tags(list: &str) -> impl Iterator<Item = &str> {
    let mut rest = list;
    std::iter::from_fn(move || loop {
        rest = rest.trim_start_matches(|c: char| c == ',' || c.is_ascii_whitespace());
        if rest.is_empty() {
            return None;
        }
        let tag = rest.strip_prefix("W/").unwrap_or(rest);
        let Some(inner) = tag.strip_prefix('"') else {
            // Not an entity tag: skip to the next comma.
            rest = rest.find(',').map_or("", |i| &rest[i..]);
            continue;
        };
        let Some(end) = inner.find('"') else {
            rest = "";
            return None;
        };
        rest = &inner[end + 1..];
        return Some(&inner[..end]);
    })
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn weak_comparison_lists_and_star() {
        assert!(matches("\"w2\"", "\"w2\""));
        assert!(matches("W/\"w2\"", "\"w2\""));
        assert!(matches("\"w2\"", "W/\"w2\""));
        assert!(matches("\"a\", W/\"w2\" , \"b\"", "\"w2\""));
        assert!(matches("\"a,b\", \"w2\"", "\"w2\""));
        assert!(matches("*", "\"w2\""));
        assert!(!matches("\"w3\"", "\"w2\""));
        assert!(!matches("\"a,w2\"", "\"w2\""));
        assert!(!matches("w2", "\"w2\""));
        assert!(!matches("", "\"w2\""));
    }
}
