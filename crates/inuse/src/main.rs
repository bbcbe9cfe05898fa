//! `inuse`: which of your dependencies are actually in use, and which vulnerable ones are
//! running right now.
//!
//! The binary is thin glue: it parses arguments, hands them to a command module, and maps the
//! outcome to an exit code ([`exit::Code`]). The capability lives in the `inuse-*` library
//! crates. stdout carries data; stderr carries warnings and errors.

mod commands;
mod exit;
mod pretty;
mod settings;

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
    /// Vulnerabilities ranked by real exposure: what is executed, loaded, linked or only
    /// installed, with VEX, CycloneDX and SARIF output. The main job.
    Scan(commands::scan::ScanArgs),
    /// Code that is shipped but not used: packages never loaded, links from which no symbol
    /// is taken, libraries loaded but never executed beyond initialisation.
    Unused(commands::unused::UnusedArgs),
    /// The shared-library closure of ELF files, resolved as the dynamic loader would,
    /// without running anything.
    Deps(commands::deps::DepsArgs),
    /// Installed packages of a root (dpkg, rpm, apk) and the ELF files no package owns.
    Inventory(commands::inventory::InventoryArgs),
    /// Which package owns each file (like `dpkg -S` / `rpm -qf`, merged-/usr aware, any root).
    Owner(commands::owner::OwnerArgs),
    /// A software bill of materials of a root (CycloneDX 1.6 or SPDX 2.3 JSON), with
    /// package dependencies from ELF linkage and from the package databases.
    Sbom(commands::sbom::SbomArgs),
    /// The offline vulnerability database: import OSV files and archives, update from
    /// osv.dev, show its status.
    Db(commands::db::DbArgs),
    /// Known vulnerabilities of the installed packages of a root (from `inuse db`).
    Vulns(commands::vulns::VulnsArgs),
    /// Version ordering of package managers: `inuse version compare --scheme deb A B`.
    Version(commands::version::VersionArgs),
    /// What live processes have loaded, executed, and left stale (deleted or replaced), with
    /// owning packages, dlopen'ed plugins, listening sockets and containers.
    Ps(commands::ps::PsArgs),
    /// Sweep live processes repeatedly and accumulate the evidence in the observation store.
    Observe(commands::observe::ObserveArgs),
    /// Which functions of libraries really run: a one-shot kernel uprobe at every function
    /// entry, removed at its first hit (root; tracefs).
    Trace(commands::trace::TraceArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Scan(args) => commands::scan::run(args),
        Command::Unused(args) => commands::unused::run(args),
        Command::Deps(args) => commands::deps::run(args),
        Command::Inventory(args) => commands::inventory::run(args),
        Command::Owner(args) => commands::owner::run(args),
        Command::Sbom(args) => commands::sbom::run(args),
        Command::Db(args) => commands::db::run(args),
        Command::Vulns(args) => commands::vulns::run(args),
        Command::Version(args) => commands::version::run(args),
        Command::Ps(args) => commands::ps::run(args),
        Command::Observe(args) => commands::observe::run(args),
        Command::Trace(args) => commands::trace::run(args),
    };
    match result {
        Ok(code) => code.into(),
        // The reader went away (`inuse ... | head`): not an error of ours, and nothing is
        // left to say to anybody.
        Err(err)
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>()
                    .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            }) =>
        {
            exit::Code::Ok.into()
        }
        Err(err) => {
            eprintln!("inuse: error: {err:#}");
            exit::Code::Error.into()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// clap's own checks of every command: defaults among the possible values, no two flags
    /// with one name (flattened groups included), and so on.
    #[test]
    fn the_command_line_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
