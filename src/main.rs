//! The `twirl` binary: parse the command line, set up logging, run, map failure to an exit code.

use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    env_logger::Builder::from_env(env_logger::Env::new().default_filter_or("twirl=info")).init();
    let cli = twirl::cli::Cli::parse();
    let is_exec = matches!(cli.command, twirl::cli::Command::Exec(_));
    match twirl::run(cli).await {
        Ok(code) => std::process::ExitCode::from(code),
        Err(err) => {
            eprintln!("twirl: {err}");
            // Under exec, a failure of twirl itself must not look like the command's own status.
            std::process::ExitCode::from(if is_exec { twirl::exec::TWIRL_FAILED } else { 1 })
        }
    }
}
