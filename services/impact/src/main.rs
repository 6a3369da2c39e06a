//! `innolab-impact`: serve the impact service, migrate its database, or
//! write what was learnt as open data.

use innolab_kit::cli::{self, Cli, Command, Commands, ExportCommand, NoArgs};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let defaults = innolab_impact::DEFAULTS;
    let mut parsed = Cli::<ExportCommand, NoArgs>::parse_for(
        &defaults,
        "innolab impact assessment service (gRPC).",
    );
    let command = parsed.take_command();
    cli::main(&defaults, &parsed.args, Ok(()), |settings| async move {
        match command {
            Commands::Common(Command::Migrate) => {
                cli::migrate_with(&settings, &innolab_impact::SPEC.migrations).await
            }
            Commands::Own(ExportCommand::Export { release }) => {
                cli::export(&release, async |r| {
                    innolab_impact::export(&settings, &release.out_dir, &r).await
                })
                .await
            }
            Commands::Common(Command::Serve) => {
                cli::serve(defaults.service, settings, innolab_impact::serve).await
            }
        }
    })
    .await
}
