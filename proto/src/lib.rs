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
    /// Messages shared by every service (the change log).
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
        }
    }
    /// Innovation initiatives.
    pub mod initiatives {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("innolab.initiatives.v1");
        }
    }
    /// Impact assessments, indicators and rollups.
    pub mod impact {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("innolab.impact.v1");
        }
    }
    /// Guidance documents: editions, translations, search, attachments.
    pub mod guidance {
        /// Version 1.
        pub mod v1 {
            tonic::include_proto!("innolab.guidance.v1");
        }
    }
}
