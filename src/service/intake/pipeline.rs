//! Bulk work in two stages on two threads: one produces batches (reading, generating, placing: CPU), the other
//! consumes them (writing: the database), with a short queue between so that memory stays bounded. When the consumer
//! fails, the producer is told at its next hand-over and stops.

use std::sync::mpsc::sync_channel;

/// Batches waiting between the stages.
const QUEUE: usize = 2;

/// Runs `produce` on its own thread and `consume` on this one. `produce` hands each batch to the function it is
/// given, which answers `false` once the consumer has stopped. Returns what `produce` returned, or the consumer's
/// first error.
pub fn run<B, R, E>(
    produce: impl FnOnce(&dyn Fn(B) -> bool) -> R + Send,
    mut consume: impl FnMut(B) -> Result<(), E>,
    panicked: impl FnOnce() -> E,
) -> Result<R, E>
where
    B: Send,
    R: Send,
{
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<B>(QUEUE);
        let producer = s.spawn(move || produce(&|batch| tx.send(batch).is_ok()));
        let mut failed = None;
        for batch in rx.iter() {
            if let Err(e) = consume(batch) {
                failed = Some(e);
                break;
            }
        }
        // Dropping the receiver makes the producer's next hand-over fail, so it stops.
        drop(rx);
        let produced = producer.join();
        match (failed, produced) {
            (Some(e), _) => Err(e),
            (None, Ok(r)) => Ok(r),
            (None, Err(_)) => Err(panicked()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_batch_arrives_in_order() {
        let mut got = Vec::new();
        let r: Result<u32, String> = run(
            |send| {
                for k in 0..100u32 {
                    assert!(send(k));
                }
                7
            },
            |b| {
                got.push(b);
                Ok(())
            },
            || "panic".into(),
        );
        assert_eq!(r, Ok(7));
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn a_failing_consumer_stops_the_producer() {
        let r: Result<usize, String> = run(
            |send| (0..1_000_000u32).take_while(|k| send(*k)).count(),
            |b| {
                if b == 3 {
                    Err(format!("failed at {b}"))
                } else {
                    Ok(())
                }
            },
            || "panic".into(),
        );
        assert_eq!(r, Err("failed at 3".into()));
    }
}
