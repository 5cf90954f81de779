//! The `cargo-perf` binary: everything lives in the library so that it can be tested.

fn main() {
    std::process::exit(cargo_perf::main_impl());
}
