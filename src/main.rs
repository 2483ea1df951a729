//! The `todo-api` binary: parse the command line, start logging, run the command.

use clap::Parser;
use todo_api::cli;
use todo_api::config::{Cli, Command};

/// jemalloc instead of glibc's malloc: about a fifth less CPU per request (a GraphQL response is
/// hundreds of small allocations) and a lower peak RSS under 1000 connections, with freed pages
/// returned at once (`.cargo/config.toml`). Measured in BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // The real environment wins over `.env` (dotenvy never overrides a set variable).
    let _ = dotenvy::dotenv();
    let Cli { config, command } = Cli::parse();
    todo_api::telemetry::init(config.log_format);
    // `Config::validate` is not called here: the commands that read what it checks call it.
    match command.unwrap_or(Command::Serve) {
        Command::Serve => cli::serve(config).await,
        Command::Migrate { action } => cli::migrate(&config, action).await,
        Command::Token {
            user,
            email,
            name,
            ttl,
        } => cli::token(&config, &user, email.as_deref(), name.as_deref(), ttl),
        Command::Schema => {
            print!("{}", todo_api::graphql::sdl());
            Ok(())
        }
        Command::Openapi => cli::openapi(&mut std::io::stdout().lock()),
    }
}
