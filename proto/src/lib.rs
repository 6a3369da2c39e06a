//! Generated types and clients/servers of the innolab gRPC API.
//!
//! Only the API layer of each service and the gateway depend on this crate;
//! domain and store code never see generated types.

#![allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    missing_debug_implementations
)]

/// Encoded `FileDescriptorSet` of every innolab package, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/innolab_descriptor.bin"));

/// `google.type` messages used by the contract.
pub mod google {
    pub mod r#type {
        tonic::include_proto!("google.r#type");
    }
}

/// `innolab.*` packages.
pub mod innolab {
    /// What several services share: the change log and its request,
    /// localized text, the level and function of government.
    pub mod common {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("innolab.common.v1");
        }
    }
    /// The gateway's own compositions.
    pub mod gateway {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("innolab.gateway.v1");
        }
    }
    /// Network membership.
    pub mod membership {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("innolab.membership.v1");
            /// Moved to `innolab.common.v1` (same wire and JSON form), and
            /// named here too, so code that speaks this package finds them.
            pub use super::super::common::v1::{
                GovernmentFunction, GovernmentLevel, LocalizedText, StreamChangesRequest,
            };
        }
    }
    /// Innovation initiatives.
    pub mod initiatives {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("innolab.initiatives.v1");
            /// Moved to `innolab.common.v1` (same wire and JSON form), and
            /// named here too, so code that speaks this package finds them.
            pub use super::super::common::v1::{
                GovernmentFunction, GovernmentLevel, LocalizedText, StreamChangesRequest,
            };
        }
    }
    /// Impact assessments, indicators and rollups.
    pub mod impact {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("innolab.impact.v1");
            /// Moved to `innolab.common.v1` (the same fields), and named
            /// here too, so code that speaks this package finds it.
            pub use super::super::common::v1::StreamChangesRequest;
        }
    }
    /// Guidance documents: editions, translations, search, attachments.
    pub mod guidance {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("innolab.guidance.v1");
            /// Moved to `innolab.common.v1` (the same fields), and named
            /// here too, so code that speaks this package finds it.
            pub use super::super::common::v1::StreamChangesRequest;
        }
    }
}
