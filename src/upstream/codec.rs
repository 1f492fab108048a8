//! [`DynamicCodec`]: tonic's codec for messages known only by descriptor;
//! [`UnaryCodec`], the unary call's, which can also keep a reply's
//! protobuf encoding as it came ([`ReplyMessage::Wire`]) for the compiled
//! transcoder to write as JSON.

use bytes::{Buf as _, Bytes};
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

/// A unary reply: decoded, or its protobuf encoding as it came.
#[derive(Debug, Clone)]
pub enum ReplyMessage {
    /// Decoded as the reply's type.
    Decoded(DynamicMessage),
    /// Not decoded: the bytes the service sent (not checked).
    Wire(Bytes),
}

/// Encodes any [`DynamicMessage`]; decodes the reply as `reply`'s type, or
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

impl Codec for UnaryCodec {
    type Encode = DynamicMessage;
    type Decode = ReplyMessage;
    type Encoder = DynamicEncoder;
    type Decoder = UnaryDecoder;

    fn encoder(&mut self) -> Self::Encoder {
        DynamicEncoder
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
