//! The harness itself: the fixture service behaves as its proto says when
//! called directly over gRPC, so a failing gateway test points at the
//! gateway, not at the fixture.

mod support;

use std::time::Duration;

use prost::Message;
use restgate::pb::testing::v1::fixture_client::FixtureClient;
use restgate::pb::testing::v1::{
    CreateWidgetRequest, Detail, FailRequest, SleepRequest, Thing, Widget,
};
use support::{start_fixture, RpcStatus, WAIT};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request};

async fn connect(addr: std::net::SocketAddr) -> Channel {
    let endpoint = Endpoint::from_shared(format!("http://{addr}")).expect("endpoint");
    tokio::time::timeout(WAIT, endpoint.connect())
        .await
        .expect("connect in time")
        .expect("connect")
}

#[tokio::test]
async fn fixture_echoes_fails_and_counts() {
    let fixture = start_fixture().await;
    let mut client = FixtureClient::new(connect(fixture.addr).await);
    let thing = Thing {
        id: "x".into(),
        big: 7,
        ..Thing::default()
    };
    let echoed = client.echo(thing.clone()).await.expect("echo").into_inner();
    assert_eq!(echoed, thing);

    let status = client
        .fail(FailRequest {
            code: 5,
            message: "gone".into(),
            detail: "why".into(),
        })
        .await
        .expect_err("fail fails");
    assert_eq!(status.code(), Code::NotFound);
    assert_eq!(status.message(), "gone");
    let details = RpcStatus::decode(status.details()).expect("google.rpc.Status");
    assert_eq!(details.code, 5);
    assert_eq!(details.details.len(), 1);
    assert_eq!(
        details.details[0].type_url,
        "type.googleapis.com/testing.v1.Detail"
    );
    let detail = Detail::decode(&details.details[0].value[..]).expect("Detail");
    assert_eq!(detail.reason, "why");
    assert_eq!(detail.big, 5_000_000_000);

    let widget = client
        .create_widget(CreateWidgetRequest {
            shelf_id: "s1".into(),
            widget: Some(Widget::default()),
        })
        .await
        .expect("create")
        .into_inner();
    assert_eq!((&*widget.widget_id, &*widget.shelf_id), ("w1", "s1"));

    assert_eq!(fixture.calls("Echo"), 1);
    assert_eq!(fixture.calls("Fail"), 1);
    assert_eq!(fixture.total_calls(), 3);
}

#[tokio::test]
async fn fixture_metadata_has_header_and_trailer() {
    let fixture = start_fixture().await;
    let mut grpc = tonic::client::Grpc::new(connect(fixture.addr).await);
    grpc.ready().await.expect("ready");
    let mut request = Request::new(());
    request
        .metadata_mut()
        .insert("authorization", "Bearer t".parse().expect("ascii"));
    let codec = tonic_prost::ProstCodec::<(), Thing>::default();
    let path = PathAndQuery::from_static("/testing.v1.Fixture/Metadata");
    let response = grpc
        .server_streaming(request, path, codec)
        .await
        .expect("metadata");
    let header = response.metadata().get("x-header-echo").cloned();
    let mut stream = response.into_inner();
    let thing = stream.message().await.expect("message").expect("one");
    assert_eq!(stream.message().await.expect("end"), None);
    let trailers = stream.trailers().await.expect("trailers").expect("some");

    assert_eq!(
        header.as_ref().and_then(|v| v.to_str().ok()),
        Some("header")
    );
    assert!(trailers.get("x-header-echo").is_none());
    let trailer = trailers.get("x-trailer-echo").and_then(|v| v.to_str().ok());
    assert_eq!(trailer, Some("trailer"));
    assert_eq!(
        thing.labels.get("authorization").map(String::as_str),
        Some("Bearer t")
    );
    assert_eq!(fixture.calls("Metadata"), 1);
}

#[tokio::test]
async fn fixture_records_cancelled_sleep() {
    let fixture = start_fixture().await;
    let mut client = FixtureClient::new(connect(fixture.addr).await);
    let call = client.sleep(SleepRequest { millis: 10_000 });
    let outcome = tokio::time::timeout(Duration::from_millis(200), call).await;
    assert!(outcome.is_err(), "the sleep was cut short");
    assert!(fixture.wait_cancelled(1).await, "cancellation recorded");
    assert_eq!(fixture.cancelled(), 1);
}
