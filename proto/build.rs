//! Compiles `proto/` with protox (pure Rust), so a fresh `cargo build` needs no
//! system `protoc`, and keeps the descriptor set for server reflection.

use std::path::PathBuf;

use prost::Message;

const PROTOS: &[&str] = &[
    "innolab/membership/v1/membership.proto",
    "innolab/gateway/v1/gateway.proto",
    "innolab/initiatives/v1/initiatives.proto",
    "innolab/impact/v1/impact.proto",
    "innolab/guidance/v1/guidance.proto",
];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let files: Vec<PathBuf> = PROTOS.iter().map(|p| root.join(p)).collect();

    // googleapis (google.type.Date, google.api annotations) is a dependency
    // beside the contract, on its own include path (googleapis/README.md).
    let fds = protox::compile(&files, [root.clone(), root.join("googleapis")])?;
    std::fs::write(out.join("innolab_descriptor.bin"), fds.encode_to_vec())?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;

    println!("cargo:rerun-if-changed=innolab");
    println!("cargo:rerun-if-changed=googleapis");
    Ok(())
}
