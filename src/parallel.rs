//! Work shared out over the CPUs (up to four) with scoped threads, results in the order of the
//! items: history's rows, the index's files, the report's workloads and change-point tests.

/// The CPUs to work on, up to four.
pub fn threads() -> usize {
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4)
}

/// `f` of consecutive runs of `items`, one run per CPU (up to 4), in the order of `items`;
/// one run on this thread when there are few.
pub fn in_runs<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    if items.len() < 1000 {
        return vec![f(items)];
    }
    let per_thread = items.len().div_ceil(threads()).max(1);
    let runs: Vec<&[T]> = items.chunks(per_thread).collect();
    each_on_a_thread(&runs, |run| f(run))
}

/// `f` of each of `items`, in their order, the items shared out in runs over every CPU (up to
/// four).
pub fn map_parallel<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let per_thread = items.len().div_ceil(threads()).max(1);
    let runs: Vec<&[T]> = items.chunks(per_thread).collect();
    each_on_a_thread(&runs, |run| run.iter().map(&f).collect::<Vec<R>>())
        .into_iter()
        .flatten()
        .collect()
}

/// `f` of each of `items` (a few), each on a thread of its own, in the order of `items`.
pub fn each_on_a_thread<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.iter().map(&f).collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .iter()
            .map(|item| {
                let f = &f;
                scope.spawn(move || f(item))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
