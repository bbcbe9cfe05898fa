//! `inuse version compare`: the version order of a package manager, on the command line.
//!
//! Whether a package is affected comes down to version comparisons, so the comparisons
//! inuse makes are exposed for checking by hand and for scripts: `--stdin` compares many pairs
//! in one process, one result per input line and in order, so the output can be pasted next
//! to the input. A pair that cannot be compared gives an `error: ...` line in its place rather
//! than ending the run.

use std::io::{self, BufRead, BufWriter, Read, Write};

use clap::{Args, Subcommand};
use inuse_version::{Scheme, compare};

use crate::exit::Code;

/// Arguments of `inuse version`.
#[derive(Args, Debug)]
pub struct VersionArgs {
    #[command(subcommand)]
    command: VersionCommand,
}

#[derive(Subcommand, Debug)]
enum VersionCommand {
    /// Compare two versions: prints -1, 0 or 1 (A lower, equal, higher than B).
    Compare(CompareArgs),
}

#[derive(Args, Debug)]
struct CompareArgs {
    /// Whose ordering rules: deb (dpkg), rpm, apk or semver.
    #[arg(long, value_name = "SCHEME", value_parser = parse_scheme)]
    scheme: Scheme,

    /// Read one `A B` pair per line from standard input and print one result per line.
    #[arg(long, conflicts_with_all = ["a", "b"])]
    stdin: bool,

    /// The first version.
    #[arg(required_unless_present = "stdin")]
    a: Option<String>,

    /// The second version.
    #[arg(required_unless_present = "stdin")]
    b: Option<String>,
}

fn parse_scheme(s: &str) -> Result<Scheme, String> {
    s.parse()
        .map_err(|e: inuse_version::UnknownScheme| e.to_string())
}

fn sign(o: std::cmp::Ordering) -> i8 {
    o as i8
}

/// Runs `inuse version`.
pub fn run(args: &VersionArgs) -> anyhow::Result<Code> {
    let VersionCommand::Compare(args) = &args.command;
    if args.stdin {
        return compare_stdin(args.scheme);
    }
    let (Some(a), Some(b)) = (&args.a, &args.b) else {
        anyhow::bail!("two versions are needed (or --stdin)");
    };
    match compare(args.scheme, a, b) {
        Ok(o) => {
            writeln!(std::io::stdout(), "{}", sign(o))?;
            Ok(Code::Ok)
        }
        Err(e) => {
            eprintln!("inuse: {e}");
            Ok(Code::Error)
        }
    }
}

fn compare_stdin(scheme: Scheme) -> anyhow::Result<Code> {
    let stdin = io::stdin().lock();
    let mut out = BufWriter::new(io::stdout().lock());
    let mut failed = false;
    // Lines are bounded so that one absurd line cannot exhaust memory.
    const MAX_LINE: usize = 2 * inuse_version::MAX_VERSION_LEN + 64;
    let mut reader = io::BufReader::new(stdin);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader)
            .take(MAX_LINE as u64 + 1)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        let complete = line.ends_with(b"\n");
        if !complete && line.len() > MAX_LINE {
            // Skip the rest of the overlong line.
            let mut rest = Vec::new();
            reader.read_until(b'\n', &mut rest)?;
            writeln!(out, "error: line longer than {MAX_LINE} bytes")?;
            failed = true;
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let fields: Vec<&str> = text.split_whitespace().collect();
        match fields.as_slice() {
            [a, b] => match compare(scheme, a, b) {
                Ok(o) => writeln!(out, "{}", sign(o))?,
                Err(e) => {
                    writeln!(out, "error: {e}")?;
                    failed = true;
                }
            },
            _ => {
                writeln!(out, "error: expected two versions separated by white space")?;
                failed = true;
            }
        }
    }
    out.flush()?;
    Ok(if failed { Code::Partial } else { Code::Ok })
}
