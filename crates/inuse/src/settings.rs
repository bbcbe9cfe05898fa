//! The arguments several commands share, declared once, and the defaults behind them,
//! resolved in one place.
//!
//! In the spirit of ripgrep's low- and high-level arguments: the structs here are what the
//! user typed (clap flattens them into each command, so a flag has the same name, value name
//! and help everywhere), and their methods turn that into the settings a command runs with
//! (the store paths with their defaults from the environment, the live sweep, colour). A
//! command reads only resolved settings; no command computes a default of its own.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
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
