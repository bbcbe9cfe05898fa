//! One module per subcommand: its arguments and the glue from them to the library crates.

pub mod deps;
