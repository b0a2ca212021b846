//! The WebSocket phase of a connection: messages in, ticks and echoes out, liveness pings and
//! the close handshake.

use std::time::Instant;

use super::{Connection, Phase, Until};
use crate::config::Config;
use crate::event::{ConnectionError, Event};
use crate::http::Endpoint;
use crate::lifecycle::Lifecycle;
use crate::tick::TickSchedule;
use crate::ws::{write_close, write_frame, Control, Data, Incoming, MessageDecoder, OpCode};

/// State of an upgraded connection.
#[derive(Debug)]
pub(super) struct WsPhase {
    pub(super) endpoint: Endpoint,
    pub(super) decoder: MessageDecoder,
    /// The seed's interval; `None` on `/echo`.
    pub(super) ticks: Option<TickSchedule>,
    /// Last time the peer sent anything (B2).
    pub(super) last_heard: Instant,
    /// A liveness ping is out (sent one ping interval after `last_heard`).
    pub(super) ping_sent: bool,
    /// Our close frame is queued: no more data, ticks or pongs.
    pub(super) close_sent: bool,
}

impl WsPhase {
    pub(super) fn new(endpoint: Endpoint, now: Instant, config: &Config) -> Self {
        WsPhase {
            endpoint,
            decoder: MessageDecoder::new(config.max_message_bytes),
            ticks: (endpoint == Endpoint::Ticker)
                .then(|| TickSchedule::new(now, config.tick_interval)),
            last_heard: now,
            ping_sent: false,
            close_sent: false,
        }
    }

    /// The next tick or liveness check, whichever comes first.
    pub(super) fn deadline(&self, config: &Config) -> Instant {
        // Silent for one interval: ping; silent for another: drop (B2).
        let silent_for = if self.ping_sent { 2 } else { 1 };
        let liveness = self.last_heard + config.ping_interval * silent_for;
        match &self.ticks {
            Some(ticks) => ticks.next().min(liveness),
            None => liveness,
        }
    }
}

/// What the connection does after a run of input.
enum After {
    Nothing,
    /// Both close frames are out: close once ours is written.
    CloseWhenFlushed,
    /// We sent a close (after a protocol error): wait for the peer's close or FIN.
    AwaitPeerClose,
}

impl Connection {
    /// Decodes frames and answers them: echo, log, pong, close.
    pub(super) fn process_websocket(&mut self, now: Instant, input: &[u8]) {
        let Phase::WebSocket(ws) = &mut self.phase else {
            return;
        };
        ws.last_heard = now;
        ws.ping_sent = false;
        let mut after = After::Nothing;
        let mut offset = 0;
        while let Some(rest) = input.get(offset..).filter(|rest| !rest.is_empty()) {
            let (consumed, item) = ws.decoder.decode(rest);
            offset += consumed;
            let item = match item {
                Some(item) => item,
                None if consumed == 0 => break,
                None => continue,
            };
            let out = self.out.bytes_mut();
            match item {
                Ok(Incoming::Text(text)) if !ws.close_sent => match ws.endpoint {
                    Endpoint::Echo => write_frame(out, OpCode::Data(Data::Text), text.as_bytes()),
                    Endpoint::Ticker => self.out.push_event(Event::Text(text.to_owned())),
                },
                Ok(Incoming::Binary(bytes)) if !ws.close_sent => match ws.endpoint {
                    Endpoint::Echo => write_frame(out, OpCode::Data(Data::Binary), bytes),
                    Endpoint::Ticker => self.out.push_event(Event::Binary(bytes.to_vec())),
                },
                Ok(Incoming::Ping(payload)) if !ws.close_sent => {
                    write_frame(out, OpCode::Control(Control::Pong), payload);
                }
                Ok(Incoming::Close(frame)) => {
                    if !ws.close_sent {
                        // Echo the status code, as RFC 6455 §5.5.1 suggests.
                        match frame {
                            Some(frame) => write_close(out, frame.code, ""),
                            None => write_frame(out, OpCode::Control(Control::Close), b""),
                        }
                        ws.close_sent = true;
                    }
                    after = After::CloseWhenFlushed;
                    break;
                }
                Err(error) => {
                    if !ws.close_sent {
                        write_close(out, error.close_code(), "");
                        ws.close_sent = true;
                    }
                    self.out.push_event(Event::Error {
                        ip: self.client_ip,
                        error: ConnectionError::Protocol(error),
                    });
                    after = After::AwaitPeerClose;
                    break;
                }
                // Data after our close frame, and pongs, need no answer.
                Ok(_) => {}
            }
        }
        if ws.endpoint == Endpoint::Ticker {
            // A ticking connection hears one short reply every few seconds: holding its buffers
            // in between would cost more memory than the connection itself.
            ws.decoder.release_memory();
        }
        match after {
            After::Nothing => {}
            After::CloseWhenFlushed => self.enter_closing(now, Until::Flushed),
            After::AwaitPeerClose => {
                if self.lifecycle == Lifecycle::Open {
                    self.enter_closing(now, Until::PeerClose);
                }
            }
        }
    }
}
