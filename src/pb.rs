//! Rust types generated from `proto/` by `build.rs`: the annotation messages,
//! the bundled example services, and the encoded descriptor set of all of them.
#![allow(missing_docs, unreachable_pub, clippy::all)]

/// The encoded `FileDescriptorSet` of the bundled example and the annotation
/// files, with their imports and source info, exactly as protox wrote it
/// (options included).
pub const DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/restgate_descriptor.bin"));

/// `google.api`: the HTTP rule option and `HttpBody`.
pub mod google {
    /// `google.api`.
    pub mod api {
        include!(concat!(env!("OUT_DIR"), "/google.api.rs"));
    }
}

/// `restgate`: the REST annotation.
pub mod restgate {
    include!(concat!(env!("OUT_DIR"), "/restgate.rs"));
}

/// `examples.v1`: the bundled example services.
#[cfg(feature = "server")]
pub mod examples {
    /// `examples.v1`.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/examples.v1.rs"));
    }
}

/// `testing.v1`: the fixture service the integration tests put behind the
/// gateway. Not part of the product.
#[doc(hidden)]
#[cfg(feature = "server")]
pub mod testing {
    /// `testing.v1`.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/testing.v1.rs"));
    }
}
