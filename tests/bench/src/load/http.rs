//! `http`: keep-alive connections each repeating `GET <path>` and reading the whole response
//! (`Content-Length` bodies), as a browser reloading the page would, minus the browser.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use super::{ramp_done, wait_past_ramp, Ctx, LoadError, Plan, Stage, CONNECT_TIMEOUT};
use crate::proto::{self, ProtoError};
use crate::report::Report;

/// Largest response head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// Starts `count` keep-alive connections.
pub fn plan(ctx: Arc<Ctx>, first: usize, count: usize, stage: watch::Receiver<Stage>) -> Plan {
    let (ramp_tx, ramp) = mpsc::unbounded_channel();
    let handles: Vec<_> = (0..count)
        .map(|i| {
            tokio::spawn(connection(
                ctx.clone(),
                first + i,
                stage.clone(),
                ramp_tx.clone(),
            ))
        })
        .collect();
    Plan::summing(ramp, count, handles)
}

async fn connect(ctx: &Ctx, index: usize) -> Result<TcpStream, LoadError> {
    let _permit = ctx.connect_limit.acquire().await;
    tokio::time::timeout(CONNECT_TIMEOUT, ctx.tcp(ctx.source(index)))
        .await
        .map_err(|_| LoadError::Timeout)?
}

/// One whole response read into the buffer: where its body is, whether the connection stays.
pub(super) struct Response {
    /// The body's bytes in the buffer; the response ends where the body does.
    pub body: Range<usize>,
    pub keep_alive: bool,
}

/// Writes one request on a keep-alive connection and reads its whole response (status 200
/// expected, `Content-Length` body) into `buf`, leaving it there for the caller to drain.
pub(super) async fn round_trip(
    stream: &mut TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> Result<Response, LoadError> {
    stream.write_all(request).await?;
    let end = loop {
        if let Some(end) = proto::head_end(buf) {
            break end;
        }
        if buf.len() > MAX_HEAD {
            return Err(ProtoError::HeadTooLarge(MAX_HEAD).into());
        }
        if stream.read_buf(buf).await? == 0 {
            return Err(LoadError::Closed);
        }
    };
    let head = proto::parse_response_head(buf.get(..end).unwrap_or_default())?;
    if head.status != 200 {
        return Err(ProtoError::BadResponse("status is not 200").into());
    }
    let total = end + head.content_length;
    while buf.len() < total {
        if stream.read_buf(buf).await? == 0 {
            return Err(LoadError::Closed);
        }
    }
    Ok(Response {
        body: end..total,
        keep_alive: !head.close,
    })
}

/// One request and its response; whether the server keeps the connection.
async fn exchange(
    stream: &mut TcpStream,
    request: &[u8],
    buf: &mut Vec<u8>,
) -> Result<bool, LoadError> {
    let response = round_trip(stream, request, buf).await?;
    buf.drain(..response.body.end);
    Ok(response.keep_alive)
}

async fn connection(
    ctx: Arc<Ctx>,
    index: usize,
    mut stage: watch::Receiver<Stage>,
    ramp: mpsc::UnboundedSender<Result<(), String>>,
) -> Report {
    let mut report = Report::default();
    let Some(mut stream) = ramp_done(ramp, connect(&ctx, index).await) else {
        return report;
    };
    report.connected = 1;
    let Stage::Window { end, .. } = wait_past_ramp(&mut stage).await else {
        return report;
    };
    let request = proto::get_request(&ctx.target.host, &ctx.target.path);
    let mut buf = Vec::with_capacity(4096);
    while Instant::now() < end {
        let result = tokio::time::timeout_at(
            end.into(),
            exchange(&mut stream, request.as_bytes(), &mut buf),
        )
        .await;
        match result {
            Err(_) => break, // window over mid-request
            Ok(Ok(keep)) => {
                report.requests += 1;
                if keep {
                    continue;
                }
            }
            Ok(Err(error)) => report.error(error),
        }
        // The server closed (or failed) the connection: open a new one.
        buf.clear();
        match connect(&ctx, index).await {
            Ok(fresh) => stream = fresh,
            Err(error) => {
                report.dropped = 1;
                report.error(format!("reconnect: {error}"));
                return report;
            }
        }
    }
    report
}
