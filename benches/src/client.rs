//! One HTTP/1.1 keep-alive connection, as a shop platform's webhook sender holds it: requests go
//! one after another on the same TCP connection, so N connections are exactly N in flight.

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use tokio::net::TcpStream;

use crate::BenchResult;

pub struct Connection {
    sender: SendRequest<Full<Bytes>>,
    host: String,
}

/// A reply: status and body.
pub struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> BenchResult<Connection> {
        let stream = TcpStream::connect(addr).await.map_err(|e| format!("connecting to {addr}: {e}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        // The connection task ends when the sender is dropped or the server closes.
        tokio::spawn(connection);
        Ok(Connection { sender, host: addr.to_string() })
    }

    /// Sends one request and reads the whole reply.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> BenchResult<Answer> {
        let mut request = Request::builder().method(method).uri(path).header("host", &self.host);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request.body(Full::new(body))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok(Answer { status, body })
    }
}
