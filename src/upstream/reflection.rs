//! Descriptors from an upstream's gRPC server reflection: every service it
//! lists, the files that define them and every file those import, as the
//! encoded `FileDescriptorProto`s the server sent.
//!
//! The bytes are kept as sent, never decoded into
//! `prost_types::FileDescriptorProto` and encoded again, which would drop
//! extension options such as `(google.api.http)` and `(restgate.rest)`; they
//! are read only for each file's name and imports. The route compiler takes
//! them from here (`Input::Reflected`).
//!
//! Protocol `grpc.reflection.v1`, or `v1alpha` when the server answers v1
//! with `UNIMPLEMENTED`; both share one message layout, so the v1 types of
//! tonic-reflection serve both paths. Each round (list the services, the
//! files of those services, the imports still missing) is one bidirectional
//! call over the upstream's own transport (TLS settings included).

use std::collections::BTreeSet;
use std::time::Duration;

use http::uri::PathAndQuery;
use prost::Message as _;
use tonic::Code;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
use tonic_reflection::pb::v1::{ServerReflectionRequest, ServerReflectionResponse};

use super::{Channel, RemoteSpec, Upstream, UpstreamError};

/// The method of reflection v1.
const V1: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
/// The method of reflection v1alpha, for servers that predate v1.
const V1ALPHA: &str = "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

/// The most import rounds before a server is taken to answer in circles.
const MAX_ROUNDS: usize = 64;

/// Why the descriptors of an upstream could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("cannot load descriptors from upstream {upstream}: {reason}")]
pub struct ReflectionError {
    /// The upstream, as configured.
    pub upstream: String,
    /// What went wrong.
    pub reason: Reason,
}

/// What went wrong while loading descriptors by reflection.
#[derive(Debug, thiserror::Error)]
pub enum Reason {
    /// No connection, or a bad address or TLS setting.
    #[error("{0}")]
    Upstream(#[from] UpstreamError),
    /// The server answers neither reflection v1 nor v1alpha.
    #[error("it does not serve gRPC server reflection (v1 or v1alpha)")]
    Unsupported,
    /// The reflection call failed with a status.
    #[error("reflection answered {}: {}", .0.code(), .0.message())]
    Status(tonic::Status),
    /// The server refused one request of the call.
    #[error("reflection refused {request}: {message} (code {code})")]
    Refused {
        /// What was asked.
        request: String,
        /// The server's error code.
        code: i32,
        /// The server's message.
        message: String,
    },
    /// The server's answers do not fit the protocol.
    #[error("unexpected reflection answer: {0}")]
    Malformed(String),
    /// No runtime to ask on.
    #[error("cannot start a runtime: {0}")]
    Runtime(std::io::Error),
    /// No complete answer within the time allowed.
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
}

/// [`fetch_descriptors`] on a runtime of its own, for a caller outside one
/// (the command line, at start and on SIGHUP), as the route compiler's
/// input. The upstreams are asked in the order of their names (`specs` may
/// come from a map).
pub fn reflected_input(
    specs: &[RemoteSpec],
    call_timeout: Duration,
) -> Result<crate::compile::Input, ReflectionError> {
    let mut specs = specs.to_vec();
    specs.sort_by_key(ToString::to_string);
    specs.dedup();
    let upstream = (specs.iter().map(ToString::to_string))
        .collect::<Vec<_>>()
        .join(",");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ReflectionError {
            upstream: upstream.clone(),
            reason: Reason::Runtime(e),
        })?;
    let files = runtime.block_on(fetch_descriptors(&specs, call_timeout))?;
    Ok(crate::compile::Input::Reflected { upstream, files })
}

/// Loads the descriptors of every upstream in `specs` (an upstream given
/// twice is asked once), merged by file name (a name seen again is the
/// first one's), in the order received: the services' files in the order
/// the upstream lists them, so routes keep that order. Each upstream has its connect timeout plus its call timeout
/// (`call_timeout` when it sets none) to answer.
pub async fn fetch_descriptors(
    specs: &[RemoteSpec],
    call_timeout: Duration,
) -> Result<Vec<Vec<u8>>, ReflectionError> {
    let mut distinct: Vec<&RemoteSpec> = Vec::new();
    for spec in specs {
        if !distinct.contains(&spec) {
            distinct.push(spec);
        }
    }
    let mut merged = Files::default();
    for spec in distinct {
        let limit = spec.connect_timeout + spec.timeout.unwrap_or(call_timeout);
        let fetched = match tokio::time::timeout(limit, fetch_one(spec)).await {
            Ok(result) => result,
            Err(_) => Err(Reason::Timeout(limit)),
        };
        let files = fetched.map_err(|reason| ReflectionError {
            upstream: spec.to_string(),
            reason,
        })?;
        for (name, bytes) in files.in_order {
            if merged.names.insert(name.clone()) {
                merged.in_order.push((name, bytes));
            }
        }
    }
    Ok(merged
        .in_order
        .into_iter()
        .map(|(_, bytes)| bytes)
        .collect())
}

/// The files of one upstream, by name.
async fn fetch_one(spec: &RemoteSpec) -> Result<Files, Reason> {
    let upstream = Upstream::remote(spec)?;
    let (channel, origin) = upstream.channel().await?;
    let client = Client { channel, origin };
    let list = [MessageRequest::ListServices(String::new())];
    let (path, answers) = match client.round(V1, &list).await {
        Err(Reason::Status(status)) if status.code() == Code::Unimplemented => {
            match client.round(V1ALPHA, &list).await {
                Err(Reason::Status(s)) if s.code() == Code::Unimplemented => {
                    return Err(Reason::Unsupported)
                }
                other => (V1ALPHA, other?),
            }
        }
        other => (V1, other?),
    };
    let services = match answers.into_iter().next() {
        Some(MessageResponse::ListServicesResponse(list)) => list.service,
        _ => return Err(Reason::Malformed("no list of services".to_owned())),
    };
    let mut files = Files::default();
    let mut asks: Vec<MessageRequest> = services
        .into_iter()
        .map(|s| MessageRequest::FileContainingSymbol(s.name))
        .collect();
    for _ in 0..MAX_ROUNDS {
        if asks.is_empty() {
            return Ok(files);
        }
        let answers = client.round(path, &asks).await?;
        for answer in answers {
            match answer {
                MessageResponse::FileDescriptorResponse(found) => {
                    for bytes in found.file_descriptor_proto {
                        files.add(bytes)?;
                    }
                }
                _ => return Err(Reason::Malformed("expected files".to_owned())),
            }
        }
        let missing = files.missing();
        if let Some(name) = asks.iter().find_map(|ask| match ask {
            MessageRequest::FileByFilename(name) if missing.contains(name) => Some(name),
            _ => None,
        }) {
            return Err(Reason::Malformed(format!(
                "asked for {name}, got other files"
            )));
        }
        asks = missing
            .into_iter()
            .map(MessageRequest::FileByFilename)
            .collect();
    }
    Err(Reason::Malformed(format!(
        "imports still missing after {MAX_ROUNDS} rounds"
    )))
}

/// The files received so far, in order, and what they import.
#[derive(Default)]
struct Files {
    in_order: Vec<(String, Vec<u8>)>,
    names: BTreeSet<String>,
    imports: BTreeSet<String>,
}

impl Files {
    /// Adds one encoded `FileDescriptorProto` (the first of a name wins).
    fn add(&mut self, bytes: Vec<u8>) -> Result<(), Reason> {
        // Read for the name and imports only; the bytes are kept as sent.
        let file = prost_types::FileDescriptorProto::decode(bytes.as_slice())
            .map_err(|e| Reason::Malformed(format!("not a FileDescriptorProto: {e}")))?;
        let name = file.name.unwrap_or_default();
        if name.is_empty() {
            return Err(Reason::Malformed("a file without a name".to_owned()));
        }
        self.imports.extend(file.dependency);
        if self.names.insert(name.clone()) {
            self.in_order.push((name, bytes));
        }
        Ok(())
    }

    /// Imports not received yet.
    fn missing(&self) -> BTreeSet<String> {
        self.imports
            .iter()
            .filter(|name| !self.names.contains(*name))
            .cloned()
            .collect()
    }
}

/// A reflection client over one connection.
struct Client {
    channel: Channel,
    origin: http::Uri,
}

impl Client {
    /// Sends `asks` in one call of `path`; the answers, in order.
    async fn round(
        &self,
        path: &'static str,
        asks: &[MessageRequest],
    ) -> Result<Vec<MessageResponse>, Reason> {
        let mut grpc = tonic::client::Grpc::with_origin(self.channel.clone(), self.origin.clone())
            .max_decoding_message_size(64 * 1024 * 1024);
        grpc.ready()
            .await
            .map_err(|e| Reason::Upstream(UpstreamError::Unavailable(e.to_string())))?;
        let requests: Vec<ServerReflectionRequest> = asks
            .iter()
            .map(|ask| ServerReflectionRequest {
                host: String::new(),
                message_request: Some(ask.clone()),
            })
            .collect();
        let response = grpc
            .streaming(
                tonic::Request::new(futures_util::stream::iter(requests)),
                PathAndQuery::from_static(path),
                tonic_prost::ProstCodec::<ServerReflectionRequest, ServerReflectionResponse>::default(),
            )
            .await
            .map_err(Reason::Status)?;
        let mut stream = response.into_inner();
        let mut answers = Vec::with_capacity(asks.len());
        for ask in asks {
            let answer = stream
                .message()
                .await
                .map_err(Reason::Status)?
                .and_then(|r| r.message_response)
                .ok_or_else(|| Reason::Malformed(format!("no answer to {}", describe(ask))))?;
            if let MessageResponse::ErrorResponse(error) = answer {
                return Err(Reason::Refused {
                    request: describe(ask),
                    code: error.error_code,
                    message: error.error_message,
                });
            }
            answers.push(answer);
        }
        Ok(answers)
    }
}

/// A request, for messages.
fn describe(ask: &MessageRequest) -> String {
    match ask {
        MessageRequest::FileByFilename(name) => format!("file {name}"),
        MessageRequest::FileContainingSymbol(symbol) => format!("the file of {symbol}"),
        MessageRequest::ListServices(_) => "the list of services".to_owned(),
        MessageRequest::FileContainingExtension(_) => "an extension".to_owned(),
        MessageRequest::AllExtensionNumbersOfType(name) => format!("the extensions of {name}"),
    }
}
