//! cargo-perf: performance regression testing for Rust projects.
//!
//! The flow is `cli -> dispatch -> config -> workspace/discover -> measure -> stats -> report ->
//! exit code`; `dispatch` is the one place that prints errors.

pub mod cli;
mod commands;
pub mod config;
pub mod discover;
mod dispatch;
pub mod errors;
mod fnv;
pub mod gate;
pub mod interrupt;
pub mod measure;
pub mod pipeline;
pub mod report;
pub mod stats;
pub mod store;
pub mod workspace;

pub use dispatch::main_impl;
