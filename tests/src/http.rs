//! A deliberately small HTTP/1.1 client over a raw TCP stream.
//!
//! A real client library would normalise away exactly what the suite must see: malformed
//! requests, what the server sends before closing, whether it closes. So requests here are
//! bytes the test writes, and responses are parsed just enough to check status, headers, body
//! and the end of the stream.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A parsed response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Why a response could not be read.
#[derive(Debug)]
pub enum ReadError {
    Io(io::Error),
    /// The stream ended before a whole response arrived; holds what did.
    Eof(Vec<u8>),
    Malformed(String),
    Timeout,
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "I/O error: {e}"),
            ReadError::Eof(partial) => write!(
                f,
                "end of stream after {:?}",
                String::from_utf8_lossy(partial)
            ),
            ReadError::Malformed(why) => write!(f, "malformed response: {why}"),
            ReadError::Timeout => f.write_str("timed out"),
        }
    }
}

/// Connects to the server on loopback.
pub async fn connect(port: u16) -> TcpStream {
    TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("connecting to 127.0.0.1:{port}: {e}"))
}

/// A GET request's bytes, with `Host` and any extra header lines.
pub fn get_request(port: u16, path: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    for (name, value) in extra {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    request.into_bytes()
}

/// Sends one GET on a fresh connection and reads its response.
pub async fn get(port: u16, path: &str, extra: &[(&str, &str)]) -> Response {
    one_response(port, &get_request(port, path, extra)).await
}

/// Sends `request` on a fresh connection and reads one response (the connection may stay open
/// until it is dropped here).
pub async fn one_response(port: u16, request: &[u8]) -> Response {
    let mut stream = connect(port).await;
    ResponseReader::default()
        .exchange(&mut stream, request, false)
        .await
}

/// The request line of `request`, for failure messages.
fn request_line(request: &[u8]) -> String {
    let end = find(request, b"\r\n").unwrap_or(request.len());
    String::from_utf8_lossy(&request[..end]).into_owned()
}

/// Reads responses from a stream, keeping bytes that arrived past the end of one response.
#[derive(Debug, Default)]
pub struct ResponseReader {
    buf: Vec<u8>,
}

impl ResponseReader {
    /// Writes `request` on `stream` and reads the response to it (`head_only` as for
    /// [`read`](Self::read)); panics, naming the request, when either fails.
    pub async fn exchange(
        &mut self,
        stream: &mut TcpStream,
        request: &[u8],
        head_only: bool,
    ) -> Response {
        let line = request_line(request);
        stream
            .write_all(request)
            .await
            .unwrap_or_else(|e| panic!("writing {line:?}: {e}"));
        self.read(stream, head_only, crate::WAIT)
            .await
            .unwrap_or_else(|e| panic!("reading the response to {line:?}: {e}"))
    }

    /// Reads the next response; `head_only` for responses without a body (HEAD).
    pub async fn read(
        &mut self,
        stream: &mut TcpStream,
        head_only: bool,
        timeout: Duration,
    ) -> Result<Response, ReadError> {
        tokio::time::timeout(timeout, self.read_inner(stream, head_only))
            .await
            .unwrap_or(Err(ReadError::Timeout))
    }

    async fn read_inner(
        &mut self,
        stream: &mut TcpStream,
        head_only: bool,
    ) -> Result<Response, ReadError> {
        let head_end = loop {
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at;
            }
            self.fill(stream).await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        self.buf.drain(..head_end + 4);
        let (status, headers) = parse_head(&head)?;
        let response_has_body = !head_only && status >= 200 && status != 204 && status != 304;
        let length = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .map(|(_, v)| v.parse::<usize>())
            .transpose()
            .map_err(|e| ReadError::Malformed(format!("Content-Length: {e}")))?;
        let body = match (response_has_body, length) {
            (false, _) => Vec::new(),
            (true, Some(length)) => {
                while self.buf.len() < length {
                    self.fill(stream).await?;
                }
                self.buf.drain(..length).collect()
            }
            // No length: the body runs to the end of the stream.
            (true, None) => {
                loop {
                    match self.fill(stream).await {
                        Ok(()) => {}
                        Err(ReadError::Eof(_)) => break,
                        Err(e) => return Err(e),
                    }
                }
                std::mem::take(&mut self.buf)
            }
        };
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    async fn fill(&mut self, stream: &mut TcpStream) -> Result<(), ReadError> {
        let mut chunk = [0u8; 16 * 1024];
        match stream.read(&mut chunk).await {
            Ok(0) => Err(ReadError::Eof(self.buf.clone())),
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                Ok(())
            }
            Err(e) => Err(ReadError::Io(e)),
        }
    }

    /// After a response: reads on until the server closes. `Ok(extra)` with whatever else it
    /// sent (should be nothing) once the stream ends.
    pub async fn read_to_eof(
        &mut self,
        stream: &mut TcpStream,
        timeout: Duration,
    ) -> Result<Vec<u8>, ReadError> {
        let until_eof = async {
            loop {
                match self.fill(stream).await {
                    Ok(()) => {}
                    Err(ReadError::Eof(rest)) => return Ok(rest),
                    Err(e) => return Err(e),
                }
            }
        };
        tokio::time::timeout(timeout, until_eof)
            .await
            .unwrap_or(Err(ReadError::Timeout))
    }
}

fn parse_head(head: &str) -> Result<(u16, Vec<(String, String)>), ReadError> {
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if version != "HTTP/1.1" {
        return Err(ReadError::Malformed(format!("status line {status_line:?}")));
    }
    let status = parts
        .next()
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| ReadError::Malformed(format!("status line {status_line:?}")))?;
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| ReadError::Malformed(format!("header line {line:?}")))?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok((status, headers))
}

/// Where `needle` starts in `haystack`.
pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Sends `request` on a fresh connection and expects one response followed by the server
/// closing the connection (the hostile-input rows of BEHAVIOUR.md §4). Panics otherwise.
pub async fn response_then_close(port: u16, request: &[u8]) -> Response {
    let mut stream = connect(port).await;
    let mut reader = ResponseReader::default();
    let response = reader.exchange(&mut stream, request, false).await;
    match reader.read_to_eof(&mut stream, crate::WAIT).await {
        Ok(rest) => assert!(
            rest.is_empty(),
            "bytes after the {} response: {:?}",
            response.status,
            String::from_utf8_lossy(&rest)
        ),
        Err(e) => panic!(
            "expected the server to close after the {} response: {e}",
            response.status
        ),
    }
    response
}
