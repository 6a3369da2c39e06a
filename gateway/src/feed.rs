//! One subscription to every service's change log, with a single resumable
//! cursor: the position reached in each log.

use std::collections::BTreeMap;
use std::pin::Pin;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use innolab_kit::balance::Channel;
use innolab_proto::innolab::common::v1::Change;
use innolab_proto::innolab::gateway::v1 as pb;
use tokio::sync::mpsc;
use tonic::{Request, Response, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The request every service's `StreamChanges` takes (the same fields and
/// numbers in each service's package).
#[derive(Clone, PartialEq, prost::Message)]
struct ServiceStreamChangesRequest {
    #[prost(int64, tag = "1")]
    after_sequence: i64,
    #[prost(bool, tag = "2")]
    follow: bool,
}

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

impl Feed {
    /// StreamChanges: every log merged, from the request's cursor.
    pub async fn stream(
        &self,
        request: Request<pb::StreamChangesRequest>,
    ) -> Result<Response<Stream>, Status> {
        let r = request.into_inner();
        let mut cursor = decode(&r.cursor, &self.logs)?;
        let (merged_tx, mut merged_rx) =
            mpsc::channel::<Result<(&'static str, Change), Status>>(256);
        for log in &self.logs {
            let after = cursor.get(log.service).copied().unwrap_or(0);
            tokio::spawn(relay(log.clone(), after, r.follow, merged_tx.clone()));
        }
        drop(merged_tx);

        // A caller that stops reading is dropped once this buffer has stayed
        // full; the relays then end, giving back the services' streams.
        let (out_tx, out_rx) = innolab_kit::subscriber::channel(256, || {
            Status::resource_exhausted(innolab_kit::subscriber::STALLED_MESSAGE)
        });
        tokio::spawn(async move {
            // Ends when every relay has finished (or the caller went away).
            while let Some(item) = merged_rx.recv().await {
                let reply = item.map(|(service, change)| {
                    cursor.insert(service.to_string(), change.sequence);
                    pb::StreamChangesResponse {
                        service: service.to_string(),
                        change: Some(change),
                        cursor: encode(&cursor),
                    }
                });
                let failed = reply.is_err();
                if out_tx.send(reply).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(out_rx)))
    }
}

/// Copies one service's log into the merged channel.
async fn relay(
    log: Log,
    after: i64,
    follow: bool,
    out: mpsc::Sender<Result<(&'static str, Change), Status>>,
) {
    let unavailable =
        |e: &dyn std::fmt::Display| Status::unavailable(format!("{}: {e}", log.service));
    let mut grpc = tonic::client::Grpc::new(log.channel.clone());
    if let Err(e) = grpc.ready().await {
        let _ = out.send(Err(unavailable(&e))).await;
        return;
    }
    let path = match http::uri::PathAndQuery::try_from(format!("/{}/StreamChanges", log.grpc_name))
    {
        Ok(path) => path,
        Err(e) => {
            let _ = out.send(Err(Status::internal(e.to_string()))).await;
            return;
        }
    };
    let request = Request::new(ServiceStreamChangesRequest {
        after_sequence: after,
        follow,
    });
    let codec = tonic_prost::ProstCodec::<ServiceStreamChangesRequest, Change>::default();
    let mut stream = match grpc.server_streaming(request, path, codec).await {
        Ok(response) => response.into_inner(),
        Err(status) => {
            let _ = out.send(Err(unavailable(&status.message()))).await;
            return;
        }
    };
    loop {
        let message = tokio::select! {
            message = stream.message() => message,
            () = out.closed() => return,
        };
        match message {
            Ok(Some(change)) => {
                if out.send(Ok((log.service, change))).await.is_err() {
                    return;
                }
            }
            Ok(None) => return,
            Err(status) => {
                let _ = out.send(Err(unavailable(&status.message()))).await;
                return;
            }
        }
    }
}
