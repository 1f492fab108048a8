//! The testee side of protobuf's conformance protocol: requests on stdin,
//! answers on stdout, each framed as a 4-byte little-endian length and a
//! protobuf message (`conformance.ConformanceRequest` in,
//! `conformance.ConformanceResponse` out).
//!
//! Answers JSON requests for `protobuf_test_messages.proto3.TestAllTypesProto3`
//! (JSON in → protobuf or JSON out, protobuf in → JSON out) through
//! `restgate::transcode::plan`, the compiled transcoder (JSON bytes ↔ wire
//! bytes, no message in between: JSON → JSON goes through the wire), with
//! the gateway's options: unknown fields refused, except in the suite's
//! ignore-unknown category (`--ignore-unknown-fields`). Anything else (binary
//! alone, proto2, editions, text format, JSPB) is answered `skipped`.

use std::io::{self, Read, Write};
use std::path::Path;

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor, Value};
use restgate::transcode::{JsonOptions, PlanCache};

/// The message type whose JSON mapping is tested.
const TEST_MESSAGE: &str = "protobuf_test_messages.proto3.TestAllTypesProto3";
/// `conformance.WireFormat`.
const PROTOBUF: i32 = 1;
const JSON: i32 = 2;
/// `conformance.TestCategory.JSON_IGNORE_UNKNOWN_PARSING_TEST`.
const JSON_IGNORE_UNKNOWN: i32 = 3;

/// Compiles the suite's protos from the runner's `include` directory.
pub(crate) fn pool(include: &Path) -> Result<DescriptorPool, String> {
    let files = [
        "conformance/conformance.proto",
        "google/protobuf/test_messages_proto3.proto",
    ];
    protox::Compiler::new([include])
        .and_then(|mut compiler| {
            compiler.include_imports(true).open_files(files)?;
            Ok(compiler.descriptor_pool())
        })
        .map_err(|e| {
            format!(
                "compiling the conformance protos in {}: {e}",
                include.display()
            )
        })
}

/// Serves requests until the runner closes stdin.
pub(crate) fn serve(pool: &DescriptorPool) -> io::Result<()> {
    let plans = PlanCache::new();
    let request_desc = message(pool, "conformance.ConformanceRequest")?;
    let response_desc = message(pool, "conformance.ConformanceResponse")?;
    let mut stdin = io::stdin().lock();
    let mut stdout = io::stdout().lock();
    loop {
        let mut len = [0u8; 4];
        match stdin.read_exact(&mut len) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            other => other?,
        }
        let mut frame = vec![0; u32::from_le_bytes(len) as usize];
        stdin.read_exact(&mut frame)?;
        let request = DynamicMessage::decode(request_desc.clone(), frame.as_slice())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        let (field, value) = answer(pool, &plans, &request);
        let mut response = DynamicMessage::new(response_desc.clone());
        response.set_field_by_name(field, value);
        let bytes = response.encode_to_vec();
        stdout.write_all(&(bytes.len() as u32).to_le_bytes())?;
        stdout.write_all(&bytes)?;
        stdout.flush()?;
    }
}

fn message(pool: &DescriptorPool, name: &str) -> io::Result<MessageDescriptor> {
    pool.get_message_by_name(name)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, name.to_owned()))
}

/// The `ConformanceResponse.result` to send: its field name and value.
fn answer(
    pool: &DescriptorPool,
    plans: &PlanCache,
    request: &DynamicMessage,
) -> (&'static str, Value) {
    let text = |name: &str| {
        request
            .get_field_by_name(name)
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    };
    let number = |name: &str| {
        request
            .get_field_by_name(name)
            .and_then(|v| v.as_enum_number())
            .unwrap_or_default()
    };
    let skipped = |why: &str| ("skipped", Value::String(why.to_owned()));

    let message_type = text("message_type");
    if message_type == "conformance.FailureSet" {
        // The runner asks first for the failures the testee expects: none
        // here, the list is given with --failure_list.
        return ("protobuf_payload", Value::Bytes(Vec::new().into()));
    }
    if message_type != TEST_MESSAGE {
        return skipped("only proto3 JSON is tested");
    }
    let Some(desc) = pool.get_message_by_name(&message_type) else {
        return (
            "runtime_error",
            Value::String(format!("{message_type} not found")),
        );
    };
    let output = number("requested_output_format");
    let options = JsonOptions {
        deny_unknown_fields: number("test_category") != JSON_IGNORE_UNKNOWN,
        ..JsonOptions::default()
    };

    let plan = plans.plan(&desc);
    let json_in = request.has_field_by_name("json_payload");
    let binary_in = request.has_field_by_name("protobuf_payload");
    let wire = match (json_in, binary_in, output) {
        (true, _, PROTOBUF | JSON) => {
            let mut wire = Vec::new();
            match plan.json_to_wire(text("json_payload").as_bytes(), &options, &mut wire) {
                Ok(()) => wire,
                Err(error) => return ("parse_error", Value::String(error.to_string())),
            }
        }
        (false, true, JSON) => request
            .get_field_by_name("protobuf_payload")
            .and_then(|v| v.as_bytes().map(|b| b.to_vec()))
            .unwrap_or_default(),
        _ => return skipped("not a JSON test"),
    };
    if output == PROTOBUF {
        return ("protobuf_payload", Value::Bytes(wire.into()));
    }
    let mut json = Vec::new();
    match plan
        .wire_to_json(&wire, &options, &mut json)
        .map(|()| String::from_utf8(json))
    {
        Ok(Ok(json)) => ("json_payload", Value::String(json)),
        Ok(Err(error)) => ("serialize_error", Value::String(error.to_string())),
        Err(error) => ("serialize_error", Value::String(error.to_string())),
    }
}
