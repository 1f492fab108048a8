//! Reading a unary call's reply off its HTTP/2 response, as the gRPC
//! protocol has it: a trailers-only answer (the status in the headers), an
//! answer that is not gRPC (an HTTP error status or another content-type:
//! the code the gRPC spec's HTTP mapping gives), else one length-prefixed
//! message — passed on as a slice of the DATA frame it came in when it fits
//! one, joined once when it spans several, refused past
//! [`MAX_REPLY_MESSAGE`] or when compressed (the gateway asks for no
//! compression) — and the status of the trailers: `grpc-status`,
//! `grpc-message` (percent-decoded) and `grpc-status-details-bin` into a
//! [`Status`], the other trailers its metadata, as tonic reads them.

use std::sync::Arc;

use base64::Engine as _;
use bytes::{Buf as _, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, StatusCode};
use http_body_util::BodyExt as _;
use tonic::metadata::MetadataMap;
use tonic::{Code, Status};

use super::connection::connection_failed;
use super::http2::ReplyBody;
use super::progress::Progress;
use super::{Reply, ReplyMessage, UnaryCodec, UpstreamError};

/// The largest reply message read: tonic's default limit, which the
/// gateway's calls had before they were made without tonic's client.
pub(super) const MAX_REPLY_MESSAGE: usize = 4 * 1024 * 1024;

/// The reply of a unary call: its message read by `codec`, its header
/// metadata and trailers apart; a failure of the connection while the body
/// is read is recorded in `progress`.
pub(super) async fn read(
    response: http::Response<ReplyBody>,
    codec: &UnaryCodec,
    progress: &Arc<Progress>,
) -> Result<Reply<ReplyMessage>, UpstreamError> {
    let (parts, mut body) = response.into_parts();
    let headers = parts.headers;
    if let Some(code) = status_code(&headers) {
        // Trailers-only: no message follows.
        let status = match code {
            Code::Ok => no_message(),
            code => status(code, headers),
        };
        return Err(UpstreamError::Status(status));
    }
    if let Some(status) = not_grpc(parts.status, &headers) {
        return Err(UpstreamError::Status(status));
    }
    let mut message = Assembly::default();
    let mut trailers = None;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| {
            progress.broke_reading();
            UpstreamError::Status(connection_failed(&error))
        })?;
        match frame.into_data() {
            Ok(data) => message.push(data).map_err(UpstreamError::Status)?,
            Err(frame) => trailers = frame.into_trailers().ok(),
        }
    }
    let trailers = trailers.unwrap_or_default();
    match status_code(&trailers) {
        Some(Code::Ok) => {}
        Some(code) => return Err(UpstreamError::Status(status(code, trailers))),
        None => {
            return Err(UpstreamError::Status(Status::unknown(
                "the service's reply ended without a gRPC status",
            )))
        }
    }
    let wire = message.finish().map_err(UpstreamError::Status)?;
    Ok(Reply {
        message: codec.read(wire).map_err(UpstreamError::Status)?,
        headers,
        trailers,
    })
}

/// The trailers of a gRPC status. Looked up by name, not by `&str`, which
/// `HeaderMap` would parse and hash anew on every reply.
const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
const GRPC_STATUS_DETAILS: HeaderName = HeaderName::from_static("grpc-status-details-bin");

/// The status of an OK reply with no message.
fn no_message() -> Status {
    Status::internal("the service answered OK without a reply message")
}

/// The `grpc-status` of `map`, if it has one (a value that is no code reads
/// as `UNKNOWN`, as tonic reads it).
fn status_code(map: &HeaderMap) -> Option<Code> {
    map.get(GRPC_STATUS)
        .map(|value| Code::from_bytes(value.as_bytes()))
}

/// The status `code` with the message and details of `map`, whose other
/// entries become its metadata.
fn status(code: Code, mut map: HeaderMap) -> Status {
    map.remove(GRPC_STATUS);
    let message = map.remove(GRPC_MESSAGE).map_or_else(String::new, |value| {
        percent_encoding::percent_decode(value.as_bytes())
            .decode_utf8_lossy()
            .into_owned()
    });
    let details = map
        .remove(GRPC_STATUS_DETAILS)
        .and_then(|value| {
            let decoded = STATUS_DETAILS.decode(value.as_bytes());
            if let Err(error) = &decoded {
                tracing::debug!(%error, "the service's grpc-status-details-bin is no base64; dropped");
            }
            decoded.ok()
        })
        .map_or_else(Bytes::new, Bytes::from);
    Status::with_details_and_metadata(code, message, details, MetadataMap::from_headers(map))
}

/// Base64 of binary metadata: padded or not (gRPC allows both).
const STATUS_DETAILS: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// The status of an answer that is not gRPC (it carries no `grpc-status`):
/// an HTTP status other than 200 maps as the gRPC spec's table has it
/// (`doc/http-grpc-status-mapping.md`); a 200 of another content-type is
/// `UNKNOWN`. `None`: a gRPC answer.
fn not_grpc(http: StatusCode, headers: &HeaderMap) -> Option<Status> {
    let content_type = headers.get(http::header::CONTENT_TYPE);
    let describe = || {
        content_type.map_or_else(
            || "no content-type".to_owned(),
            |value| format!("content-type {}", String::from_utf8_lossy(value.as_bytes())),
        )
    };
    if http != StatusCode::OK {
        let code = match http.as_u16() {
            400 => Code::Internal,
            401 => Code::Unauthenticated,
            403 => Code::PermissionDenied,
            404 => Code::Unimplemented,
            429 | 502 | 503 | 504 => Code::Unavailable,
            _ => Code::Unknown,
        };
        let message = format!(
            "the service answered HTTP {http} ({}) without a gRPC status",
            describe()
        );
        return Some(Status::new(code, message));
    }
    if content_type.is_some_and(|value| is_grpc(value.as_bytes())) {
        return None;
    }
    Some(Status::unknown(format!(
        "the service answered HTTP 200 with {}, not gRPC",
        describe()
    )))
}

/// Whether a content-type is gRPC's: `application/grpc`, alone or with a
/// `+format` or parameters.
fn is_grpc(content_type: &[u8]) -> bool {
    content_type
        .strip_prefix(b"application/grpc")
        .is_some_and(|rest| matches!(rest.first(), None | Some(b'+' | b';')))
}

/// The one length-prefixed message of a reply, from its DATA frames.
#[derive(Debug, Default)]
struct Assembly {
    /// The 5-byte prefix, as much of it as came.
    prefix: [u8; 5],
    prefix_len: usize,
    /// The message's length, once the prefix came.
    len: usize,
    /// The message so far, when it spans frames.
    joined: Option<BytesMut>,
    /// The whole message.
    whole: Option<Bytes>,
    /// Bytes came after the message.
    surplus: bool,
}

impl Assembly {
    /// Takes in one DATA frame's bytes.
    fn push(&mut self, mut data: Bytes) -> Result<(), Status> {
        while !data.is_empty() {
            if self.whole.is_some() {
                self.surplus = true;
                return Ok(());
            }
            if self.prefix_len < 5 {
                let take = (5 - self.prefix_len).min(data.len());
                self.prefix[self.prefix_len..self.prefix_len + take].copy_from_slice(&data[..take]);
                self.prefix_len += take;
                data.advance(take);
                if self.prefix_len == 5 {
                    self.begin()?;
                }
                continue;
            }
            match &mut self.joined {
                None if data.len() >= self.len => self.whole = Some(data.split_to(self.len)),
                None => {
                    let mut joined = BytesMut::with_capacity(self.len);
                    joined.extend_from_slice(&data);
                    data.clear();
                    self.joined = Some(joined);
                }
                Some(joined) => {
                    let take = (self.len - joined.len()).min(data.len());
                    joined.extend_from_slice(&data[..take]);
                    data.advance(take);
                    if joined.len() == self.len {
                        self.whole = self.joined.take().map(BytesMut::freeze);
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads the prefix: the compressed flag and the length.
    fn begin(&mut self) -> Result<(), Status> {
        let [flag, length @ ..] = self.prefix;
        match flag {
            0 => {}
            1 => {
                return Err(Status::internal(
                    "the service sent a compressed reply message; the gateway \
                     asks for none (it sends no grpc-accept-encoding)",
                ))
            }
            other => {
                return Err(Status::internal(format!(
                    "the reply message's compressed flag is {other}, neither 0 nor 1"
                )))
            }
        }
        self.len = u32::from_be_bytes(length) as usize;
        if self.len > MAX_REPLY_MESSAGE {
            return Err(Status::out_of_range(format!(
                "the reply message is {} bytes, over the limit of {MAX_REPLY_MESSAGE}",
                self.len
            )));
        }
        if self.len == 0 {
            self.whole = Some(Bytes::new());
        }
        Ok(())
    }

    /// The whole message, once the reply's status said OK.
    fn finish(self) -> Result<Bytes, Status> {
        if self.surplus {
            return Err(Status::internal(
                "the service sent more than one message in reply to a unary call",
            ));
        }
        match self.whole {
            Some(message) => Ok(message),
            None if self.prefix_len == 0 => Err(no_message()),
            None => Err(Status::internal(format!(
                "the reply ended inside its message ({} of {} bytes came)",
                self.joined.as_ref().map_or(0, BytesMut::len),
                self.len
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn framed(message: &[u8]) -> Vec<u8> {
        let mut frame = vec![0];
        frame.extend_from_slice(&(message.len() as u32).to_be_bytes());
        frame.extend_from_slice(message);
        frame
    }

    #[test]
    fn a_message_in_one_frame_is_a_slice_of_it() {
        let frame = Bytes::from(framed(b"hello"));
        let mut assembly = Assembly::default();
        assembly.push(frame.clone()).unwrap();
        let message = assembly.finish().unwrap();
        assert_eq!(message, &b"hello"[..]);
        assert_eq!(message.as_ptr(), frame[5..].as_ptr(), "not copied");
    }

    #[test]
    fn a_message_over_several_frames_is_joined() {
        let frame = framed(&[7; 100]);
        let mut assembly = Assembly::default();
        for piece in [&frame[..2], &frame[2..10], &frame[10..11], &frame[11..]] {
            assembly.push(Bytes::copy_from_slice(piece)).unwrap();
        }
        assert_eq!(assembly.finish().unwrap(), &[7; 100][..]);
    }

    #[test]
    fn what_is_not_one_whole_message_is_refused() {
        let mut two = framed(b"a");
        two.extend(framed(b"b"));
        let mut assembly = Assembly::default();
        assembly.push(two.into()).unwrap();
        assert!(assembly
            .finish()
            .unwrap_err()
            .message()
            .contains("more than one"));

        let mut cut = Assembly::default();
        cut.push(Bytes::from(framed(b"abc")).slice(..6)).unwrap();
        let status = cut.finish().unwrap_err();
        assert!(status.message().contains("1 of 3 bytes"), "{status:?}");

        assert_eq!(
            Assembly::default().finish().unwrap_err().code(),
            Code::Internal
        );
        let mut empty = Assembly::default();
        empty.push(framed(b"").into()).unwrap();
        assert_eq!(empty.finish().unwrap(), Bytes::new());
    }

    #[test]
    fn compressed_and_oversized_messages_are_refused() {
        let mut compressed = framed(b"x");
        compressed[0] = 1;
        let status = Assembly::default().push(compressed.into()).unwrap_err();
        assert_eq!(status.code(), Code::Internal);
        assert!(status.message().contains("compressed"), "{status:?}");

        let mut big = vec![0];
        big.extend_from_slice(&(MAX_REPLY_MESSAGE as u32 + 1).to_be_bytes());
        let status = Assembly::default().push(big.into()).unwrap_err();
        assert_eq!(status.code(), Code::OutOfRange);
    }

    #[test]
    fn statuses_read_as_tonic_reads_them() {
        let mut map = HeaderMap::new();
        map.insert("grpc-status", "5".parse().unwrap());
        map.insert(
            "grpc-message",
            "no%20such%20user%20%E2%9C%93".parse().unwrap(),
        );
        map.insert("grpc-status-details-bin", "CAUSAmlk".parse().unwrap());
        map.insert("x-trace", "t1".parse().unwrap());
        let code = status_code(&map).unwrap();
        let status = status(code, map);
        assert_eq!(status.code(), Code::NotFound);
        assert_eq!(status.message(), "no such user ✓");
        assert_eq!(status.details(), b"\x08\x05\x12\x02id");
        assert_eq!(status.metadata().len(), 1);
        assert_eq!(status.metadata().get("x-trace").unwrap(), "t1");
    }

    #[test]
    fn answers_that_are_not_grpc_map_by_http_status() {
        let html = |status: u16| {
            let mut headers = HeaderMap::new();
            headers.insert("content-type", "text/html".parse().unwrap());
            not_grpc(StatusCode::from_u16(status).unwrap(), &headers).map(|s| s.code())
        };
        assert_eq!(html(404), Some(Code::Unimplemented));
        assert_eq!(html(503), Some(Code::Unavailable));
        assert_eq!(html(401), Some(Code::Unauthenticated));
        assert_eq!(html(500), Some(Code::Unknown));
        assert_eq!(html(200), Some(Code::Unknown));
        let mut grpc = HeaderMap::new();
        grpc.insert("content-type", "application/grpc+proto".parse().unwrap());
        assert!(not_grpc(StatusCode::OK, &grpc).is_none());
        assert!(!is_grpc(b"application/grpcx"));
        assert!(not_grpc(StatusCode::OK, &HeaderMap::new()).is_some());
    }
}
