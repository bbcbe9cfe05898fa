//! One module per subcommand: its arguments and the glue from them to the library crates.

pub mod db;
pub mod deps;
pub mod inventory;
pub mod observe;
pub mod owner;
pub mod ps;
pub mod sbom;
pub mod scan;
pub mod trace;
pub mod unused;
pub mod version;
pub mod vulns;
