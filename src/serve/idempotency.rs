//! The `Idempotency-Key` protocol on POST and PATCH, after the IETF httpapi
//! draft "The Idempotency-Key HTTP Header Field", over an
//! [`IdempotencyStore`](crate::idempotency::IdempotencyStore).
//!
//! The first request with a key claims it and runs; its answer is stored with
//! the request's fingerprint. A repeat with the same request replays that
//! answer without calling the service; a repeat while the first still runs is
//! a 409 with `Retry-After`; the same key with a different request is a 422.
//! Only a failure that proves the service did not act (the call was never
//! sent, or the service answered `UNAVAILABLE`) releases the key, so the
//! client may retry; a failure after the call was sent (its connection broke:
//! 502, its deadline passed: 504) is stored like any answer, so no retry
//! under the key runs the call a second time. So is a request given up
//! while its call was under way (the client went away, `request-timeout`
//! passed: 502, [`ServeError::GivenUp`]). Keys are scoped by the caller's
//! `Authorization`, so two callers never share one.

use std::sync::Arc;
use std::time::Duration;

use http::{HeaderMap, Method};
use sha2::{Digest, Sha256};

use super::answer::Answer;
use super::ServeError;
use crate::idempotency::{Claim, IdempotencyStore};

/// The request header.
pub(super) const HEADER: http::HeaderName = http::HeaderName::from_static("idempotency-key");
/// How long a key may be: the draft leaves it open; 255 keeps stores sane.
const MAX_KEY_LEN: usize = 255;

/// A claimed key: what `finish` needs.
#[derive(Debug)]
pub(super) struct Claimed {
    store_key: String,
    fingerprint: Vec<u8>,
}

/// A claimed key while its request runs: [`Running::finish`] records the
/// answer. Dropped before that — the request was given up mid-call — it
/// stores [`ServeError::GivenUp`] for the key in a task of its own, since
/// the call may have reached the service; without a runtime to do so on,
/// the key frees itself when its lease runs out.
pub(super) struct Running {
    store: Arc<dyn IdempotencyStore>,
    claimed: Option<Claimed>,
    ttl: Duration,
}

impl Running {
    /// `claimed`, answers kept for `ttl` in `store`.
    pub(super) fn new(store: Arc<dyn IdempotencyStore>, claimed: Claimed, ttl: Duration) -> Self {
        Running {
            store,
            claimed: Some(claimed),
            ttl,
        }
    }

    /// Records `outcome` for the key: see [`finish`].
    pub(super) async fn finish(mut self, outcome: &Result<Answer, ServeError>) {
        if let Some(claimed) = self.claimed.take() {
            finish(&*self.store, claimed, outcome, self.ttl).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let Some(claimed) = self.claimed.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (store, ttl) = (Arc::clone(&self.store), self.ttl);
        runtime.spawn(async move {
            finish(&*store, claimed, &Err(ServeError::GivenUp), ttl).await;
        });
    }
}

/// What to do with a keyed request.
#[derive(Debug)]
pub(super) enum Begin {
    /// Run it, then [`finish`].
    Run(Claimed),
    /// Answer with this stored answer.
    Replay(Answer),
}

/// The request's `Idempotency-Key`, on the methods it applies to (POST,
/// PATCH). A malformed key is a 400.
pub(super) fn key<'h>(
    method: &Method,
    headers: &'h HeaderMap,
) -> Result<Option<&'h str>, ServeError> {
    if *method != Method::POST && *method != Method::PATCH {
        return Ok(None);
    }
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| {
            !k.is_empty()
                && k.len() <= MAX_KEY_LEN
                && k.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
        })
        .ok_or(ServeError::BadIdempotencyKey)?;
    Ok(Some(key.trim_matches('"')))
}

/// What identifies "the same request": method, route, path, query and body.
pub(super) fn fingerprint(
    method: &Method,
    template: &str,
    uri: &http::Uri,
    body: &[u8],
) -> Vec<u8> {
    let mut hash = Sha256::new();
    for part in [
        method.as_str().as_bytes(),
        template.as_bytes(),
        uri.path().as_bytes(),
        uri.query().unwrap_or("").as_bytes(),
    ] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.update(body);
    hash.finalize().to_vec()
}

/// Claims `key` for the caller identified by `headers`' `Authorization`.
pub(super) async fn begin(
    store: &dyn IdempotencyStore,
    key: &str,
    headers: &HeaderMap,
    fingerprint: Vec<u8>,
    lease: Duration,
) -> Result<Begin, ServeError> {
    let caller = Sha256::digest(
        headers
            .get(http::header::AUTHORIZATION)
            .map_or(&b""[..], |v| v.as_bytes()),
    );
    let store_key = format!("{}:{key}", hex::encode(&caller[..16]));
    match store
        .claim(&store_key, &fingerprint, lease)
        .await
        .map_err(ServeError::Store)?
    {
        Claim::Acquired => Ok(Begin::Run(Claimed {
            store_key,
            fingerprint,
        })),
        Claim::InFlight {
            fingerprint: running,
        } if running == fingerprint => Err(ServeError::KeyInFlight),
        Claim::Completed(record) if record.fingerprint == fingerprint => {
            Ok(Begin::Replay(Answer::replay(record)))
        }
        Claim::InFlight { .. } | Claim::Completed(_) => Err(ServeError::KeyReused),
    }
}

/// Stores the answer of a claimed request, or releases the key when the
/// service surely did not act on it. A store failure here
/// is logged: the client still gets its answer, and the key frees itself when
/// its lease runs out.
async fn finish(
    store: &dyn IdempotencyStore,
    claimed: Claimed,
    outcome: &Result<Answer, ServeError>,
    ttl: Duration,
) {
    let result = match outcome {
        Err(error) if error.never_acted() => store.release(&claimed.store_key).await,
        Ok(answer) => {
            store
                .complete(&claimed.store_key, &answer.record(claimed.fingerprint), ttl)
                .await
        }
        Err(error) => {
            let answer = error.answer();
            store
                .complete(&claimed.store_key, &answer.record(claimed.fingerprint), ttl)
                .await
        }
    };
    if let Err(e) = result {
        tracing::warn!(error = %e, "could not record the answer of an idempotent request");
    }
}
