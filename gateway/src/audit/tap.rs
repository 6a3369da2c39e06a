//! Bodies that record what passes through them for the audit log: a SHA-256
//! of every byte, and the start of the first message (to name the resource),
//! without holding the stream back.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http::HeaderMap;
use http_body::Frame;
use prost_reflect::{DynamicMessage, Value};
use sha2::{Digest, Sha256};
use tonic::body::Body;

/// How much of the first message is kept to name the resource.
const FIRST_BYTES: usize = 64 * 1024;

/// What a body carried.
#[derive(Debug, Default)]
pub struct Seen {
    hasher: Sha256,
    first: Vec<u8>,
}

impl Seen {
    /// Takes in the next bytes of the body.
    pub fn add(&mut self, data: &[u8]) {
        self.hasher.update(data);
        if self.first.len() < FIRST_BYTES {
            let room = FIRST_BYTES - self.first.len();
            self.first.extend_from_slice(&data[..room.min(data.len())]);
        }
    }

    /// The hash so far (hex) and the start of the body.
    pub fn finish(&self) -> (String, Vec<u8>) {
        (
            super::hex(&self.hasher.clone().finalize()),
            self.first.clone(),
        )
    }
}

/// Shared view of a body's bytes.
pub type Shared = Arc<Mutex<Seen>>;

type OnEnd = Box<dyn FnOnce(Option<String>) + Send>;

/// A body that feeds `seen`, and calls `on_end` once with the gRPC status
/// from its trailers (or `None` if the stream was dropped before its end).
pub struct Tap {
    inner: Body,
    seen: Shared,
    on_end: Option<OnEnd>,
}

impl Tap {
    /// Taps `inner` into `seen`.
    pub fn new(inner: Body, seen: Shared) -> Tap {
        Tap {
            inner,
            seen,
            on_end: None,
        }
    }

    /// Also calls `on_end` when the body ends.
    pub fn on_end(mut self, on_end: impl FnOnce(Option<String>) + Send + 'static) -> Tap {
        self.on_end = Some(Box::new(on_end));
        self
    }

    fn end(&mut self, trailers: Option<&HeaderMap>) {
        if let Some(on_end) = self.on_end.take() {
            let code = trailers
                .and_then(|t| t.get("grpc-status"))
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .unwrap_or_else(|| "0".into());
            on_end(Some(code));
        }
    }
}

impl std::fmt::Debug for Tap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tap").finish_non_exhaustive()
    }
}

impl Drop for Tap {
    fn drop(&mut self) {
        if let Some(on_end) = self.on_end.take() {
            on_end(None);
        }
    }
}

impl http_body::Body for Tap {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, tonic::Status>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if let Ok(mut seen) = self.seen.lock() {
                        seen.add(data.chunk());
                    }
                } else if let Some(trailers) = frame.trailers_ref() {
                    let trailers = trailers.clone();
                    self.end(Some(&trailers));
                }
            }
            Poll::Ready(None) => self.end(None),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The resource a call names: the request's `name`, `parent` or `person`, or a
/// `name` inside its message fields; else the `name` of the answer (what a
/// create made).
pub fn resource(method: &str, request: &[u8], response: &[u8]) -> String {
    let Ok(descriptor) = crate::json::method(&format!("/{method}")) else {
        return String::new();
    };
    let named = |message: Option<DynamicMessage>| -> String {
        let Some(message) = message else {
            return String::new();
        };
        for field in ["name", "parent", "person"] {
            if let Some(value) = message.get_field_by_name(field)
                && let Value::String(s) = value.as_ref()
                && !s.is_empty()
            {
                return s.clone();
            }
        }
        for (_, value) in message.fields() {
            if let Value::Message(inner) = value
                && let Some(name) = inner.get_field_by_name("name")
                && let Value::String(s) = name.as_ref()
                && !s.is_empty()
            {
                return s.clone();
            }
        }
        String::new()
    };
    let decode = |bytes: &[u8], input: bool| -> Option<DynamicMessage> {
        let kind = if input {
            descriptor.input()
        } else {
            descriptor.output()
        };
        // The first gRPC message: flag, length, payload (uncompressed only).
        if bytes.len() < 5 || bytes[0] != 0 {
            return None;
        }
        let length = u32::from_be_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]) as usize;
        let payload = bytes.get(5..5 + length)?;
        DynamicMessage::decode(kind, payload).ok()
    };
    let from_request = named(decode(request, true));
    if !from_request.is_empty() {
        return from_request;
    }
    named(decode(response, false))
}
