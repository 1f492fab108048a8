//! Where descriptors come from: `.proto` files compiled in process with protox
//! (no `protoc`), encoded descriptor sets, files an upstream served by gRPC
//! server reflection (fetched by the caller: no network here), or the
//! bundled example.
//!
//! The result, [`Descriptors`], keeps the reflection pool (never a
//! `prost_types::FileDescriptorSet`, which would drop extension options) and,
//! for each file, the name the user knows it by and its text, so findings can
//! be reported as `path/to/file.proto:LINE:COL`.
//!
//! `google/api/annotations.proto`, `google/api/http.proto`,
//! `google/api/httpbody.proto`, `google/api/field_behavior.proto`,
//! `restgate/annotations.proto` and
//! `google/protobuf/*.proto` are built in: every proto may import them with no
//! `-I`. A user's own copy on an include path wins.

mod protos;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use prost_reflect::{DescriptorPool, FileDescriptor};

use self::protos::compile_protos;
use super::diagnostic::{Diagnostic, Position};

/// The proto files restgate ships, served to every compilation.
const BUILTIN_FILES: &[(&str, &str)] = &[
    (
        "google/api/annotations.proto",
        include_str!("../../proto/google/api/annotations.proto"),
    ),
    (
        "google/api/http.proto",
        include_str!("../../proto/google/api/http.proto"),
    ),
    (
        "google/api/httpbody.proto",
        include_str!("../../proto/google/api/httpbody.proto"),
    ),
    (
        "google/api/field_behavior.proto",
        include_str!("../../proto/google/api/field_behavior.proto"),
    ),
    (
        "restgate/annotations.proto",
        include_str!("../../proto/restgate/annotations.proto"),
    ),
];

/// Whether `name` is one of the files restgate or protobuf itself provides;
/// their services (if any) are never routed.
pub(crate) fn is_builtin(name: &str) -> bool {
    name.starts_with("google/protobuf/")
        || name == "grpc/health/v1/health.proto"
        || name.starts_with("grpc/reflection/")
        || BUILTIN_FILES.iter().any(|(n, _)| *n == name)
}

/// What to load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// The bundled example protos, compiled into the binary.
    Bundled,
    /// `.proto` files, with include directories. With no includes, each
    /// file's own directory is its include path.
    Protos {
        /// The files to compile.
        files: Vec<PathBuf>,
        /// `-I` directories, searched in order.
        includes: Vec<PathBuf>,
    },
    /// Encoded `FileDescriptorSet`s, as `protoc --include_imports
    /// --descriptor_set_out` or `buf build -o` write them.
    DescriptorSets(Vec<PathBuf>),
    /// Encoded `FileDescriptorProto`s as an upstream's gRPC server
    /// reflection sent them (see `upstream::fetch_descriptors`), imports
    /// included, in any order.
    Reflected {
        /// Where they came from (the upstreams, comma-separated), for
        /// messages.
        upstream: String,
        /// The files, each encoded as sent.
        files: Vec<Vec<u8>>,
    },
}

/// What diagnostics know about one file.
#[derive(Debug, Clone, Default)]
struct SourceFile {
    /// The path on disk as the user gave it, if the file came from disk.
    path: Option<PathBuf>,
    /// The file's text, when compiled from source.
    text: Option<Arc<str>>,
}

/// A loaded descriptor pool plus what is needed to point into its files.
#[derive(Debug, Clone)]
pub struct Descriptors {
    pool: DescriptorPool,
    files: HashMap<String, SourceFile>,
}

impl Descriptors {
    /// Loads `input`. Every file that fails is reported, not just the first.
    pub fn load(input: &Input) -> Result<Descriptors, Vec<Diagnostic>> {
        match input {
            Input::Bundled => Ok(Descriptors::bundled()),
            Input::Protos { files, includes } => compile_protos(files, includes),
            Input::DescriptorSets(paths) => decode_sets(paths),
            Input::Reflected { upstream, files } => decode_reflected(upstream, files),
        }
    }

    /// The bundled example, from the descriptor set embedded at build time.
    pub fn bundled() -> Descriptors {
        let pool = DescriptorPool::decode(crate::pb::DESCRIPTOR_SET)
            .unwrap_or_else(|e| unreachable!("the embedded descriptor set is valid: {e}"));
        Descriptors {
            pool,
            files: HashMap::new(),
        }
    }

    /// Descriptors from an encoded `FileDescriptorSet` held in memory (e.g.
    /// one a build script embedded with `include_bytes!`).
    pub fn decode(bytes: &[u8]) -> Result<Descriptors, Diagnostic> {
        let pool = DescriptorPool::decode(bytes).map_err(|e| {
            Diagnostic::error(
                "<embedded descriptor set>".to_owned(),
                None,
                format!("not a valid FileDescriptorSet: {e}"),
            )
        })?;
        Ok(Descriptors {
            pool,
            files: HashMap::new(),
        })
    }

    /// The files read from disk to build these descriptors.
    pub fn source_paths(&self) -> impl Iterator<Item = &Path> {
        self.files.values().filter_map(|f| f.path.as_deref())
    }

    /// The reflection pool: services, messages and their options.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// The name a diagnostic should print for `file`.
    pub fn display_name(&self, file: &FileDescriptor) -> String {
        self.display_name_of(file.name())
    }

    fn display_name_of(&self, name: &str) -> String {
        match self.files.get(name).and_then(|f| f.path.as_ref()) {
            Some(path) => path.display().to_string(),
            None => name.to_owned(),
        }
    }

    /// Where the element at `path` (a `SourceCodeInfo` path) starts in `file`.
    /// With `needle`, the position of the first `"needle"` string literal
    /// inside that element, when the file's text is known, moved `inside`
    /// characters into the string: a bad template is then pointed at exactly,
    /// not at the start of its option.
    pub fn position(
        &self,
        file: &FileDescriptor,
        path: &[i32],
        needle: Option<(&str, Option<usize>)>,
    ) -> Option<Position> {
        self.position_nth(file, path, needle, 0)
    }

    /// As [`Descriptors::position`], at the `nth` (0-based) `"needle"` of the
    /// element: one option's `additional_bindings` may repeat a template.
    pub fn position_nth(
        &self,
        file: &FileDescriptor,
        path: &[i32],
        needle: Option<(&str, Option<usize>)>,
        nth: usize,
    ) -> Option<Position> {
        let info = file.file_descriptor_proto().source_code_info.as_ref()?;
        let span = &info.location.iter().find(|l| l.path == path)?.span;
        let (line, column) = (*span.first()?, *span.get(1)?);
        let (end_line, end_column) = match span.len() {
            4 => (span[2], span[3]),
            _ => (line, *span.get(2)?),
        };
        let start = Position {
            line: u32::try_from(line).ok()? + 1,
            column: u32::try_from(column).ok()? + 1,
        };
        let (Some((needle, inside)), Some(text)) = (
            needle,
            self.files.get(file.name()).and_then(|f| f.text.as_deref()),
        ) else {
            return Some(start);
        };
        let found = find_literal(text, (line, column), (end_line, end_column), needle, nth);
        Some(found.map_or(start, |at| Position {
            // Past the opening quote, then `inside` characters in.
            column: at.column + inside.and_then(|n| u32::try_from(n + 1).ok()).unwrap_or(0),
            ..at
        }))
    }
}

/// The position of the `nth` (0-based) `"needle"` between two 0-based
/// (line, column) points of `text`.
fn find_literal(
    text: &str,
    from: (i32, i32),
    to: (i32, i32),
    needle: &str,
    nth: usize,
) -> Option<Position> {
    let quoted = format!("\"{needle}\"");
    let mut skip = nth;
    let lines: Vec<&str> = text.lines().collect();
    for line_no in from.0..=to.0 {
        let line = *lines.get(usize::try_from(line_no).ok()?)?;
        let start = if line_no == from.0 {
            usize::try_from(from.1).ok()?
        } else {
            0
        };
        let end = if line_no == to.0 {
            usize::try_from(to.1).ok()?.min(line.len())
        } else {
            line.len()
        };
        let mut at = start;
        while let Some(found) = line.get(at..end).and_then(|s| s.find(&quoted)) {
            if skip == 0 {
                return Some(Position {
                    line: u32::try_from(line_no).ok()? + 1,
                    column: u32::try_from(line[..at + found].chars().count()).ok()? + 1,
                });
            }
            skip -= 1;
            at += found + quoted.len();
        }
    }
    None
}

fn decode_sets(paths: &[PathBuf]) -> Result<Descriptors, Vec<Diagnostic>> {
    let mut pool = DescriptorPool::new();
    let mut errors = Vec::new();
    for path in paths {
        let name = path.display().to_string();
        match std::fs::read(path) {
            Err(e) => errors.push(Diagnostic::error(
                name,
                None,
                format!("cannot read descriptor set: {e}"),
            )),
            Ok(bytes) => {
                if let Err(e) = pool.decode_file_descriptor_set(bytes.as_slice()) {
                    errors.push(Diagnostic::error(
                        name,
                        None,
                        format!("not a valid FileDescriptorSet (write one with `protoc --include_imports --descriptor_set_out` or `buf build -o`): {e}"),
                    ));
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(Descriptors {
            pool,
            files: HashMap::new(),
        })
    } else {
        Err(errors)
    }
}

/// Decodes the files as sent: gathered into one `FileDescriptorSet` (field
/// 1, repeated) so the pool orders them by their imports, and never through
/// `prost_types`, which would drop their extension options.
fn decode_reflected(upstream: &str, files: &[Vec<u8>]) -> Result<Descriptors, Vec<Diagnostic>> {
    let mut set = Vec::new();
    prost::encoding::bytes::encode_repeated(1, files, &mut set);
    let mut pool = DescriptorPool::new();
    pool.decode_file_descriptor_set(set.as_slice())
        .map_err(|e| {
            vec![Diagnostic::error(
                format!("upstream {upstream}"),
                None,
                format!("the descriptors it serves by reflection are not valid: {e}"),
            )]
        })?;
    Ok(Descriptors {
        pool,
        files: HashMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_string_literals_inside_a_span() {
        let text = "a\n  option x = { get: \"/v1/a\"\n body: \"b\" };\n";
        let at = |needle| find_literal(text, (1, 2), (2, 12), needle, 0);
        assert_eq!(
            at("/v1/a"),
            Some(Position {
                line: 2,
                column: 21
            })
        );
        assert_eq!(at("b"), Some(Position { line: 3, column: 8 }));
        assert_eq!(at("zzz"), None);
        let twice = "x { post: \"/a\" y { post: \"/a\" }\n z { post: \"/a\" } }\n";
        let nth = |n| find_literal(twice, (0, 0), (1, 40), "/a", n);
        let pos = |line, column| Some(Position { line, column });
        assert_eq!(nth(0), pos(1, 11));
        assert_eq!(nth(1), pos(1, 26));
        assert_eq!(nth(2), pos(2, 12));
        assert_eq!(nth(3), None);
    }

    #[test]
    fn reflected_files_keep_their_options_in_any_order() {
        use prost::Message as _;
        // The embedded set's files, each encoded alone, imports last.
        let mut files = Vec::new();
        let mut rest = crate::pb::DESCRIPTOR_SET;
        while !rest.is_empty() {
            let (tag, wire) = prost::encoding::decode_key(&mut rest).unwrap();
            assert_eq!((tag, wire), (1, prost::encoding::WireType::LengthDelimited));
            let len = prost::encoding::decode_varint(&mut rest).unwrap() as usize;
            files.push(rest[..len].to_vec());
            rest = &rest[len..];
        }
        files.reverse();
        let input = Input::Reflected {
            upstream: "http://a:1".to_owned(),
            files,
        };
        let d = Descriptors::load(&input).unwrap();
        let method = d
            .pool()
            .get_service_by_name("examples.v1.UserService")
            .unwrap()
            .methods()
            .next()
            .unwrap();
        let options = method.options().encode_to_vec();
        assert!(!options.is_empty(), "the method's options survive");

        let bad = Input::Reflected {
            upstream: "http://a:1".to_owned(),
            files: vec![b"not a descriptor".to_vec()],
        };
        let errors = Descriptors::load(&bad).unwrap_err();
        assert!(
            errors[0].to_string().contains("upstream http://a:1"),
            "{}",
            errors[0]
        );
    }

    #[test]
    fn bundled_pool_holds_the_examples_and_their_options() {
        let d = Descriptors::bundled();
        let service = d
            .pool()
            .get_service_by_name("examples.v1.UserService")
            .unwrap();
        assert_eq!(service.methods().len(), 11);
        assert!(is_builtin("google/api/http.proto"));
        assert!(is_builtin("google/protobuf/empty.proto"));
        assert!(!is_builtin("examples/v1/users.proto"));
    }
}
