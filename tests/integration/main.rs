//! End-to-end tests of the `cargo-perf` binary: real processes, real cargo builds of the
//! fixture crates, temporary workspaces.

mod accept;
mod bad_input;
mod bisect;
mod budgets;
mod calibrate;
mod common;
mod criterion;
mod example;
mod explain;
mod face;
mod gate;
mod git;
mod hostile;
mod instructions;
mod interrupt;
mod json_doc;
mod load;
mod mutation;
mod prometheus;
mod report;
mod report_axes;
mod runner;
mod selection;
mod shards;
mod sides;
mod simulation;
mod store;
mod textkit;
mod verbose;
