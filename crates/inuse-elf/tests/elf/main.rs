//! Integration tests of `inuse-elf` against real files: gcc-built fixtures and the host's own
//! libraries, checked against `readelf`, plus hostile inputs that must never panic.

mod hostile;
mod oracle;
mod read_file;
mod readelf;
mod support;
