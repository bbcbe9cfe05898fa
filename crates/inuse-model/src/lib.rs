//! The shared vocabulary of inuse.
//!
//! Every crate speaks of the same things: a package ([`PackageRef`]), how strongly its use was
//! measured (the evidence ladder: [`Level`], [`Strength`], [`Evidence`]), over which
//! [`Window`], which vulnerability affects it ([`Vulnerability`], [`Match`], [`Finding`]),
//! which process, container or image has it ([`ProcessRef`], [`ContainerRef`], [`ImageRef`]),
//! and what the reader must know besides ([`Note`]). They are defined here once, at the ground
//! floor (this crate depends on serde only), so that the collectors, the matcher, the report
//! and its renderers, and the fleet server, agree on one meaning and one JSON for each.
//!
//! The pipeline of DESIGN.md, in these terms: package databases give [`PackageRef`]s
//! (`installed`); the loader emulation adds `linked`; live processes add `loaded` and
//! `executed` with the [`ProcessRef`]s that showed it; uprobes add `function`; the vulnerability
//! store gives [`Match`]es; a [`Finding`] is a match with its [`Evidence`], ranked.
//!
//! The JSON of these types is a contract, the future wire format: documents made of them carry
//! `"schema_version": SCHEMA_VERSION` at their top level. Adding a field never changes the
//! version; changing a field's meaning (or removing one) bumps it.

mod evidence;
mod finding;
mod note;
mod package;
mod process;
pub mod time;
mod window;

pub use evidence::{Evidence, Level, Strength};
pub use finding::{Finding, Match, Severity, VexStatus, Vulnerability};
pub use note::{Note, NoteCode};
pub use package::{Manager, PackageRef};
pub use process::{ContainerRef, ImageRef, ProcessRef};
pub use window::Window;

/// The version of the JSON of this vocabulary, written as `"schema_version"` at the top level
/// of every document made of it (`scan --format json`, later the fleet's reports).
pub const SCHEMA_VERSION: u32 = 1;
