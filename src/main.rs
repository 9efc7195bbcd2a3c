//! The `twirl` binary: parse the command line, set up logging, run, map failure to an exit code.

use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    env_logger::Builder::from_env(env_logger::Env::new().default_filter_or("twirl=info")).init();
    let cli = twirl::cli::Cli::parse();
    match twirl::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("twirl: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
