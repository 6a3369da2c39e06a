//! `innolab-membership`: serve the membership service, or migrate its database.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    innolab_kit::cli::run(
        innolab_membership::DEFAULTS,
        "innolab network membership service (gRPC).",
        innolab_membership::SPEC.migrations,
        innolab_membership::serve,
    )
    .await
}
