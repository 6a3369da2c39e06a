//! Raw bytes on the wire, for tests that talk below the clients: a plain
//! HTTP/1.1 POST and a gRPC frame.

use std::net::SocketAddr;

/// A plain HTTP/1.1 POST of JSON, the way curl sends it: (status, body text).
pub async fn http_post(addr: SocketAddr, path: &str, json: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        // One chunk is all these small answers take.
        body.split_once("\r\n")
            .unwrap()
            .1
            .rsplit_once("\r\n0")
            .unwrap()
            .0
            .trim_end()
            .to_string()
    } else {
        body.to_string()
    };
    (status, body)
}

/// A gRPC message with its five-byte prefix, for raw HTTP/2 clients.
pub fn grpc_frame(message: &impl prost::Message) -> bytes::Bytes {
    let body = message.encode_to_vec();
    let mut framed = Vec::with_capacity(body.len() + 5);
    framed.push(0);
    framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
    framed.extend_from_slice(&body);
    bytes::Bytes::from(framed)
}
