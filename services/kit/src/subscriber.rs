//! A bounded buffer in front of one subscriber of a long-lived stream (a
//! followed change feed, a relayed server stream), so that a subscriber that
//! stops reading costs only itself.
//!
//! The producer sends into a channel of fixed capacity. While the subscriber
//! reads, the channel drains and nothing waits for long. When the channel has
//! stayed full for [`STALL`], the subscriber is dropped: the producer is told
//! to stop (so it lets go of whatever it reads from, e.g. the HTTP/2 stream
//! to a service, whose flow-control window other calls share), and the
//! subscriber, once it reads again, gets what was buffered and then
//! `RESOURCE_EXHAUSTED`, from which it can resume at its last cursor.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::SendTimeoutError;

/// How long a subscriber's buffer may stay full before the subscriber is
/// dropped. Long enough for a reader that is merely slow (a pause, a full
/// TCP buffer being drained), short enough that a reader that stopped does
/// not hold the producer's resources.
pub const STALL: Duration = Duration::from_secs(5);

/// The message a dropped subscriber gets.
pub const STALLED_MESSAGE: &str = "the subscriber did not read for 5 s while its buffer was full; \
     resume from the last cursor received";

/// The producer's end.
#[derive(Debug)]
pub struct Sender<T, E> {
    tx: mpsc::Sender<Result<T, E>>,
    last: Arc<Mutex<Option<E>>>,
    stall: Duration,
    stalled: fn() -> E,
}

/// The subscriber's end: the items sent, then the error that dropped it, if
/// any.
#[derive(Debug)]
pub struct Subscription<T, E> {
    rx: mpsc::Receiver<Result<T, E>>,
    last: Arc<Mutex<Option<E>>>,
}

/// A buffer of `capacity` items; `stalled` makes the error a dropped
/// subscriber gets.
pub fn channel<T, E>(capacity: usize, stalled: fn() -> E) -> (Sender<T, E>, Subscription<T, E>) {
    channel_with(capacity, STALL, stalled)
}

/// As [`channel`], with another stall time (tests).
pub fn channel_with<T, E>(
    capacity: usize,
    stall: Duration,
    stalled: fn() -> E,
) -> (Sender<T, E>, Subscription<T, E>) {
    let (tx, rx) = mpsc::channel(capacity.max(1));
    let last = Arc::new(Mutex::new(None));
    (
        Sender {
            tx,
            last: last.clone(),
            stall,
            stalled,
        },
        Subscription { rx, last },
    )
}

/// Why the producer must stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The subscriber went away.
    Gone,
    /// The subscriber stopped reading and has been dropped.
    Stalled,
}

impl<T, E> Sender<T, E> {
    /// Sends one item, waiting at most the stall time for room. `Err` means
    /// stop producing (and drop what is being read from).
    pub async fn send(&self, item: Result<T, E>) -> Result<(), Stop> {
        match self.tx.send_timeout(item, self.stall).await {
            Ok(()) => Ok(()),
            Err(SendTimeoutError::Closed(_)) => Err(Stop::Gone),
            Err(SendTimeoutError::Timeout(_)) => {
                if let Ok(mut last) = self.last.lock() {
                    *last = Some((self.stalled)());
                }
                Err(Stop::Stalled)
            }
        }
    }

    /// Completes when the subscriber has gone away.
    pub async fn closed(&self) {
        self.tx.closed().await;
    }
}

impl<T, E> tokio_stream::Stream for Subscription<T, E> {
    type Item = Result<T, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.rx.poll_recv(cx) {
            Poll::Ready(None) => {
                // Everything buffered has been read; then why it ended.
                let last = self.last.lock().ok().and_then(|mut l| l.take());
                Poll::Ready(last.map(Err))
            }
            other => other,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use tokio_stream::StreamExt as _;

    #[tokio::test]
    async fn a_reader_gets_everything_and_a_stalled_one_is_dropped_after_the_buffer() {
        let (tx, mut rx) =
            channel_with::<u32, &'static str>(2, Duration::from_millis(50), || "stalled");
        tx.send(Ok(1)).await.unwrap();
        tx.send(Ok(2)).await.unwrap();
        assert_eq!(tx.send(Ok(3)).await, Err(Stop::Stalled));
        drop(tx);
        assert_eq!(rx.next().await, Some(Ok(1)));
        assert_eq!(rx.next().await, Some(Ok(2)));
        assert_eq!(rx.next().await, Some(Err("stalled")));
        assert_eq!(rx.next().await, None);
    }

    #[tokio::test]
    async fn a_subscriber_that_left_stops_the_producer() {
        let (tx, rx) = channel::<u32, ()>(2, || ());
        drop(rx);
        assert_eq!(tx.send(Ok(1)).await, Err(Stop::Gone));
    }
}
