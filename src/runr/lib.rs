//! runr's command-line grammar as a library: the binary parses with it, and
//! `src/docgen` makes runr's man pages and shell completions from the same
//! definitions (so the binary itself links no generator).
pub mod cli;
