//! The WebSocket phase of a connection: messages in, ticks and echoes out, liveness pings and
//! the close handshake.
//!
//! Everything that happens while the connection is a WebSocket is decided here, in one place (as
//! h11 keeps each phase's rules in one home): the input (frames decoded and answered), the
//! deadlines (the next tick, the liveness ping, the drop of a silent peer) and the answer to a
//! server stop (close 1001). The phase writes into the [`Outbox`] it is lent and returns what the
//! connection as a whole should do as a [`Transition`]; the lifecycle is not its to move.

use std::time::Instant;

use super::outbox::Outbox;
use super::transition::Transition;
use crate::config::Config;
use crate::event::{ConnectionError, Event};
use crate::http::Endpoint;
use crate::tick::{TickSchedule, TICK_MESSAGE};
use crate::ws::{write_close, write_frame, Control, Data, Incoming, MessageDecoder, OpCode};

/// State of an upgraded connection.
#[derive(Debug)]
pub(super) struct WsPhase {
    endpoint: Endpoint,
    decoder: MessageDecoder,
    /// The seed's interval; `None` on `/echo`.
    ticks: Option<TickSchedule>,
    /// Last time the peer sent anything (B2).
    last_heard: Instant,
    /// A liveness ping is out (sent one ping interval after `last_heard`).
    ping_sent: bool,
    /// Our close frame is queued: no more data, ticks or pongs.
    close_sent: bool,
    /// The peer's close frame arrived: whatever it sends after is not read (RFC 6455 §5.5.1:
    /// the close frame is its last), so that no later read can log anything.
    close_received: bool,
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
            close_received: false,
        }
    }

    /// Where the WebSocket was opened (named in its connect and disconnect lines).
    pub(super) fn endpoint(&self) -> Endpoint {
        self.endpoint
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

    /// Decodes frames and answers them: echo, log, pong, close.
    pub(super) fn handle_input(
        &mut self,
        now: Instant,
        input: &[u8],
        out: &mut Outbox,
    ) -> Transition {
        if self.close_received {
            // Bytes after the close frame are dropped, in this read or any later one: what the
            // peer sent after its last frame must not depend on how TCP cut the stream.
            return Transition::None;
        }
        self.last_heard = now;
        self.ping_sent = false;
        let mut transition = Transition::None;
        let mut offset = 0;
        while let Some(rest) = input.get(offset..).filter(|rest| !rest.is_empty()) {
            let (consumed, item) = self.decoder.decode(rest);
            offset += consumed;
            let item = match item {
                Some(item) => item,
                None if consumed == 0 => break,
                None => continue,
            };
            let bytes = out.bytes_mut();
            match item {
                Ok(Incoming::Text(text)) if !self.close_sent => match self.endpoint {
                    Endpoint::Echo => write_frame(bytes, OpCode::Data(Data::Text), text.as_bytes()),
                    Endpoint::Ticker => out.push_event(Event::Text(text.to_owned())),
                },
                Ok(Incoming::Binary(payload)) if !self.close_sent => match self.endpoint {
                    Endpoint::Echo => write_frame(bytes, OpCode::Data(Data::Binary), payload),
                    Endpoint::Ticker => out.push_event(Event::Binary(payload.to_vec())),
                },
                Ok(Incoming::Ping(payload)) if !self.close_sent => {
                    write_frame(bytes, OpCode::Control(Control::Pong), payload);
                }
                Ok(Incoming::Close(frame)) => {
                    self.close_received = true;
                    if !self.close_sent {
                        // Echo the status code, as RFC 6455 §5.5.1 suggests.
                        match frame {
                            Some(frame) => write_close(bytes, frame.code, ""),
                            None => write_frame(bytes, OpCode::Control(Control::Close), b""),
                        }
                        self.close_sent = true;
                    }
                    transition = Transition::CloseWhenFlushed;
                    break;
                }
                Err(error) => {
                    if !self.close_sent {
                        write_close(bytes, error.close_code(), "");
                        self.close_sent = true;
                    }
                    out.push_error(ConnectionError::Protocol(error));
                    transition = Transition::AwaitPeerClose;
                    break;
                }
                // Data after our close frame, and pongs, need no answer.
                Ok(_) => {}
            }
        }
        if self.endpoint == Endpoint::Ticker {
            // A ticking connection hears one short reply every few seconds: holding its buffers
            // in between would cost more memory than the connection itself.
            self.decoder.release_memory();
        }
        transition
    }

    /// The deadline passed (or not yet: early calls change nothing): tick, ping a silent peer,
    /// or drop one that did not answer the ping.
    pub(super) fn handle_timeout(
        &mut self,
        now: Instant,
        config: &Config,
        out: &mut Outbox,
    ) -> Transition {
        if out.unsent_len() == 0 {
            // A quiet connection keeps no buffers between its deadlines.
            self.decoder.release_memory();
            out.shrink();
        }
        if let Some(ticks) = &mut self.ticks {
            // Ticks go out only while the peer reads them (B5): a stalled reader is not fed.
            if ticks.poll(now) && out.unsent_len() <= config.high_water_mark {
                write_frame(
                    out.bytes_mut(),
                    OpCode::Data(Data::Text),
                    TICK_MESSAGE.as_bytes(),
                );
            }
        }
        let silent = now.saturating_duration_since(self.last_heard);
        if !self.ping_sent && silent >= config.ping_interval {
            self.ping_sent = true;
            // The ping counts as sent one interval after the peer was last heard; a late call
            // (a stalled loop) moves that to now, so the peer always gets a full interval to
            // answer before it is dropped.
            if let Some(as_if_heard) = now.checked_sub(config.ping_interval) {
                self.last_heard = self.last_heard.max(as_if_heard);
            }
            write_frame(out.bytes_mut(), OpCode::Control(Control::Ping), b"");
        } else if self.ping_sent && silent >= config.ping_interval * 2 {
            return Transition::Closed(Some(ConnectionError::PingTimeout(config.ping_interval)));
        }
        Transition::None
    }

    /// The server is stopping (B4): close 1001, then wait for the peer's close.
    pub(super) fn handle_stop(&mut self, out: &mut Outbox) -> Transition {
        if self.close_sent {
            // Our close is already out; the wait for the peer's is under way.
            return Transition::None;
        }
        self.close_sent = true;
        write_close(out.bytes_mut(), 1001, "");
        Transition::AwaitPeerClose
    }

    /// Output was written.
    pub(super) fn handle_written(&self, out: &mut Outbox) {
        if self.endpoint == Endpoint::Ticker {
            // A tick every few seconds does not need a buffer kept in between.
            out.shrink();
        }
    }
}
