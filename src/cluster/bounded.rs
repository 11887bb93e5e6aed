//! Running a cluster's requests with a bounded number in flight, results
//! in order. Unlike `futures`' `buffered`, which starts nothing new while
//! the oldest request is still out (one slow answer drains the pipeline),
//! every free slot is refilled at once.

use futures::StreamExt;
use std::future::Future;

/// `f` over `items`, at most `at_once` running at a time (at least one);
/// the results in the items' order.
pub async fn map_bounded<I, T, F, Fut>(items: I, at_once: usize, mut f: F) -> Vec<T>
where
    I: IntoIterator,
    F: FnMut(I::Item) -> Fut,
    Fut: Future<Output = T>,
{
    let mut done: Vec<(usize, T)> = futures::stream::iter(items.into_iter().enumerate())
        .map(|(i, item)| {
            let running = f(item);
            async move { (i, running.await) }
        })
        .buffer_unordered(at_once.max(1))
        .collect()
        .await;
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, t)| t).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn a_slow_item_does_not_hold_back_the_others_and_order_is_kept() {
        let running = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let started = std::time::Instant::now();
        // Item 0 is slow; with `buffered(2)` the other eight would run one
        // at a time beside it (9 × 10 ms), here they share the second slot.
        let out = map_bounded(0..9u64, 2, |i| {
            let (running, peak) = (&running, &peak);
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let ms = if i == 0 { 200 } else { 10 };
                tokio::time::sleep(Duration::from_millis(ms)).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i * 10
            }
        })
        .await;
        assert_eq!(out, (0..9).map(|i| i * 10).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 2, "never more than the bound");
        println!("9 items, bound 2, one slow: {:?}", started.elapsed());
    }

    #[tokio::test]
    async fn bounded_runs_keep_input_order_and_the_limit() {
        let in_flight = AtomicUsize::new(0);
        let peak = AtomicUsize::new(0);
        let out = map_bounded(0..10u64, 3, |i| {
            let (in_flight, peak) = (&in_flight, &peak);
            async move {
                let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10 - i)).await;
                in_flight.fetch_sub(1, Ordering::SeqCst);
                i * 2
            }
        })
        .await;
        assert_eq!(out, (0..10).map(|i| i * 2).collect::<Vec<_>>());
        assert!(peak.load(Ordering::SeqCst) <= 3);
        assert!(peak.load(Ordering::SeqCst) >= 2);
    }
}
