//! Compiles `proto/` with protox (pure Rust), so a fresh `cargo build` needs no
//! system `protoc`, and keeps the descriptor set for server reflection.

use std::path::PathBuf;

const PROTOS: &[&str] = &[
    "innolab/membership/v1/membership.proto",
    "innolab/gateway/v1/gateway.proto",
    "innolab/gateway/v1/subscriptions.proto",
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
    let mut compiler = protox::Compiler::new([root.clone(), root.join("googleapis")])?;
    compiler
        .include_source_info(true)
        .include_imports(true)
        .open_files(&files)?;
    // Encoded by protox itself, which keeps custom options (the
    // `google.api.field_behavior` and `resource` annotations) that a
    // round trip through `prost_types` would drop: reflection clients and
    // the gateway's OpenAPI document read them.
    std::fs::write(
        out.join("innolab_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    let fds = compiler.file_descriptor_set();

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(fds)?;

    println!("cargo:rerun-if-changed=innolab");
    println!("cargo:rerun-if-changed=googleapis");
    Ok(())
}
