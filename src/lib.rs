//! cargo-perf: performance regression testing for Rust projects.
//!
//! Layers, lowest first: fnv, parallel, interrupt, errors, vocab, workspace, config, stats, measure, discover, pipeline, gate, store, report, cli, services, commands, dispatch
//!
//! A module uses only the modules before it in that list; `.ci/run` checks it with
//! `python3 ../shared/tools/layers.py src --order ...`. Read top-down, a command flows
//! `dispatch -> commands -> services -> discover -> measure -> stats`, and its results go to
//! `store` and `report`: `cli` parses, `services` loads and builds the sides, `discover` finds the
//! workloads, `measure` runs processes, `pipeline` and `gate` turn samples into results and
//! verdicts (reporting what happens through their `Observer`), `store` keeps records and
//! `report` renders. `vocab` is the shared vocabulary every layer speaks; `dispatch` is the one
//! place that prints errors. docs/architecture.md draws it.

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
mod parallel;
pub mod pipeline;
pub mod report;
mod services;
pub mod stats;
pub mod store;
pub mod vocab;
pub mod workspace;

pub use dispatch::main_impl;
