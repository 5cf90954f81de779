//! One module per command: each parses nothing (clap did), loads what it needs through
//! `services`, and renders through `report`. No command module imports another.

mod accept;
mod bisect;
mod calibrate;
mod check;
mod compare;
mod export;
mod history;
mod import;
mod init;
mod report;
mod run;
mod show;
mod sync;

pub use accept::accept;
pub use bisect::bisect;
pub use calibrate::calibrate;
pub use check::check;
pub use compare::compare;
pub use export::export;
pub use history::history;
pub use import::import_criterion;
pub use init::init;
pub use report::report;
pub use run::{list, record, run};
pub use show::show;
pub use sync::sync;
