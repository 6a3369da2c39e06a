//! One subscription to every service's change log, with a single resumable
//! cursor: the position reached in each log.

use std::collections::{BTreeMap, VecDeque};
use std::pin::Pin;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use innolab_kit::balance::Channel;
use innolab_proto::innolab::common::v1::{
    Change, StreamChangesRequest as ServiceStreamChangesRequest,
};
use innolab_proto::innolab::gateway::v1 as pb;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// A service's change log, reachable over `channel`.
#[derive(Debug, Clone)]
pub struct Log {
    /// Short service name (`membership`).
    pub service: &'static str,
    /// Its gRPC service name.
    pub grpc_name: &'static str,
    /// Where it is.
    pub channel: Channel,
}

/// The gateway's own `GatewayService`.
#[derive(Debug, Clone)]
pub struct Feed {
    logs: Vec<Log>,
}

impl Feed {
    /// A feed over these logs.
    pub fn new(logs: Vec<Log>) -> Self {
        Feed { logs }
    }

    /// INVALID_ARGUMENT (naming `cursor`) unless `token` is a cursor of
    /// this feed (or empty).
    pub fn check_cursor(&self, token: &str) -> Result<(), Status> {
        decode(token, &self.logs).map(|_| ())
    }
}

/// Position reached in each log.
type Cursor = BTreeMap<String, i64>;

fn encode(cursor: &Cursor) -> String {
    let text = cursor
        .iter()
        .map(|(service, sequence)| format!("{service}={sequence}"))
        .collect::<Vec<_>>()
        .join(",");
    URL_SAFE_NO_PAD.encode(format!("v1;{text}"))
}

fn decode(token: &str, known: &[Log]) -> Result<Cursor, Status> {
    let mut cursor = Cursor::new();
    if token.is_empty() {
        return Ok(cursor);
    }
    let bad = |why: &str| {
        Status::with_error_details(
            tonic::Code::InvalidArgument,
            format!("cursor: {why}"),
            ErrorDetails::with_bad_request_violation("cursor", why),
        )
    };
    let raw = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad("is not a cursor returned by this stream"))?;
    let text =
        String::from_utf8(raw).map_err(|_| bad("is not a cursor returned by this stream"))?;
    let body = text
        .strip_prefix("v1;")
        .ok_or_else(|| bad("is not a cursor returned by this stream"))?;
    for part in body.split(',').filter(|p| !p.is_empty()) {
        let (service, sequence) = part
            .split_once('=')
            .ok_or_else(|| bad("is not a cursor returned by this stream"))?;
        if !known.iter().any(|l| l.service == service) {
            return Err(bad(&format!("names an unknown service {service:?}")));
        }
        let sequence: i64 = sequence
            .parse()
            .ok()
            .filter(|s| *s >= 0)
            .ok_or_else(|| bad("holds an invalid position"))?;
        cursor.insert(service.to_string(), sequence);
    }
    Ok(cursor)
}

/// The stream of merged changes.
pub type Stream =
    Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::StreamChangesResponse, Status>> + Send>>;

/// How long a followed change is held for the other logs, which may still
/// deliver one that committed before it (each service sees its own commits
/// within its poll interval, 100 ms).
pub const HOLD: Duration = Duration::from_millis(250);
/// Changes held at most across the logs before the oldest goes out anyway
/// (a log that is slow to catch up does not make the gateway buffer
/// without bound).
const HELD: usize = 4096;
/// How long a change waits for a log that is still reading its backlog.
const BACKLOG_WAIT: Duration = Duration::from_secs(5);

/// What one log's relay reports.
enum Item {
    /// The next change of the log.
    Change(Change),
    /// The log was read to its end; what follows is new.
    CaughtUp,
    /// The log has nothing more (its stream ended).
    Ended,
}

/// One log in the merge: what arrived from it and is not sent yet.
struct Lane {
    service: &'static str,
    queue: VecDeque<(Change, Instant)>,
    caught_up: bool,
    ended: bool,
}

/// The merge key: commit time, then service, then the log's own order.
fn key(lane: &Lane) -> Option<(i64, &'static str, i64)> {
    lane.queue.front().map(|(change, _)| {
        let time = change
            .time
            .as_ref()
            .map_or(0, |t| t.seconds * 1_000_000 + i64::from(t.nanos) / 1_000);
        (time, lane.service, change.sequence)
    })
}

impl Feed {
    /// StreamChanges: every log merged in commit-time order, from the
    /// request's cursor.
    pub async fn stream(
        &self,
        request: Request<pb::StreamChangesRequest>,
    ) -> Result<Response<Stream>, Status> {
        let r = request.into_inner();
        let mut cursor = decode(&r.cursor, &self.logs)?;
        let (merged_tx, mut merged_rx) = mpsc::channel::<(usize, Result<Item, Status>)>(256);
        let mut lanes = Vec::new();
        for (index, log) in self.logs.iter().enumerate() {
            let after = cursor.get(log.service).copied().unwrap_or(0);
            tokio::spawn(relay(
                index,
                log.clone(),
                after,
                r.follow,
                merged_tx.clone(),
            ));
            lanes.push(Lane {
                service: log.service,
                queue: VecDeque::new(),
                caught_up: false,
                ended: false,
            });
        }
        drop(merged_tx);

        // A caller that stops reading is dropped once this buffer has stayed
        // full; the relays then end, giving back the services' streams.
        let (out_tx, out_rx) = innolab_kit::subscriber::channel(256, || {
            Status::resource_exhausted(innolab_kit::subscriber::STALLED_MESSAGE)
        });
        tokio::spawn(async move {
            // Ends when every log has ended, on the first error, or when the
            // caller went away.
            let mut held_long = false;
            loop {
                let held: usize = lanes.iter().map(|l| l.queue.len()).sum();
                let next = lanes
                    .iter()
                    .enumerate()
                    .filter_map(|(i, lane)| key(lane).map(|k| (k, i)))
                    .min();
                // A change goes out once no other log can still deliver an
                // earlier one: each other log has one queued (later, since
                // this is the earliest), or has ended; or, for a log that
                // is caught up and quiet, once the change was held HOLD.
                let wait = match next {
                    None if lanes.iter().all(|l| l.ended) => return,
                    None => None,
                    Some((_, i)) => {
                        let arrived = lanes[i]
                            .queue
                            .front()
                            .map_or_else(Instant::now, |(_, at)| *at);
                        let quiet = |l: &Lane| !l.ended && l.queue.is_empty();
                        if held >= HELD || !lanes.iter().any(quiet) {
                            Some(Duration::ZERO)
                        } else {
                            // A log still reading its backlog is waited for
                            // longer than one that is caught up and quiet.
                            let bound = if lanes.iter().filter(|l| quiet(l)).all(|l| l.caught_up) {
                                HOLD
                            } else {
                                BACKLOG_WAIT
                            };
                            Some(bound.saturating_sub(arrived.elapsed()))
                        }
                    }
                };
                if let Some((_, i)) = next
                    && (held_long || wait == Some(Duration::ZERO))
                {
                    held_long = false;
                    let Some((change, _)) = lanes[i].queue.pop_front() else {
                        continue;
                    };
                    let service = lanes[i].service;
                    cursor.insert(service.to_string(), change.sequence);
                    let reply = pb::StreamChangesResponse {
                        service: service.to_string(),
                        change: Some(change),
                        cursor: encode(&cursor),
                    };
                    if out_tx.send(Ok(reply)).await.is_err() {
                        return;
                    }
                    continue;
                }
                let left = wait.unwrap_or(BACKLOG_WAIT);
                let received = tokio::select! {
                    received = merged_rx.recv() => received,
                    // Held long enough: the loop sends it now.
                    () = tokio::time::sleep(left) => {
                        held_long = wait.is_some();
                        continue;
                    }
                    // The caller went away: the relays stop with this.
                    () = out_tx.closed() => return,
                };
                match received {
                    Some((i, Ok(Item::Change(change)))) => {
                        lanes[i].queue.push_back((change, Instant::now()));
                    }
                    Some((i, Ok(Item::CaughtUp))) => lanes[i].caught_up = true,
                    Some((i, Ok(Item::Ended))) => lanes[i].ended = true,
                    Some((_, Err(status))) => {
                        let _ = out_tx.send(Err(status)).await;
                        return;
                    }
                    // Every relay is gone (they always say Ended first).
                    None => lanes.iter_mut().for_each(|l| l.ended = true),
                }
            }
        });
        Ok(Response::new(Box::pin(out_rx)))
    }
}

/// Copies one service's log into the merge: the backlog (a stream that ends
/// at the log's end), then, when following, what commits from then on.
async fn relay(
    lane: usize,
    log: Log,
    after: i64,
    follow: bool,
    out: mpsc::Sender<(usize, Result<Item, Status>)>,
) {
    let Some(last) = copy(lane, &log, after, false, &out).await else {
        return;
    };
    if follow
        && (out.send((lane, Ok(Item::CaughtUp))).await.is_err()
            || copy(lane, &log, last, true, &out).await.is_none())
    {
        return;
    }
    let _ = out.send((lane, Ok(Item::Ended))).await;
}

/// One `StreamChanges` of `log` after `after`, copied into the merge; the
/// last sequence seen, or `None` when the stream failed or the merge went
/// away.
async fn copy(
    lane: usize,
    log: &Log,
    after: i64,
    follow: bool,
    out: &mpsc::Sender<(usize, Result<Item, Status>)>,
) -> Option<i64> {
    let fail = |status: Status| async move {
        let _ = out.send((lane, Err(status))).await;
        None
    };
    let unavailable =
        |e: &dyn std::fmt::Display| Status::unavailable(format!("{}: {e}", log.service));
    let mut grpc = tonic::client::Grpc::new(log.channel.clone());
    if let Err(e) = grpc.ready().await {
        return fail(unavailable(&e)).await;
    }
    let path = match http::uri::PathAndQuery::try_from(format!("/{}/StreamChanges", log.grpc_name))
    {
        Ok(path) => path,
        Err(e) => return fail(Status::internal(e.to_string())).await,
    };
    let request = Request::new(ServiceStreamChangesRequest {
        after_sequence: after,
        follow,
    });
    let codec = tonic_prost::ProstCodec::<ServiceStreamChangesRequest, Change>::default();
    let mut stream = match grpc.server_streaming(request, path, codec).await {
        Ok(response) => response.into_inner(),
        Err(status) => return fail(unavailable(&status.message())).await,
    };
    let mut last = after;
    loop {
        let message = tokio::select! {
            message = stream.message() => message,
            () = out.closed() => return None,
        };
        match message {
            Ok(Some(change)) => {
                last = change.sequence;
                if out.send((lane, Ok(Item::Change(change)))).await.is_err() {
                    return None;
                }
            }
            Ok(None) => return Some(last),
            Err(status) => return fail(unavailable(&status.message())).await,
        }
    }
}
