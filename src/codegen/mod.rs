//! The build-script API (`restgate::build`, cargo feature `build`): a user's
//! `build.rs` turns their protos into everything the crate needs, with no
//! `protoc` anywhere:
//!
//! ```no_run
//! // build.rs
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     restgate::build::configure().compile(&["proto/shop/v1/shop.proto"], &["proto"])?;
//!     Ok(())
//! }
//! ```
//!
//! Into `OUT_DIR` go: the tonic client and server code (one `<package>.rs`
//! per proto package, as tonic's own builder writes), `restgate_descriptor.bin`
//! (the encoded descriptor set, options included, for
//! `restgate::serve::InProcess`), `restgate_routes.json` (the checked route
//! table, as `restgate routes --format json` prints it) and
//! `restgate_openapi.json` (OpenAPI 3.1). Invalid annotations fail the build
//! with the same `file:line:col: error:` messages as `restgate check`;
//! warnings become cargo warnings.
//!
//! The protos are compiled in process by protox, the annotations checked by
//! the same [`RouteTable`](crate::compile::RouteTable) the gateway serves —
//! one compiler, whichever way restgate runs.

use std::path::{Path, PathBuf};

use crate::compile::{
    CompileOptions, Descriptors, Diagnostics, GoogleApiCreates, Input, RouteTable,
};
use crate::openapi::{self, OpenApiOptions, PathParams};

/// Why the build step failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The protos do not load or their annotations are invalid; every
    /// finding, one `file:line:col: error: message` per line.
    #[error("restgate: invalid protos\n{0}")]
    Invalid(Diagnostics),
    /// Writing an output failed.
    #[error("restgate: cannot write {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// tonic's code generator failed.
    #[error("restgate: generating the tonic code failed: {0}")]
    Codegen(std::io::Error),
    /// No `OUT_DIR` (not run by cargo) and no [`Builder::out_dir`].
    #[error("restgate: OUT_DIR is not set; run from a build script or set out_dir")]
    NoOutDir,
}

/// What [`Builder::compile`] wrote.
#[derive(Debug, Clone)]
pub struct Output {
    /// The encoded descriptor set.
    pub descriptor_set: PathBuf,
    /// The route table as JSON.
    pub routes: PathBuf,
    /// The OpenAPI 3.1 document.
    pub openapi: PathBuf,
    /// How many REST routes the protos declare.
    pub route_count: usize,
}

/// The build step's settings. Start with [`configure`].
#[derive(Debug)]
pub struct Builder {
    tonic: tonic_prost_build::Builder,
    out_dir: Option<PathBuf>,
    services: Option<Vec<String>>,
    openapi: OpenApiOptions,
    compile: CompileOptions,
    emit_rerun_if_changed: bool,
}

/// A builder with tonic's defaults: client and server code for every service.
pub fn configure() -> Builder {
    Builder {
        tonic: tonic_prost_build::configure(),
        out_dir: None,
        services: None,
        openapi: OpenApiOptions::default(),
        compile: CompileOptions::default(),
        emit_rerun_if_changed: true,
    }
}

impl Builder {
    /// Where the outputs go (default: `OUT_DIR`).
    pub fn out_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.tonic = self.tonic.out_dir(dir.as_ref());
        self.out_dir = Some(dir.as_ref().to_owned());
        self
    }

    /// Whether to generate tonic client code (default: yes).
    pub fn build_client(mut self, enable: bool) -> Self {
        self.tonic = self.tonic.build_client(enable);
        self
    }

    /// Whether to generate tonic server code (default: yes).
    pub fn build_server(mut self, enable: bool) -> Self {
        self.tonic = self.tonic.build_server(enable);
        self
    }

    /// Only these services (full names, e.g. `shop.v1.Orders`) get REST
    /// routes and OpenAPI operations; tonic code is still generated for all.
    pub fn services<I, S>(mut self, services: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.services = Some(services.into_iter().map(Into::into).collect());
        self
    }

    /// An attribute on generated types matching `path`, as tonic's builder takes it.
    pub fn type_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.tonic = self.tonic.type_attribute(path, attribute);
        self
    }

    /// An attribute on generated message structs matching `path`.
    pub fn message_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.tonic = self.tonic.message_attribute(path, attribute);
        self
    }

    /// An attribute on generated fields matching `path`.
    pub fn field_attribute(mut self, path: impl AsRef<str>, attribute: impl AsRef<str>) -> Self {
        self.tonic = self.tonic.field_attribute(path, attribute);
        self
    }

    /// Uses existing Rust types for a proto package or type.
    pub fn extern_path(mut self, proto_path: impl AsRef<str>, rust_path: impl AsRef<str>) -> Self {
        self.tonic = self.tonic.extern_path(proto_path, rust_path);
        self
    }

    /// Any other setting of tonic's builder.
    pub fn tonic(
        mut self,
        f: impl FnOnce(tonic_prost_build::Builder) -> tonic_prost_build::Builder,
    ) -> Self {
        self.tonic = f(self.tonic);
        self
    }

    /// The OpenAPI document's title and version.
    pub fn openapi_info(mut self, title: impl Into<String>, version: impl Into<String>) -> Self {
        self.openapi.title = title.into();
        self.openapi.version = version.into();
        self
    }

    /// When a `(google.api.http)` `post` is a create (201 + `Location`), as
    /// `--google-api-creates` sets it for the gateway: [`GoogleApiCreates::Auto`]
    /// (the default) when the route table derives the created item's URI,
    /// [`GoogleApiCreates::Never`] for none, as with grpc-gateway. Serve the
    /// same choice in process with
    /// `restgate::serve::InProcess::with_compile_options`.
    pub fn google_api_creates(mut self, creates: GoogleApiCreates) -> Self {
        self.compile.google_api_creates = creates;
        self
    }

    /// The OpenAPI document's `info.license`: the API's licence as an SPDX
    /// identifier, e.g. `Apache-2.0` (default: none).
    pub fn openapi_license(mut self, spdx: impl Into<String>) -> Self {
        self.openapi.license = Some(spdx.into());
        self
    }

    /// How the OpenAPI document writes a path variable spanning several
    /// segments (default: [`PathParams::Expanded`], one parameter per `*`,
    /// what client generators can call; [`PathParams::Template`] keeps one
    /// parameter per variable).
    pub fn openapi_path_params(mut self, style: PathParams) -> Self {
        self.openapi.path_params = style;
        self
    }

    /// Whether to print `cargo:rerun-if-changed` for every proto read (default: yes).
    pub fn emit_rerun_if_changed(mut self, enable: bool) -> Self {
        self.emit_rerun_if_changed = enable;
        self
    }

    /// Compiles `protos` (searched in `includes`), checks the annotations,
    /// and writes the outputs. On invalid protos the findings are printed
    /// (cargo shows them) and the build fails.
    pub fn compile(
        self,
        protos: &[impl AsRef<Path>],
        includes: &[impl AsRef<Path>],
    ) -> Result<Output, BuildError> {
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(BuildError::NoOutDir)?,
        };
        let input = Input::Protos {
            files: protos.iter().map(|p| p.as_ref().to_owned()).collect(),
            includes: includes.iter().map(|p| p.as_ref().to_owned()).collect(),
        };
        let descriptors = Descriptors::load(&input).map_err(|d| fail(Diagnostics::new(d)))?;
        if self.emit_rerun_if_changed {
            for path in descriptors.source_paths() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
        let compiled = RouteTable::compile_with(&descriptors, &self.compile)
            .map_err(|e| fail(e.diagnostics().clone()))?;
        for warning in compiled.warnings.iter() {
            println!("cargo:warning={warning}");
        }
        let table = match &self.services {
            Some(services) => compiled.table.retain_services(services),
            None => compiled.table,
        };

        let write = |name: &str, bytes: &[u8]| {
            let path = out_dir.join(name);
            std::fs::write(&path, bytes).map_err(|source| BuildError::Write {
                path: path.clone(),
                source,
            })?;
            Ok::<_, BuildError>(path)
        };
        let descriptor_set = write(
            "restgate_descriptor.bin",
            &descriptors.pool().encode_to_vec(),
        )?;
        let summaries: Vec<_> = table.routes().iter().map(|r| r.summary()).collect();
        let routes = write(
            "restgate_routes.json",
            &serde_json::to_vec_pretty(&summaries).unwrap_or_default(),
        )?;
        let document = openapi::document(&table, &self.openapi);
        let openapi = write(
            "restgate_openapi.json",
            &serde_json::to_vec_pretty(&document).unwrap_or_default(),
        )?;

        let files = prost_types::FileDescriptorSet {
            file: descriptors
                .pool()
                .file_descriptor_protos()
                .cloned()
                .collect(),
        };
        self.tonic
            .out_dir(&out_dir)
            .compile_fds(files)
            .map_err(BuildError::Codegen)?;
        Ok(Output {
            descriptor_set,
            routes,
            openapi,
            route_count: table.routes().len(),
        })
    }
}

/// Prints the findings the way cargo shows a build script's failure, and
/// wraps them.
fn fail(diagnostics: Diagnostics) -> BuildError {
    eprintln!("{diagnostics}");
    BuildError::Invalid(diagnostics)
}
