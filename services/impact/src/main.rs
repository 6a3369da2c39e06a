//! `innolab-impact`: serve the impact service, or migrate its database.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    innolab_kit::cli::run(
        innolab_impact::DEFAULTS,
        "innolab impact assessment service (gRPC).",
        innolab_impact::SPEC.migrations,
        innolab_impact::serve,
    )
    .await
}
