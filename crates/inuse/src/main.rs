//! `inuse`: which of your dependencies are actually in use, and which vulnerable ones are
//! running right now.
//!
//! The binary is thin glue: it parses arguments, hands them to a command module, and maps the
//! outcome to an exit code ([`exit::Code`]). The capability lives in the `inuse-*` library
//! crates. stdout carries data; stderr carries warnings and errors.

mod commands;
mod exit;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Which of your dependencies are actually in use, and which vulnerable ones are running.
///
/// inuse never executes what it analyses: it reads files and /proc only.
#[derive(Parser, Debug)]
#[command(name = "inuse", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// The shared-library closure of ELF files, resolved as the dynamic loader would,
    /// without running anything.
    Deps(commands::deps::DepsArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Deps(args) => commands::deps::run(args),
    };
    match result {
        Ok(code) => code.into(),
        Err(err) => {
            eprintln!("inuse: error: {err:#}");
            exit::Code::Error.into()
        }
    }
}
