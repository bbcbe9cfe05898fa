//! The arguments several commands share, declared once, and the defaults behind them,
//! resolved in one place.
//!
//! In the spirit of ripgrep's low- and high-level arguments: the structs here are what the
//! user typed (clap flattens them into each command, so a flag has the same name, value name
//! and help everywhere), and their methods turn that into the settings a command runs with
//! (the store paths with their defaults from the environment, the live sweep, colour). A
//! command reads only resolved settings; no command computes a default of its own.
//!
//! Data locations (DESIGN.md): each SQLite file is `--db` / `--store` when given, else
//! `$INUSE_DB` / `$INUSE_STORE`, else `/var/lib/inuse/` as root, else `$XDG_DATA_HOME/inuse/`
//! (`~/.local/share/inuse/` when XDG_DATA_HOME is unset or not absolute).

use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, ValueEnum};
use inuse_root::Root;

/// `--root DIR`: the root filesystem a command reads.
#[derive(Args, Debug, Clone)]
pub struct RootArg {
    /// Analyse this directory as the root filesystem; nothing outside it is read.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
}

impl RootArg {
    /// The directory as the user named it (relative paths stay relative).
    pub fn dir(&self) -> &Path {
        &self.root
    }

    /// Opens the root, or says which one cannot be opened.
    pub fn open(&self) -> anyhow::Result<Root> {
        Root::open(&self.root).with_context(|| format!("cannot open root {}", self.root.display()))
    }
}

/// `--db PATH`: the vulnerability database.
#[derive(Args, Debug, Clone)]
pub struct DbArg {
    /// The vulnerability database [default: $INUSE_DB, /var/lib/inuse/vulns.sqlite as root,
    /// else $XDG_DATA_HOME/inuse/vulns.sqlite].
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
}

impl DbArg {
    /// `--db`, else the default; `None` when there is no place for it (no `HOME`).
    pub fn path(&self) -> Option<PathBuf> {
        self.db.clone().or_else(|| DataFile::Vulns.default_path())
    }

    /// [`DbArg::path`], or an error saying what to set.
    pub fn require(&self) -> anyhow::Result<PathBuf> {
        self.path().context(
            "no place for the vulnerability database: set --db, INUSE_DB, XDG_DATA_HOME or HOME",
        )
    }
}

/// `--store PATH`: the observation store of `inuse observe`.
#[derive(Args, Debug, Clone)]
pub struct StoreArg {
    /// The observation store written by `inuse observe` [default: $INUSE_STORE, else
    /// /var/lib/inuse/observations.sqlite as root, else
    /// $XDG_DATA_HOME/inuse/observations.sqlite].
    #[arg(long, value_name = "PATH")]
    store: Option<PathBuf>,
}

impl StoreArg {
    /// `--store`, else the default; `None` when there is no place for it (no `HOME`).
    pub fn path(&self) -> Option<PathBuf> {
        self.store
            .clone()
            .or_else(|| DataFile::Observations.default_path())
    }
}

/// `--format F`: the output format, one of the command's own.
#[derive(Args, Debug, Clone)]
pub struct FormatArg<F: ValueEnum + Default + Clone + Send + Sync + 'static> {
    /// Output format.
    // Not `default_value_t`: clap caches that string in a static of the generic function,
    // which all the format types would share.
    #[arg(long, value_enum, default_value = default_name::<F>())]
    format: F,
}

/// The name of `F`'s default value, as typed on the command line.
fn default_name<F: ValueEnum + Default>() -> String {
    F::default()
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default()
}

impl<F: ValueEnum + Default + Clone + Send + Sync + 'static> FormatArg<F> {
    /// The format chosen.
    pub fn get(&self) -> F {
        self.format.clone()
    }
}

/// `--no-live`: leave live processes alone.
#[derive(Args, Debug, Clone)]
pub struct LiveArg {
    /// Do not sweep live processes (use only the root's files and the observation store).
    #[arg(long)]
    no_live: bool,
}

impl LiveArg {
    /// Whether to sweep live processes.
    pub fn live(&self) -> bool {
        !self.no_live
    }
}

/// Whether text output may use ANSI colours: only on a terminal, never with `NO_COLOR`.
pub fn color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// The data files inuse keeps between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFile {
    /// The vulnerability database (`inuse db`).
    Vulns,
    /// The observation store (`inuse observe`, `inuse trace --store`).
    Observations,
}

impl DataFile {
    /// The environment variable that names it.
    fn variable(self) -> &'static str {
        match self {
            DataFile::Vulns => "INUSE_DB",
            DataFile::Observations => "INUSE_STORE",
        }
    }

    fn file_name(self) -> &'static str {
        match self {
            DataFile::Vulns => "vulns.sqlite",
            DataFile::Observations => "observations.sqlite",
        }
    }

    /// Where it lives when no flag names it, from this process's environment and user.
    pub fn default_path(self) -> Option<PathBuf> {
        self.default_path_in(
            &|name| std::env::var_os(name),
            rustix::process::geteuid().is_root(),
        )
    }

    /// [`DataFile::default_path`] for a given environment and user: its variable when set
    /// and not empty; `/var/lib/inuse/` as root; else `$XDG_DATA_HOME/inuse/` when that is
    /// absolute (the XDG spec ignores a relative one), else `$HOME/.local/share/inuse/`.
    fn default_path_in(
        self,
        env: &dyn Fn(&str) -> Option<OsString>,
        root: bool,
    ) -> Option<PathBuf> {
        if let Some(p) = env(self.variable()).filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(p));
        }
        if root {
            return Some(Path::new("/var/lib/inuse").join(self.file_name()));
        }
        let data = match env("XDG_DATA_HOME").filter(|p| Path::new(p).is_absolute()) {
            Some(d) => PathBuf::from(d),
            None => PathBuf::from(env("HOME").filter(|h| !h.is_empty())?).join(".local/share"),
        };
        Some(data.join("inuse").join(self.file_name()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use clap::Parser;

    use super::*;

    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
    enum Listing {
        #[default]
        Table,
        Json,
    }

    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
    enum Document {
        Text,
        #[default]
        SpdxJson,
    }

    #[derive(Parser)]
    struct ListingCommand {
        #[command(flatten)]
        format: FormatArg<Listing>,
    }

    #[derive(Parser)]
    struct DocumentCommand {
        #[command(flatten)]
        format: FormatArg<Document>,
    }

    /// Two commands with formats of their own, in one process: each gets its own default.
    #[test]
    fn each_format_type_has_its_own_default() {
        for _ in 0..2 {
            let listing = ListingCommand::try_parse_from(["inuse"]).unwrap();
            assert_eq!(listing.format.get(), Listing::Table);
            let document = DocumentCommand::try_parse_from(["inuse"]).unwrap();
            assert_eq!(document.format.get(), Document::SpdxJson);
        }
        let listing = ListingCommand::try_parse_from(["inuse", "--format", "json"]).unwrap();
        assert_eq!(listing.format.get(), Listing::Json);
        assert!(ListingCommand::try_parse_from(["inuse", "--format", "text"]).is_err());
    }

    fn resolve(file: DataFile, vars: &[(&str, &str)], root: bool) -> Option<PathBuf> {
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        };
        file.default_path_in(&env, root)
    }

    #[test]
    fn the_variable_wins_then_root_then_xdg_then_home() {
        use DataFile::{Observations, Vulns};
        let all = [
            ("INUSE_DB", "/x/db.sqlite"),
            ("INUSE_STORE", "/x/obs.sqlite"),
            ("XDG_DATA_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(resolve(Vulns, &all, true), Some("/x/db.sqlite".into()));
        assert_eq!(
            resolve(Observations, &all, false),
            Some("/x/obs.sqlite".into())
        );
        let no_var = &all[2..];
        assert_eq!(
            resolve(Vulns, no_var, true),
            Some("/var/lib/inuse/vulns.sqlite".into())
        );
        assert_eq!(
            resolve(Observations, no_var, true),
            Some("/var/lib/inuse/observations.sqlite".into())
        );
        assert_eq!(
            resolve(Vulns, no_var, false),
            Some("/xdg/inuse/vulns.sqlite".into())
        );
        assert_eq!(
            resolve(Observations, &all[3..], false),
            Some("/home/u/.local/share/inuse/observations.sqlite".into())
        );
    }

    #[test]
    fn empty_or_relative_values_are_ignored_and_no_home_means_no_place() {
        let vars = [
            ("INUSE_DB", ""),
            ("XDG_DATA_HOME", "relative/dir"),
            ("HOME", "/home/u"),
        ];
        assert_eq!(
            resolve(DataFile::Vulns, &vars, false),
            Some("/home/u/.local/share/inuse/vulns.sqlite".into())
        );
        assert_eq!(resolve(DataFile::Vulns, &[("HOME", "")], false), None);
        assert_eq!(resolve(DataFile::Observations, &[], false), None);
        // As root the user's directories do not matter.
        assert_eq!(
            resolve(DataFile::Observations, &[], true),
            Some("/var/lib/inuse/observations.sqlite".into())
        );
    }
}
