//! A unary call over the network, framed and read without tonic's generic
//! client, against the real fixture service (tonic, 127.0.0.1): the
//! request's wire bytes sent as they are and the reply's kept as they came;
//! a reply spanning many DATA frames and the stream's flow-control window;
//! the reply size limit; tonic's trailers-only errors with a
//! percent-encoded `grpc-message` and `grpc-status-details-bin`; header
//! metadata and trailers kept apart; and answers that are not gRPC, served
//! by the same HTTP/2 server, mapped as the gRPC spec maps HTTP statuses.

mod support;

use std::time::Duration;

use axum::response::IntoResponse as _;
use bytes::Bytes;
use prost::Message as _;
use prost_reflect::{DescriptorPool, MessageDescriptor};
use restgate::pb::testing::v1::{FailRequest, SearchThingsReply, SearchThingsRequest, Thing};
use restgate::upstream::{
    self, Call, Reply, ReplyMessage, RequestMessage, RetryPolicy, Upstream, UpstreamError,
};
use support::{start_fixture, start_fixture_with, FixtureHandle, RpcStatus};
use tonic::metadata::MetadataMap;
use tonic::Code;

/// A message of the fixture's proto, compiled as the gateway compiles it.
fn descriptor(name: &str) -> MessageDescriptor {
    static POOL: std::sync::OnceLock<DescriptorPool> = std::sync::OnceLock::new();
    let pool = POOL.get_or_init(|| {
        let proto = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("proto");
        let mut compiler = protox::Compiler::new([proto]).expect("the proto folder");
        compiler
            .include_imports(true)
            .open_file("testing/v1/fixture.proto")
            .expect("the fixture compiles");
        compiler.descriptor_pool()
    });
    pool.get_message_by_name(name)
        .unwrap_or_else(|| panic!("{name} in the fixture's proto"))
}

fn upstream(fixture: &FixtureHandle) -> Upstream {
    let uri = format!("http://{}", fixture.addr).parse().expect("URI");
    Upstream::new(&uri).expect("upstream")
}

/// Calls `method` of the fixture with `request`'s encoding, keeping the
/// reply's encoding (the compiled transcoder's call).
async fn call(
    upstream: &Upstream,
    method: &str,
    request: Vec<u8>,
    reply: &str,
) -> Result<Reply<ReplyMessage>, UpstreamError> {
    let call = Call {
        path: format!("/testing.v1.Fixture/{method}")
            .parse()
            .expect("path"),
        request: RequestMessage::Wire(Bytes::from(request)),
        metadata: MetadataMap::new(),
        reply: descriptor(reply),
        timeout: Duration::from_secs(20),
    };
    upstream::call_with(upstream, call, true, false, &RetryPolicy::default()).await
}

fn wire(reply: &Reply<ReplyMessage>) -> &Bytes {
    match &reply.message {
        ReplyMessage::Wire(wire) => wire,
        ReplyMessage::Decoded(message) => panic!("asked for the wire bytes, got {message:?}"),
    }
}

fn status(error: UpstreamError) -> tonic::Status {
    match error {
        UpstreamError::Status(status) => status,
        other => panic!("expected the service's status, got {other:?}"),
    }
}

#[tokio::test]
async fn a_reply_over_many_frames_comes_whole_and_unchanged() {
    let fixture = start_fixture().await;
    let upstream = upstream(&fixture);
    // 100 KB: seven 16 KiB DATA frames.
    let thing = Thing {
        id: "big".to_owned(),
        note: Some("n".repeat(100_000)),
        tags: vec!["a".to_owned(), "b".to_owned()],
        ..Thing::default()
    };
    let reply = call(&upstream, "Echo", thing.encode_to_vec(), "testing.v1.Thing")
        .await
        .expect("echoed");
    assert_eq!(wire(&reply).as_ref(), thing.encode_to_vec().as_slice());
    assert_eq!(fixture.last_echo().as_ref(), Some(&thing), "sent as it was");

    // 3 MB: past the call's 2 MiB flow-control window, under the 4 MiB limit.
    let search = SearchThingsRequest {
        query: "q".repeat(300_000),
        page_size: 10,
    };
    let reply = call(
        &upstream,
        "SearchThings",
        search.encode_to_vec(),
        "testing.v1.SearchThingsReply",
    )
    .await
    .expect("found");
    let expected = SearchThingsReply {
        things: vec![
            Thing {
                id: search.query.clone(),
                ..Thing::default()
            };
            10
        ],
    };
    assert_eq!(wire(&reply).as_ref(), expected.encode_to_vec().as_slice());
}

#[tokio::test]
async fn a_reply_over_the_size_limit_is_refused() {
    let fixture = start_fixture().await;
    let upstream = upstream(&fixture);
    // A 500 KB request, a 5 MB reply.
    let search = SearchThingsRequest {
        query: "q".repeat(500_000),
        page_size: 10,
    };
    let error = call(
        &upstream,
        "SearchThings",
        search.encode_to_vec(),
        "testing.v1.SearchThingsReply",
    )
    .await
    .expect_err("over 4 MiB");
    let status = status(error);
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(
        status.message().contains("over the limit of 4194304"),
        "{status:?}"
    );
    assert_eq!(fixture.calls("SearchThings"), 1);
    // The connection still serves.
    let thing = Thing {
        id: "after".to_owned(),
        ..Thing::default()
    };
    let reply = call(&upstream, "Echo", thing.encode_to_vec(), "testing.v1.Thing")
        .await
        .expect("echoed");
    assert_eq!(wire(&reply).as_ref(), thing.encode_to_vec().as_slice());
}

#[tokio::test]
async fn trailers_only_errors_keep_message_and_details() {
    let fixture = start_fixture().await;
    let upstream = upstream(&fixture);
    // tonic percent-encodes what is not printable ASCII, and `%` itself.
    let message = "no user «7»: 100% gone\nsee https://example.com/?a=b";
    let fail = FailRequest {
        code: Code::NotFound as i32,
        message: message.to_owned(),
        detail: "deleted".to_owned(),
    };
    let error = call(&upstream, "Fail", fail.encode_to_vec(), "testing.v1.Thing")
        .await
        .expect_err("fails");
    let found = status(error);
    assert_eq!(found.code(), Code::NotFound);
    assert_eq!(found.message(), message);
    let details = RpcStatus::decode(found.details()).expect("a google.rpc.Status");
    assert_eq!(details.code, Code::NotFound as i32);
    assert_eq!(details.message, message);
    assert_eq!(
        details.details[0].type_url,
        "type.googleapis.com/testing.v1.Detail"
    );
    for name in ["grpc-status", "grpc-message", "grpc-status-details-bin"] {
        assert!(found.metadata().get(name).is_none(), "{name} left in");
    }

    let plain = FailRequest {
        code: Code::PermissionDenied as i32,
        message: "nope".to_owned(),
        detail: String::new(),
    };
    let denied = status(
        call(&upstream, "Fail", plain.encode_to_vec(), "testing.v1.Thing")
            .await
            .expect_err("fails"),
    );
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert_eq!(denied.message(), "nope");
    assert!(denied.details().is_empty());
}

#[tokio::test]
async fn header_metadata_and_trailers_stay_apart() {
    let fixture = start_fixture().await;
    let upstream = upstream(&fixture);
    let reply = call(&upstream, "Metadata", Vec::new(), "testing.v1.Thing")
        .await
        .expect("answered");
    assert_eq!(reply.headers["x-header-echo"], "header");
    assert!(reply.headers.get("x-trailer-echo").is_none());
    assert_eq!(reply.trailers["x-trailer-echo"], "trailer");
    assert!(reply.trailers.get("x-header-echo").is_none());
    // The request carried the call's deadline.
    let thing = Thing::decode(wire(&reply).as_ref()).expect("a Thing");
    let timeout = thing.labels.get("grpc-timeout").expect("grpc-timeout sent");
    let timeout = upstream::grpc_timeout(&timeout.parse().expect("a header value"));
    assert!(
        timeout.is_some_and(|t| t <= Duration::from_secs(20) && t > Duration::from_secs(1)),
        "{timeout:?}"
    );
}

#[tokio::test]
async fn answers_that_are_not_grpc_map_by_their_http_status() {
    let html = || async {
        (
            http::StatusCode::SERVICE_UNAVAILABLE,
            [(http::header::CONTENT_TYPE, "text/html")],
            "<html>down for maintenance</html>",
        )
            .into_response()
    };
    let text = || async { "just text".into_response() };
    let missing = || async { http::StatusCode::NOT_FOUND.into_response() };
    let routes = axum::Router::new()
        .route("/testing.v1.Plain/Html", axum::routing::post(html))
        .route("/testing.v1.Plain/Text", axum::routing::post(text))
        .route("/testing.v1.Plain/Missing", axum::routing::post(missing));
    let fixture = start_fixture_with(tonic::service::Routes::from(routes)).await;
    let upstream = upstream(&fixture);
    let plain = |method: &'static str| {
        let upstream = &upstream;
        async move {
            let call = Call {
                path: format!("/testing.v1.Plain/{method}").parse().expect("path"),
                request: RequestMessage::Wire(Bytes::new()),
                metadata: MetadataMap::new(),
                reply: descriptor("testing.v1.Thing"),
                timeout: Duration::from_secs(20),
            };
            let error = upstream::call_with(upstream, call, true, false, &RetryPolicy::default())
                .await
                .expect_err("not gRPC");
            status(error)
        }
    };
    let down = plain("Html").await;
    assert_eq!(down.code(), Code::Unavailable, "{down:?}");
    assert!(
        down.message().contains("HTTP 503") && down.message().contains("text/html"),
        "{down:?}"
    );
    let text = plain("Text").await;
    assert_eq!(text.code(), Code::Unknown, "{text:?}");
    assert!(text.message().contains("not gRPC"), "{text:?}");
    assert_eq!(plain("Missing").await.code(), Code::Unimplemented);
    // The fixture's own methods answer on the same connection.
    let thing = Thing {
        id: "still".to_owned(),
        ..Thing::default()
    };
    let reply = call(&upstream, "Echo", thing.encode_to_vec(), "testing.v1.Thing")
        .await
        .expect("echoed");
    assert_eq!(wire(&reply).as_ref(), thing.encode_to_vec().as_slice());
}
