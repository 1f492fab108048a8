//! [`DynamicCodec`]: tonic's codec for messages known only by descriptor;
//! [`UnaryCodec`], the unary call's, which sends a request given as a
//! message or as its protobuf encoding ([`RequestMessage`]) and can keep a
//! reply's encoding as it came ([`ReplyMessage::Wire`]): both ends of the
//! compiled transcoder.

use bytes::{Buf as _, BufMut as _, Bytes};
use prost::Message as _;
use prost_reflect::{DynamicMessage, MessageDescriptor};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::Status;

/// Encodes any [`DynamicMessage`]; decodes replies as `reply`'s type.
#[derive(Debug, Clone)]
pub struct DynamicCodec {
    reply: MessageDescriptor,
}

impl DynamicCodec {
    /// A codec whose decoder reads messages of type `reply`.
    pub fn new(reply: MessageDescriptor) -> Self {
        DynamicCodec { reply }
    }
}

impl Codec for DynamicCodec {
    type Encode = DynamicMessage;
    type Decode = DynamicMessage;
    type Encoder = DynamicEncoder;
    type Decoder = DynamicDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        DynamicEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        DynamicDecoder(self.reply.clone())
    }
}

/// Writes a message's protobuf encoding.
#[derive(Debug)]
pub struct DynamicEncoder;

impl Encoder for DynamicEncoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn encode(&mut self, item: DynamicMessage, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst)
            .map_err(|e| Status::internal(format!("cannot encode the request: {e}")))
    }
}

/// Reads a message of a known type.
#[derive(Debug)]
pub struct DynamicDecoder(MessageDescriptor);

impl Decoder for DynamicDecoder {
    type Item = DynamicMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<DynamicMessage>, Status> {
        DynamicMessage::decode(self.0.clone(), src)
            .map(Some)
            .map_err(|e| undecodable(&self.0, &e))
    }
}

/// The status of a reply that does not decode as `desc`.
pub fn undecodable(desc: &MessageDescriptor, error: &prost::DecodeError) -> Status {
    Status::internal(format!(
        "cannot decode the reply as {}: {error}",
        desc.full_name()
    ))
}

/// A unary request: a message, or its protobuf encoding as the compiled
/// transcoder wrote it.
#[derive(Debug, Clone)]
pub enum RequestMessage {
    /// A message, encoded when sent.
    Dynamic(DynamicMessage),
    /// The protobuf encoding of the request, sent as it is.
    Wire(Bytes),
}

impl From<DynamicMessage> for RequestMessage {
    fn from(message: DynamicMessage) -> Self {
        RequestMessage::Dynamic(message)
    }
}

impl RequestMessage {
    /// The request as one length-prefixed gRPC message: the 5-byte prefix
    /// (not compressed, the length) and the protobuf encoding, in one
    /// buffer, for a request body of one frame.
    pub(super) fn framed(&self) -> Result<Bytes, Status> {
        let len = match self {
            RequestMessage::Dynamic(message) => message.encoded_len(),
            RequestMessage::Wire(wire) => wire.len(),
        };
        let prefix = u32::try_from(len).map_err(|_| {
            Status::resource_exhausted(format!(
                "the request message is {len} bytes; gRPC frames at most 4 GiB"
            ))
        })?;
        let mut frame = Vec::with_capacity(5 + len);
        frame.push(0);
        frame.extend_from_slice(&prefix.to_be_bytes());
        match self {
            RequestMessage::Dynamic(message) => message
                .encode(&mut frame)
                .map_err(|e| Status::internal(format!("cannot encode the request: {e}")))?,
            RequestMessage::Wire(wire) => frame.extend_from_slice(wire),
        }
        Ok(frame.into())
    }
}

/// Writes a [`RequestMessage`].
#[derive(Debug)]
pub struct RequestEncoder;

impl Encoder for RequestEncoder {
    type Item = RequestMessage;
    type Error = Status;

    fn encode(&mut self, item: RequestMessage, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        match item {
            RequestMessage::Dynamic(message) => DynamicEncoder.encode(message, dst),
            RequestMessage::Wire(wire) => {
                dst.put(wire);
                Ok(())
            }
        }
    }
}

/// A unary reply: decoded, or its protobuf encoding as it came.
#[derive(Debug, Clone)]
pub enum ReplyMessage {
    /// Decoded as the reply's type.
    Decoded(DynamicMessage),
    /// Not decoded: the bytes the service sent (not checked).
    Wire(Bytes),
}

/// Writes a [`RequestMessage`]; decodes the reply as `reply`'s type, or
/// with `wire` keeps its bytes.
#[derive(Debug, Clone)]
pub struct UnaryCodec {
    reply: MessageDescriptor,
    wire: bool,
}

impl UnaryCodec {
    /// A codec that decodes replies as `reply`.
    pub fn decoding(reply: MessageDescriptor) -> Self {
        UnaryCodec { reply, wire: false }
    }

    /// A codec that keeps the bytes of replies of type `reply` when `wire`,
    /// else decodes them.
    pub fn new(reply: MessageDescriptor, wire: bool) -> Self {
        UnaryCodec { reply, wire }
    }
}

impl UnaryCodec {
    /// A reply message's protobuf encoding as this codec reads it: kept,
    /// or decoded.
    pub(super) fn read(&self, wire: Bytes) -> Result<ReplyMessage, Status> {
        if self.wire {
            return Ok(ReplyMessage::Wire(wire));
        }
        DynamicMessage::decode(self.reply.clone(), wire)
            .map(ReplyMessage::Decoded)
            .map_err(|e| undecodable(&self.reply, &e))
    }
}

impl Codec for UnaryCodec {
    type Encode = RequestMessage;
    type Decode = ReplyMessage;
    type Encoder = RequestEncoder;
    type Decoder = UnaryDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        RequestEncoder
    }

    fn decoder(&mut self) -> Self::Decoder {
        UnaryDecoder(self.clone())
    }
}

/// Reads a unary reply as its [`UnaryCodec`] says.
#[derive(Debug)]
pub struct UnaryDecoder(UnaryCodec);

impl Decoder for UnaryDecoder {
    type Item = ReplyMessage;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<ReplyMessage>, Status> {
        if self.0.wire {
            return Ok(Some(ReplyMessage::Wire(src.copy_to_bytes(src.remaining()))));
        }
        DynamicMessage::decode(self.0.reply.clone(), src)
            .map(|m| Some(ReplyMessage::Decoded(m)))
            .map_err(|e| undecodable(&self.0.reply, &e))
    }
}
