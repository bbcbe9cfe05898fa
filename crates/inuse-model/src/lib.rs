//! The shared vocabulary of inuse.
//!
//! Every crate speaks of the same things: a package, how strongly its use was measured, over
//! which window, which vulnerability affects it, which process or container has it. They are
//! defined here once, at the ground floor (this crate depends on serde only), so that the
//! collectors, the matcher, the report and its renderers, and later the fleet server, agree on
//! one meaning and one JSON for each.
//!
//! The JSON of these types is a contract: documents made of them carry [`SCHEMA_VERSION`] at
//! their top level. Adding a field never changes the version; changing a field's meaning does.

pub mod time;
