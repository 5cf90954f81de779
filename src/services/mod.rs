//! What several commands do: load a workspace and its workloads, build and measure two sides,
//! save a record, report a gate. No command module imports another; they share these.

pub mod accepted;
pub mod bisect;
pub mod calibration;
pub mod gate;
mod judge;
pub mod load;
pub mod push;
pub mod save;
pub mod sides;
pub mod verbose;
