//! The stored form of one key in the file and Redis stores: a small prost
//! message, so the encoding is compact and can grow fields without breaking
//! entries an older gateway wrote.

use prost::Message;

use super::{Claim, Record, StoreError};

/// `Entry::state`: a request with the key is running.
const IN_FLIGHT: u32 = 1;
/// `Entry::state`: the key's request has an answer in `record`.
const COMPLETED: u32 = 2;

/// One key's state.
#[derive(Clone, PartialEq, prost::Message)]
pub(super) struct Entry {
    /// [`IN_FLIGHT`] or [`COMPLETED`].
    #[prost(uint32, tag = "1")]
    state: u32,
    /// In flight: the fingerprint the key was claimed with.
    #[prost(bytes = "vec", tag = "2")]
    fingerprint: Vec<u8>,
    /// Completed: the answer.
    #[prost(message, optional, tag = "3")]
    record: Option<Record>,
    /// File store: when the entry expires, unix milliseconds (Redis keeps
    /// expiry itself and leaves this 0).
    #[prost(uint64, tag = "4")]
    pub(super) expires_at_ms: u64,
    /// In flight, Redis: a random token so that two claims with the same
    /// fingerprint never encode to the same bytes (compare-and-delete).
    #[prost(bytes = "vec", tag = "5")]
    token: Vec<u8>,
}

impl Entry {
    /// A claim held with `fingerprint`.
    pub(super) fn in_flight(fingerprint: &[u8], expires_at_ms: u64, token: Vec<u8>) -> Self {
        Entry {
            state: IN_FLIGHT,
            fingerprint: fingerprint.to_vec(),
            record: None,
            expires_at_ms,
            token,
        }
    }

    /// A stored answer.
    pub(super) fn completed(record: Record, expires_at_ms: u64) -> Self {
        Entry {
            state: COMPLETED,
            fingerprint: Vec::new(),
            record: Some(record),
            expires_at_ms,
            token: Vec::new(),
        }
    }

    /// Decodes an entry, naming `key` if it is not one.
    pub(super) fn decode_for(key: &str, bytes: &[u8]) -> Result<Self, StoreError> {
        let entry =
            Entry::decode(bytes).map_err(|e| StoreError::Corrupt(format!("key {key:?}: {e}")))?;
        match (entry.state, &entry.record) {
            (IN_FLIGHT, _) | (COMPLETED, Some(_)) => Ok(entry),
            (COMPLETED, None) => Err(StoreError::Corrupt(format!(
                "key {key:?}: a completed entry without a record"
            ))),
            (state, _) => Err(StoreError::Corrupt(format!(
                "key {key:?}: unknown state {state}"
            ))),
        }
    }

    /// Whether a request with the key is running.
    pub(super) fn is_in_flight(&self) -> bool {
        self.state == IN_FLIGHT
    }

    /// What a claim on the key answers while the entry lives.
    pub(super) fn into_claim(self) -> Claim {
        match self.record {
            Some(record) if self.state == COMPLETED => Claim::Completed(record),
            _ => Claim::InFlight {
                fingerprint: self.fingerprint,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::idempotency::StoredHeader;

    fn record() -> Record {
        Record {
            fingerprint: vec![1, 2, 3],
            status: 201,
            headers: vec![StoredHeader {
                name: "location".into(),
                value: b"/v1/users/7".to_vec(),
            }],
            body: b"{\"id\":\"7\"}".to_vec(),
        }
    }

    #[test]
    fn entries_round_trip() {
        let done = Entry::completed(record(), 42);
        let back = Entry::decode_for("k", &done.encode_to_vec()).unwrap();
        assert_eq!(back, done);
        assert!(!back.is_in_flight());
        assert_eq!(back.into_claim(), Claim::Completed(record()));

        let running = Entry::in_flight(b"fp", 7, vec![9; 16]);
        let back = Entry::decode_for("k", &running.encode_to_vec()).unwrap();
        assert!(back.is_in_flight());
        assert_eq!(back.expires_at_ms, 7);
        assert_eq!(
            back.into_claim(),
            Claim::InFlight {
                fingerprint: b"fp".to_vec()
            }
        );
    }

    #[test]
    fn garbage_is_corrupt() {
        let err = Entry::decode_for("k", &[0xff, 0xff, 0xff]).unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt(ref m) if m.starts_with("key \"k\": ")),
            "{err}"
        );
        // A valid message in an unknown state (e.g. written by a newer gateway).
        let odd = Entry {
            state: 9,
            ..Entry::in_flight(b"", 0, Vec::new())
        };
        let err = Entry::decode_for("k", &odd.encode_to_vec()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "idempotency store: corrupt entry: key \"k\": unknown state 9"
        );
        let hollow = Entry {
            record: None,
            ..Entry::completed(record(), 0)
        };
        let err = Entry::decode_for("k", &hollow.encode_to_vec()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "idempotency store: corrupt entry: key \"k\": a completed entry without a record"
        );
    }
}
