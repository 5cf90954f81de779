//! The shared vocabulary: samples and failures, throughput, size classes, metrics and statuses,
//! durations and sizes and their formatting, accepted changes, the lines `-v` prints. The
//! bottom of the crate: it imports nothing of the crate but errors, and every other module may
//! use it.

mod accepted;
mod counts;
mod explain;
mod kinds;
pub mod load;
mod machine;
pub mod marks;
mod order;
mod sample;
pub mod service_metrics;
mod shown;
mod throughput;
pub mod units;

pub use accepted::{
    ACCEPTANCE_SCHEMA, Acceptance, Source as AcceptanceSource, TRAILER_KEY, check_pattern,
    parse_acceptances, parse_trailers, pattern_matches,
};
pub use counts::Counts;
pub use explain::{
    Explanation, ExplanationKind, FunctionChange, LayoutPolicy, Profile, SideFigures,
};
pub use kinds::{Class, Metric, Status};
pub use machine::check_machine_key;
pub use order::{CRITERION_PREFIX, Place, WorkloadOrder};
pub use sample::{Failure, Sample};
pub use shown::{Shown, command_line};
pub use throughput::{Throughput, ThroughputUnit};
