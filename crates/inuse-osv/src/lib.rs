//! Vulnerability data for inuse: the OSV record model, an offline store, and matching of
//! installed packages against it.
//!
//! inuse answers "which vulnerable code is running", which starts with "which installed
//! package versions are known to be vulnerable". That answer must be exact per distribution
//! (a Debian 12 host is matched against `Debian:12` data by source package and dpkg order,
//! an AlmaLinux 9 host against `AlmaLinux:9` data by binary package and rpm order), available
//! offline (hosts worth scanning are often cut off from the internet), and robust against the
//! data itself (archives from the network are untrusted input).
//!
//! Layout, in the order data flows:
//! - [`model`]: the OSV record (schema 1.6/1.7), validated while deserialised;
//!   [`cvss`] computes the base scores of its severity vectors;
//! - [`ecosystem`]: ecosystem names with releases, and each one's matching convention;
//! - [`import`]: JSON files, directories and zip archives into the store, within [`Limits`];
//!   [`update`] downloads osv.dev's archives with conditional requests;
//! - [`store`]: the SQLite file (raw records plus an index by ecosystem and package);
//! - [`matching`]: the OSV range semantics and [`match_inventory`], which turns an
//!   [`inuse_pkgdb::Inventory`] into [`Finding`]s, one per package and vulnerability.
//!
//! Findings are data; rendering them is the caller's job.

pub mod cvss;
pub mod ecosystem;
pub mod import;
pub mod matching;
pub mod model;
pub mod store;
#[cfg(feature = "update")]
pub mod update;

pub use ecosystem::Ecosystem;
pub use import::{Importer, Limits, Rejected, Report};
pub use matching::{Matched, Matches, match_inventory};
pub use model::Record;
pub use store::{Store, StoreError};
