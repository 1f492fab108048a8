//! Raw bodies (SPEC §3): `google.api.HttpBody` request and response fields
//! carry bodies of any content type, both ways, byte for byte, with their
//! content type. The `Media` service of `proto/testing/v1/media.proto`
//! keeps uploaded files in memory on a loopback port behind the real
//! gateway.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use restgate::pb::google::api::HttpBody;
use restgate::pb::testing::v1::media_server::{Media, MediaServer};
use restgate::pb::testing::v1::{Description, DownloadRequest, UploadReply, UploadRequest};
use support::{send, Gateway, WAIT};
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status};

/// The files, by name, and how many calls the service answered.
#[derive(Default, Clone)]
struct Files {
    files: Arc<Mutex<HashMap<String, HttpBody>>>,
    calls: Arc<Mutex<usize>>,
}

impl Files {
    fn called(&self) {
        *self.calls.lock().unwrap_or_else(PoisonError::into_inner) += 1;
    }

    fn calls(&self) -> usize {
        *self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn get(&self, name: &str) -> Result<HttpBody, Status> {
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
            .ok_or_else(|| Status::not_found(format!("file {name} not found")))
    }
}

#[tonic::async_trait]
impl Media for Files {
    async fn upload(
        &self,
        request: Request<UploadRequest>,
    ) -> Result<Response<UploadReply>, Status> {
        self.called();
        let request = request.into_inner();
        let file = request.file.unwrap_or_default();
        let reply = UploadReply {
            name: request.name.clone(),
            content_type: file.content_type.clone(),
            size: file.data.len() as i64,
        };
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(request.name, file);
        Ok(Response::new(reply))
    }

    async fn download(
        &self,
        request: Request<DownloadRequest>,
    ) -> Result<Response<HttpBody>, Status> {
        self.called();
        self.get(&request.into_inner().name).map(Response::new)
    }

    async fn describe(
        &self,
        request: Request<DownloadRequest>,
    ) -> Result<Response<Description>, Status> {
        self.called();
        let name = request.into_inner().name;
        let file = self.get(&name)?;
        Ok(Response::new(Description {
            name,
            file: Some(file),
        }))
    }

    async fn mirror(&self, request: Request<HttpBody>) -> Result<Response<HttpBody>, Status> {
        self.called();
        Ok(Response::new(request.into_inner()))
    }
}

/// The media service on 127.0.0.1:0 and the gateway in front of it.
async fn start() -> (Files, Gateway) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind media");
    let addr = listener.local_addr().expect("media address");
    let files = Files::default();
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(MediaServer::new(files.clone()))
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    let upstream = format!("http://{addr}");
    let gateway = Gateway::start(&[
        "--proto",
        "proto/testing/v1/media.proto",
        "--upstream",
        &upstream,
        "--max-body-bytes",
        "4096",
    ])
    .await;
    (files, gateway)
}

/// Every byte value, and bytes that are not UTF-8: a stand-in for an image.
fn binary() -> Vec<u8> {
    let mut data = b"\x89PNG\r\n\x1a\n".to_vec();
    data.extend((0..=255u8).rev());
    data.extend([0xff, 0xfe, 0x00, 0xc3, 0x28]);
    data
}

/// GETs `path` and returns status, content type and the body's bytes.
async fn download(gateway: &Gateway, path: &str) -> (u16, String, Vec<u8>) {
    let exchange = async {
        let response = gateway.client.get(gateway.url(path)).send().await?;
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = response.bytes().await?.to_vec();
        Ok::<_, reqwest::Error>((status, content_type, body))
    };
    tokio::time::timeout(WAIT, exchange)
        .await
        .expect("download within the wait")
        .expect("download")
}

#[tokio::test]
async fn binary_upload_and_download_keep_bytes_and_content_type() {
    let (files, gw) = start().await;
    let data = binary();
    let reply = send(
        gw.request(reqwest::Method::PUT, "/v1/media/logo")
            .header("content-type", "image/png")
            .body(data.clone()),
    )
    .await;
    let body = reply.assert_json(200);
    assert_eq!(body["name"], "logo");
    assert_eq!(body["contentType"], "image/png");
    assert_eq!(body["size"], data.len().to_string());

    let (status, content_type, bytes) = download(&gw, "/v1/media/logo").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "image/png");
    assert_eq!(bytes, data);

    // The same file through a response_body field of the reply.
    let (status, content_type, bytes) = download(&gw, "/v1/media/logo:describe").await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "image/png");
    assert_eq!(bytes, data);
    assert_eq!(files.calls(), 3);
}

#[tokio::test]
async fn whole_request_body_round_trips_with_its_parameters() {
    let (files, gw) = start().await;
    let csv = "id,name\n1,Ada\n2,Grace\n";
    let response = tokio::time::timeout(
        WAIT,
        gw.client
            .post(gw.url("/v1/media:mirror"))
            .header("content-type", "text/csv; charset=utf-8")
            .body(csv)
            .send(),
    )
    .await
    .expect("within the wait")
    .expect("mirror");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let bytes = tokio::time::timeout(WAIT, response.bytes())
        .await
        .expect("within the wait")
        .expect("body");
    assert_eq!(bytes.as_ref(), csv.as_bytes());
    assert_eq!(files.calls(), 1);
}

#[tokio::test]
async fn a_reply_without_content_type_is_octet_stream() {
    let (files, gw) = start().await;
    // No Content-Type on the way in: the service stores none.
    let reply = send(
        gw.request(reqwest::Method::PUT, "/v1/media/blob")
            .body(vec![1u8, 2, 3]),
    )
    .await;
    assert_eq!(reply.assert_json(200)["size"], "3");
    let (status, content_type, bytes) = download(&gw, "/v1/media/blob").await;
    assert_eq!(
        (status, content_type.as_str()),
        (200, "application/octet-stream")
    );
    assert_eq!(bytes, [1, 2, 3]);
    assert_eq!(files.calls(), 2);
}

#[tokio::test]
async fn raw_bodies_keep_the_size_limit_and_errors_stay_json() {
    let (files, gw) = start().await;
    let reply = send(
        gw.request(reqwest::Method::PUT, "/v1/media/big")
            .header("content-type", "application/pdf")
            .body(vec![7u8; 5000]),
    )
    .await;
    reply.assert_error(413, 8);
    // A missing file: the error is JSON even on a raw route.
    let reply = gw.get("/v1/media/nothing").await;
    reply.assert_error(404, 5);
    assert_eq!(
        files.calls(),
        1,
        "the oversized upload never reached the service"
    );
}

#[tokio::test]
async fn the_example_keeps_a_users_avatar_as_uploaded() {
    let example = support::start_example().await;
    let gw = Gateway::example(example).await;
    let user = gw
        .post("/v1/users", &serde_json::json!({"displayName": "Ada"}))
        .await
        .assert_json(201);
    let id = user["userId"].as_str().expect("userId").to_owned();
    let avatar = format!("/v1/users/{id}/avatar");
    let image = binary();
    let reply = send(
        gw.request(reqwest::Method::PUT, &avatar)
            .header("content-type", "image/png")
            .body(image.clone()),
    )
    .await;
    let info = reply.assert_json(200);
    assert_eq!(info["contentType"], "image/png");
    assert_eq!(info["size"], image.len().to_string());
    assert_eq!(
        download(&gw, &avatar).await,
        (200, "image/png".to_owned(), image)
    );
    // No user, no avatar: a JSON error.
    let reply = send(
        gw.request(reqwest::Method::PUT, "/v1/users/404/avatar")
            .header("content-type", "image/png")
            .body(vec![1u8]),
    )
    .await;
    reply.assert_error(404, 5);
}
