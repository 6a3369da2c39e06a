//! Limits at the gateway: a global bound on calls in progress, a rate per
//! client, a largest message, and a deadline for unary calls that set none.
//! Refusals are RESOURCE_EXHAUSTED with a `google.rpc.RetryInfo` saying when
//! to try again.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use innolab_kit::config::ConfigError;
use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;
use tonic_types::{ErrorDetails, StatusExt};

/// The limits, shared by every call.
#[derive(Debug, Clone)]
pub struct Limits {
    calls: Arc<Semaphore>,
    max_calls: usize,
    /// Calls in progress per client, so that one client (even within its
    /// rate) cannot take every slot of `calls`.
    per_client: Arc<Mutex<HashMap<String, usize>>>,
    max_calls_per_client: usize,
    rate: Option<Arc<DefaultKeyedRateLimiter<String>>>,
    /// Largest gRPC message a caller may send, in bytes.
    pub max_message_bytes: usize,
    /// Deadline given to unary calls that arrive without one.
    pub default_deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(1024, None, 4 * 1024 * 1024, Duration::from_secs(30))
    }
}

/// RESOURCE_EXHAUSTED, retry after `after`.
pub fn exhausted(message: String, after: Duration) -> Status {
    Status::with_error_details(
        tonic::Code::ResourceExhausted,
        message,
        ErrorDetails::with_retry_info(Some(after)),
    )
}

impl Limits {
    /// At most `max_calls` in progress; `rate` = (per second, burst) per client.
    pub fn new(
        max_calls: usize,
        rate: Option<(NonZeroU32, NonZeroU32)>,
        max_message_bytes: usize,
        default_deadline: Duration,
    ) -> Limits {
        Limits {
            calls: Arc::new(Semaphore::new(max_calls)),
            max_calls,
            per_client: Arc::default(),
            max_calls_per_client: max_calls,
            rate: rate.map(|(per_second, burst)| {
                Arc::new(RateLimiter::keyed(
                    Quota::per_second(per_second).allow_burst(burst),
                ))
            }),
            max_message_bytes,
            default_deadline,
        }
    }

    /// Reads `INNOLAB_MAX_CONCURRENT_CALLS` (default 512),
    /// `INNOLAB_RATE_LIMIT_PER_SECOND` (per client; default 100 when clients
    /// are identified, off in open development mode where every caller is
    /// one client; 0 turns it off), `INNOLAB_RATE_LIMIT_BURST` (default 200),
    /// `INNOLAB_MAX_MESSAGE_BYTES` (default 4 MiB) and
    /// `INNOLAB_DEFAULT_DEADLINE_MS` (default 30000).
    pub fn from_vars(
        var: impl Fn(&str) -> Option<String>,
        identified: bool,
    ) -> Result<Limits, ConfigError> {
        let number = |name: &'static str, default: u64, min: u64, max: u64| match var(name)
            .filter(|v| !v.trim().is_empty())
        {
            None => Ok(default),
            Some(v) => v
                .trim()
                .parse::<u64>()
                .ok()
                .filter(|n| (min..=max).contains(n))
                .ok_or_else(|| ConfigError {
                    setting: name,
                    reason: format!("must be a whole number from {min} to {max}, got {v:?}"),
                }),
        };
        let max_calls = number("INNOLAB_MAX_CONCURRENT_CALLS", 512, 1, 1_000_000)?;
        let per_client = number(
            "INNOLAB_MAX_CONCURRENT_CALLS_PER_CLIENT",
            if identified {
                64.min(max_calls)
            } else {
                max_calls
            },
            1,
            1_000_000,
        )?;
        let per_second = number(
            "INNOLAB_RATE_LIMIT_PER_SECOND",
            if identified { 100 } else { 0 },
            0,
            1_000_000,
        )?;
        let burst = number("INNOLAB_RATE_LIMIT_BURST", 200, 1, 1_000_000)?;
        let max_message = number("INNOLAB_MAX_MESSAGE_BYTES", 4 * 1024 * 1024, 1024, 1 << 30)?;
        let deadline = number("INNOLAB_DEFAULT_DEADLINE_MS", 30_000, 1, 3_600_000)?;
        let rate = NonZeroU32::new(u32::try_from(per_second).unwrap_or(u32::MAX)).map(|ps| {
            (
                ps,
                NonZeroU32::new(u32::try_from(burst).unwrap_or(u32::MAX)).unwrap_or(ps),
            )
        });
        Ok(Limits::new(
            usize::try_from(max_calls).unwrap_or(usize::MAX),
            rate,
            usize::try_from(max_message).unwrap_or(usize::MAX),
            Duration::from_millis(deadline),
        )
        .per_client(usize::try_from(per_client).unwrap_or(usize::MAX)))
    }

    /// A place for one call of `client`, held until the call is answered.
    /// At most `max` calls in progress per client.
    pub fn per_client(mut self, max: usize) -> Limits {
        self.max_calls_per_client = max.max(1);
        self
    }

    pub fn admit(&self, client: &str) -> Result<Permit, Status> {
        if let Some(rate) = &self.rate
            && let Err(not_until) = rate.check_key(&client.to_string())
        {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            return Err(exhausted(
                format!("client {client} is over its rate limit; retry after {wait:?}"),
                wait.max(Duration::from_millis(10)),
            ));
        }
        let slot = {
            let mut counts = self.per_client.lock().unwrap_or_else(|p| p.into_inner());
            let count = counts.entry(client.to_string()).or_insert(0);
            if *count >= self.max_calls_per_client {
                return Err(exhausted(
                    format!(
                        "client {client} is at its limit of {} calls in progress; retry shortly",
                        self.max_calls_per_client
                    ),
                    Duration::from_millis(200),
                ));
            }
            *count += 1;
            ClientSlot {
                counts: self.per_client.clone(),
                client: client.to_string(),
            }
        };
        let global = self.calls.clone().try_acquire_owned().map_err(|_| {
            exhausted(
                format!(
                    "the gateway is at its limit of {} calls in progress; retry shortly",
                    self.max_calls
                ),
                Duration::from_millis(200),
            )
        })?;
        Ok(Permit {
            _global: global,
            _client: slot,
        })
    }
}

/// A call's place in the limits, given back when the call ends.
#[derive(Debug)]
pub struct Permit {
    _global: OwnedSemaphorePermit,
    _client: ClientSlot,
}

/// A call's place in its client's count.
#[derive(Debug)]
struct ClientSlot {
    counts: Arc<Mutex<HashMap<String, usize>>>,
    client: String,
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(count) = counts.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.client);
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_and_rate_are_bounded_with_retry_info() {
        let limits = Limits::new(
            2,
            Some((NonZeroU32::new(1).unwrap(), NonZeroU32::new(3).unwrap())),
            1024,
            Duration::from_secs(1),
        );
        let a = limits.admit("a").unwrap();
        let _b = limits.admit("a").unwrap();
        let status = limits.admit("b").unwrap_err();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(status.get_details_retry_info().is_some());
        drop(a);
        // Client a has used its burst of 3 (the third call was let in now).
        limits.admit("a").map(drop).unwrap();
        let status = limits.admit("a").unwrap_err();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(status.message().contains("rate limit"));
    }

    #[test]
    fn one_client_cannot_take_every_slot() {
        let limits = Limits::new(10, None, 1024, Duration::from_secs(1)).per_client(2);
        let a1 = limits.admit("a").unwrap();
        let _a2 = limits.admit("a").unwrap();
        let status = limits.admit("a").unwrap_err();
        assert_eq!(status.code(), tonic::Code::ResourceExhausted);
        assert!(status.message().contains("client a"));
        let _b = limits.admit("b").unwrap();
        drop(a1);
        limits.admit("a").map(drop).unwrap();
    }

    #[test]
    fn settings_are_checked() {
        let vars = |name: &str| (name == "INNOLAB_MAX_CONCURRENT_CALLS").then(|| "0".to_string());
        let error = Limits::from_vars(vars, true).unwrap_err();
        assert_eq!(error.setting, "INNOLAB_MAX_CONCURRENT_CALLS");
        assert!(Limits::from_vars(|_| None, true).unwrap().rate.is_some());
        assert!(Limits::from_vars(|_| None, false).unwrap().rate.is_none());
    }
}
