//! Length-prefixed messages as they stream: gRPC frames and Connect
//! envelopes share one shape (a flags byte, a 4-byte big-endian length,
//! the payload), so one body adapter turns either into the other, a
//! message at a time, without holding more than one message.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;
use http_body::Frame;
use tonic::Status;
use tonic::body::Body;

/// Maps one message (its flags and payload) to the bytes written instead.
pub(super) type MapMessage = Box<dyn FnMut(u8, Bytes) -> Result<Bytes, Status> + Send>;

/// At the end of the stream (its trailers, none, or why it broke off): the
/// last frame written, if any, or the error the body ends with instead (the
/// connection is then cut, for formats that cannot say it in-band).
pub(super) type End = Box<
    dyn FnOnce(Result<Option<HeaderMap>, Status>) -> Option<Result<Frame<Bytes>, Status>> + Send,
>;

/// A body of length-prefixed messages rewritten one by one.
pub(super) struct Reframe {
    inner: Body,
    buffer: BytesMut,
    limit: usize,
    map: MapMessage,
    end: Option<End>,
}

impl Reframe {
    /// Rewrites `inner`'s messages with `map`; `end` writes the last frame.
    /// A message longer than `limit` ends the stream with RESOURCE_EXHAUSTED.
    pub(super) fn new(inner: Body, limit: usize, map: MapMessage, end: End) -> Self {
        Reframe {
            inner,
            buffer: BytesMut::new(),
            limit,
            map,
            end: Some(end),
        }
    }

    /// The next whole message in the buffer, if there is one.
    fn next_message(&mut self) -> Result<Option<(u8, Bytes)>, Status> {
        if self.buffer.len() < 5 {
            return Ok(None);
        }
        let length = u32::from_be_bytes([
            self.buffer[1],
            self.buffer[2],
            self.buffer[3],
            self.buffer[4],
        ]) as usize;
        if length > self.limit {
            return Err(super::over_limit(self.limit));
        }
        if self.buffer.len() < 5 + length {
            return Ok(None);
        }
        let flags = self.buffer[0];
        self.buffer.advance(5);
        Ok(Some((flags, self.buffer.split_to(length).freeze())))
    }

    /// Ends the stream with `how`; `Ready(None)` when nothing is left to write.
    fn finish(
        &mut self,
        how: Result<Option<HeaderMap>, Status>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        match self.end.take() {
            Some(end) => Poll::Ready(end(how)),
            None => Poll::Ready(None),
        }
    }
}

impl http_body::Body for Reframe {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let this = &mut *self;
        loop {
            if this.end.is_none() {
                return Poll::Ready(None);
            }
            match this.next_message() {
                Ok(Some((flags, payload))) => {
                    return match (this.map)(flags, payload) {
                        Ok(bytes) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
                        Err(status) => this.finish(Err(status)),
                    };
                }
                Ok(None) => {}
                Err(status) => return this.finish(Err(status)),
            }
            match Pin::new(&mut this.inner).poll_frame(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(frame))) => match frame.into_data() {
                    Ok(data) => this.buffer.extend_from_slice(&data),
                    Err(frame) => {
                        if let Ok(trailers) = frame.into_trailers() {
                            if !this.buffer.is_empty() {
                                return this.finish(Err(incomplete()));
                            }
                            return this.finish(Ok(Some(trailers)));
                        }
                    }
                },
                Poll::Ready(Some(Err(status))) => return this.finish(Err(status)),
                Poll::Ready(None) => {
                    if !this.buffer.is_empty() {
                        return this.finish(Err(incomplete()));
                    }
                    return this.finish(Ok(None));
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.end.is_none()
    }
}

fn incomplete() -> Status {
    Status::invalid_argument("the stream ended inside a message")
}
