//! Google's system parameters in the query string
//! (<https://cloud.google.com/apis/docs/system-parameters>): `$alt`,
//! `$fields`, `key`, `prettyPrint`… Google's REST clients send some on every
//! call (`$alt=json;enum-encoding=int`), so they are never an "unknown query
//! parameter" and never fill the request message.
//!
//! Which names are system parameters: a `$` name always is (no field can be
//! named so); a bare name (`alt`, `fields`, `key`) only when it names no
//! field of the request message, so a proto with a `fields` or `key` field
//! keeps it as it does behind grpc-gateway. In: the route and the raw query
//! string. Out: [`SystemParams`] for the reply, or a 400 for a value the
//! gateway cannot honour (`alt=proto`, `callback=…`). The query mapper asks
//! [`is_system`] to skip them.

use prost_reflect::MessageDescriptor;

use super::{JsonOptions, TranscodeError};
use crate::compile::Route;

/// The reply format `$alt` asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Alt {
    /// JSON (the default), NDJSON for a stream.
    #[default]
    Json,
    /// The raw bytes of a `google.api.HttpBody` reply (what those routes
    /// answer anyway).
    Media,
    /// Server-Sent Events, on a server-streaming route (as
    /// `Accept: text/event-stream`).
    Sse,
}

/// What one request's system parameters ask of its reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SystemParams {
    /// The `$alt` format.
    pub alt: Alt,
    /// `enum-encoding=int` in `$alt`: enums written as numbers.
    pub enum_numbers: bool,
}

impl SystemParams {
    /// The options the reply is written with: `base` (the gateway's), with
    /// enums as numbers when this request asked for them.
    pub fn reply_options(&self, base: &JsonOptions) -> JsonOptions {
        JsonOptions {
            enum_numbers: base.enum_numbers || self.enum_numbers,
            ..*base
        }
    }
}

/// What the gateway does with one system parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Treatment {
    /// `$alt`: the reply format, honoured or refused.
    Alt,
    /// Informational to the gateway (API keys, quota users, the error
    /// format), or an optimisation whose absence still gives a correct reply
    /// (partial responses, pretty printing): accepted and dropped.
    Ignored,
    /// Asks for something the gateway does not do; the 400 says why.
    Refused(&'static str),
}

/// The system parameters, by name without `$`.
const PARAMETERS: &[(&str, Treatment)] = &[
    ("alt", Treatment::Alt),
    // Partial response: the whole reply holds every field asked for.
    ("fields", Treatment::Ignored),
    ("prettyPrint", Treatment::Ignored),
    ("key", Treatment::Ignored),
    ("quotaUser", Treatment::Ignored),
    ("userIp", Treatment::Ignored),
    ("userProject", Treatment::Ignored),
    ("requestReason", Treatment::Ignored),
    (".xgafv", Treatment::Ignored),
    (
        "callback",
        Treatment::Refused("JSONP replies are not supported"),
    ),
    (
        "access_token",
        Treatment::Refused("credentials are not read from the query string; send Authorization"),
    ),
    (
        "oauth_token",
        Treatment::Refused("credentials are not read from the query string; send Authorization"),
    ),
];

/// The treatment of query parameter `key` when it is a system parameter of
/// a request of type `input`.
fn lookup(input: &MessageDescriptor, key: &str) -> Option<Treatment> {
    let (name, dollar) = match key.strip_prefix('$') {
        Some(name) => (name, true),
        None => (key, false),
    };
    let (_, treatment) = PARAMETERS.iter().find(|(n, _)| *n == name)?;
    let names_a_field =
        input.get_field_by_name(key).is_some() || input.get_field_by_json_name(key).is_some();
    (dollar || !names_a_field).then_some(*treatment)
}

/// Whether query parameter `key` is a system parameter for `input`, and so
/// fills no field.
pub(super) fn is_system(input: &MessageDescriptor, key: &str) -> bool {
    lookup(input, key).is_some()
}

/// Reads the system parameters of `query` for `route`. A value the gateway
/// cannot honour is a 400 naming the parameter. When one is repeated, the
/// last counts.
pub fn system_params(route: &Route, query: Option<&str>) -> Result<SystemParams, TranscodeError> {
    let mut params = SystemParams::default();
    let Some(query) = query else {
        return Ok(params);
    };
    let input = route.rpc.input();
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        let refuse = |reason: &str| TranscodeError::SystemParameter {
            name: key.to_string(),
            value: value.to_string(),
            reason: reason.to_owned(),
        };
        match lookup(&input, &key) {
            None | Some(Treatment::Ignored) => {}
            Some(Treatment::Refused(reason)) => return Err(refuse(reason)),
            Some(Treatment::Alt) => params = alt(route, &value).map_err(|r| refuse(&r))?,
        }
    }
    Ok(params)
}

/// Parses an `$alt` value: a format, then `;name=value` options
/// (`json;enum-encoding=int`). `Err` holds why it cannot be honoured.
fn alt(route: &Route, value: &str) -> Result<SystemParams, String> {
    let mut parts = value.split(';');
    let format = parts.next().unwrap_or_default();
    let alt = match format {
        "json" => Alt::Json,
        "media" if route.raw_reply() => Alt::Media,
        "media" => return Err("this method answers JSON, not raw media".to_owned()),
        "sse" if route.rpc.is_server_streaming() => Alt::Sse,
        "sse" => return Err("Server-Sent Events are for server-streaming methods".to_owned()),
        "proto" => return Err("binary protobuf replies are not supported; use json".to_owned()),
        _ => return Err("expected json, media or sse".to_owned()),
    };
    let mut params = SystemParams {
        alt,
        enum_numbers: false,
    };
    for option in parts {
        match option {
            "enum-encoding=int" => params.enum_numbers = true,
            _ => {
                return Err(format!(
                    "unknown option {option:?}; expected enum-encoding=int"
                ))
            }
        }
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(method: &str, template: &str) -> Route {
        crate::compile::bundled_route(method, template)
    }

    #[test]
    fn alt_json_with_int_enums() {
        let get = route("GET", "/v1/users/{user_id}");
        let cases = [
            (None, SystemParams::default()),
            (Some("alt=json"), SystemParams::default()),
            (
                Some("%24alt=json%3Benum-encoding%3Dint"),
                SystemParams {
                    alt: Alt::Json,
                    enum_numbers: true,
                },
            ),
            (
                Some("$alt=json;enum-encoding=int"),
                SystemParams {
                    alt: Alt::Json,
                    enum_numbers: true,
                },
            ),
            // The last one counts.
            (
                Some("$alt=json;enum-encoding=int&alt=json"),
                SystemParams::default(),
            ),
            (
                Some("key=k&quotaUser=u&prettyPrint=false&fields=a,b&$.xgafv=2"),
                SystemParams::default(),
            ),
        ];
        for (query, expected) in cases {
            assert_eq!(system_params(&get, query), Ok(expected), "{query:?}");
        }
    }

    #[test]
    fn values_that_cannot_be_honoured_are_refused() {
        let get = route("GET", "/v1/users/{user_id}");
        let cases = [
            ("alt=proto", "alt", "binary protobuf"),
            ("%24alt=media", "$alt", "raw media"),
            ("alt=sse", "alt", "server-streaming"),
            ("alt=xml", "alt", "expected json"),
            ("alt=json;enum-encoding=string", "alt", "unknown option"),
            ("callback=f", "callback", "JSONP"),
            ("$callback=f", "$callback", "JSONP"),
            ("access_token=t", "access_token", "Authorization"),
        ];
        for (query, name, reason) in cases {
            match system_params(&get, Some(query)) {
                Err(TranscodeError::SystemParameter {
                    name: n, reason: r, ..
                }) => {
                    assert_eq!(n, name, "{query}");
                    assert!(r.contains(reason), "{query}: {r}");
                }
                other => panic!("{query}: {other:?}"),
            }
        }
    }

    #[test]
    fn media_and_sse_where_the_route_answers_them() {
        let avatar = route("GET", "/v1/users/{user_id}/avatar");
        assert_eq!(
            system_params(&avatar, Some("alt=media")).map(|p| p.alt),
            Ok(Alt::Media)
        );
        let stream = route("GET", "/v1/users:stream");
        assert_eq!(
            system_params(&stream, Some("$alt=sse;enum-encoding=int")),
            Ok(SystemParams {
                alt: Alt::Sse,
                enum_numbers: true
            })
        );
    }

    #[test]
    fn dollar_names_are_always_system_parameters() {
        // A request with a field named like a system parameter: see the
        // mapper's tests (`request.rs`).
        let input = route("GET", "/v1/users/{user_id}").rpc.input();
        assert!(is_system(&input, "key"));
        assert!(is_system(&input, "$key"));
        assert!(!is_system(&input, "user_id"));
        assert!(!is_system(&input, "$user_id"));
    }

    #[test]
    fn reply_options_add_enum_numbers() {
        let base = JsonOptions::default();
        let asked = SystemParams {
            alt: Alt::Json,
            enum_numbers: true,
        };
        assert!(asked.reply_options(&base).enum_numbers);
        assert!(!SystemParams::default().reply_options(&base).enum_numbers);
        assert_eq!(
            asked.reply_options(&base).proto_field_names,
            base.proto_field_names
        );
    }
}
