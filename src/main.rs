//! The `twirl` binary: parse the command line, set up logging, run, map failure to an exit code.

use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    twirl::logging::init();
    let cli = twirl::cli::Cli::parse();
    let is_exec = matches!(cli.command, twirl::cli::Command::Exec(_));
    let outcome = twirl::run(cli).await;
    twirl::logging::flush();
    match outcome {
        Ok(code) => std::process::ExitCode::from(code),
        Err(err) => {
            eprintln!("twirl: {err}");
            // Under exec, a failure of twirl itself must not look like the command's own status.
            std::process::ExitCode::from(if is_exec { twirl::exec::TWIRL_FAILED } else { 1 })
        }
    }
}
