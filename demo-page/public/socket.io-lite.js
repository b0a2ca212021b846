// socket.io-lite.js: gif-chat's own small Socket.IO client for the browser (an ES module).
//
// Why gif-chat ships its own client instead of the npm `socket.io-client` bundle:
// - no third-party code is copied into this repository, and there is no build step: the server
//   embeds `demo-page/public/` at compile time, so `cargo run` on a fresh clone serves the pages
//   and this file with nothing else to fetch or bundle;
// - the npm `socket.io-client` 4.8 is still what the tests use to check the server (tests/sio/),
//   so the server is proven against the real client, and this one against the server and the
//   reference socket.io server (tests/browser/sio-lite.mjs, page public/sio-check.html).
//
// Written from the protocol documents, Engine.IO v4 (github.com/socketio/engine.io-protocol)
// and Socket.IO v5 (github.com/socketio/socket.io-protocol), with socket.io-client's public API
// where it has one:
//
//   const socket = io('/relay', { auth: { room: 'lobby' }, transports: ['websocket', 'polling'] });
//   socket.on('connect', () => ...);            // also 'disconnect' (reason), 'connect_error' (Error)
//   socket.on('chat', (text, ack) => ack?.());  // a last function argument: the server wants an ack
//   socket.emit('chat', 'hi', new Uint8Array([1]), (reply) => ...); // a last function: ask for an ack
//   await socket.timeout(5000).emitWithAck('join', room); // rejects when no ack came in time
//   socket.connected, socket.active, socket.id, socket.recovered, socket.disconnect(), socket.connect()
//   socket.io.on('ping' | 'reconnect_attempt', fn), socket.io.engine.close() (drops the transport)
//
// Transports: WebSocket first, HTTP long-polling only when the WebSocket cannot open. gif-chat
// serves the page and the WebSocket from the same server, so WebSocket nearly always works, and
// starting there skips the whole polling-to-WebSocket upgrade dance (pause, probe, noop, upgrade),
// the most intricate part of a client; a proxy that refuses WebSocket costs one failed attempt,
// after which this socket stays on polling for its reconnections.
//
// Deliberate limits, to stay small: one Engine.IO connection per `io()` call (socket.io-client
// shares one per server between namespaces; the protocol allows both); binary arguments are
// ArrayBuffer or typed arrays (received as ArrayBuffer), not Blob. As in socket.io-client, an
// event carrying a recovery offset (the server appends it as a last string argument when
// connection state recovery is on) is delivered with it: handlers ignore extra arguments.

const SEPARATOR = '\x1e'; // Engine.IO v4: packets in one polling body are split by this character
// Engine.IO packet types, the first character of a text packet.
const OPEN = '0', CLOSE = '1', PING = '2', PONG = '3', MESSAGE = '4', NOOP = '6';
// Socket.IO packet types.
const CONNECT = 0, DISCONNECT = 1, EVENT = 2, ACK = 3, CONNECT_ERROR = 4, BINARY_EVENT = 5, BINARY_ACK = 6;
// Names the socket itself emits; sending them to the server would be ambiguous.
const RESERVED = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']);

/** The smallest event emitter: handlers per name, called in order. */
class Emitter {
  #handlers = new Map();
  on(name, fn) {
    if (!this.#handlers.has(name)) this.#handlers.set(name, []);
    this.#handlers.get(name).push(fn);
    return this;
  }
  once(name, fn) {
    const once = (...args) => (this.off(name, once), fn.apply(this, args));
    return this.on(name, once);
  }
  off(name, fn) {
    const list = this.#handlers.get(name);
    if (list) this.#handlers.set(name, fn ? list.filter((f) => f !== fn) : []);
    return this;
  }
  // A handler that throws is reported like any uncaught error, and the others still run: the
  // transports call this from their receive loops, which must not die with it.
  emitLocal(name, ...args) {
    for (const fn of [...(this.#handlers.get(name) ?? [])]) {
      try {
        fn.apply(this, args);
      } catch (error) {
        reportError(error);
      }
    }
  }
}

const utf8 = new TextEncoder();
const isBinary = (x) => x instanceof ArrayBuffer || ArrayBuffer.isView(x);
const bytesOf = (x) => (x instanceof ArrayBuffer ? new Uint8Array(x) : new Uint8Array(x.buffer, x.byteOffset, x.byteLength));

function toBase64(data) {
  const bytes = bytesOf(data);
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

// ---------------------------------------------------------------------------------------------
// Engine.IO transports. Both take Engine.IO packets out as strings (`4...`) or binary (a binary
// message: no type byte in v4) and hand incoming ones to `engine.onRaw`.

class WebSocketTransport {
  name = 'websocket';
  constructor(engine) {
    this.engine = engine;
    const url = new URL(engine.url('websocket'));
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    this.ws = new WebSocket(url);
    this.ws.binaryType = 'arraybuffer';
    this.ws.onmessage = (e) => engine.onRaw(e.data);
    // A failed handshake fires `error` then `close`; the close is the one signal acted on.
    this.ws.onclose = () => engine.onTransportClose('transport close');
  }
  send(packets) {
    for (const p of packets) this.ws.send(p);
  }
  close(last) {
    this.ws.onclose = this.ws.onmessage = null;
    if (last && this.ws.readyState === WebSocket.OPEN) this.send(last);
    this.ws.close();
  }
}

class PollingTransport {
  name = 'polling';
  #queue = [];
  #posting = false;
  #closed = false;
  #abort = new AbortController();
  #requests = 0;
  constructor(engine) {
    this.engine = engine;
    this.#poll();
  }
  // A fresh `t` per request keeps any cache out of the way, as engine.io-client does.
  #uri() {
    return `${this.engine.url('polling')}&t=${Date.now().toString(36)}.${this.#requests++}`;
  }
  // One GET at a time (the protocol allows no more); the first one, without sid, is the handshake.
  async #poll() {
    while (!this.#closed) {
      let body;
      try {
        const response = await fetch(this.#uri(), { signal: this.#abort.signal, cache: 'no-store' });
        if (!response.ok) throw new Error(`HTTP ${response.status}`);
        body = await response.text();
      } catch {
        return this.#fail();
      }
      for (const part of body.split(SEPARATOR)) {
        if (!this.#closed) this.engine.onRaw(part[0] === 'b' ? fromBase64(part.slice(1)) : part);
      }
    }
  }
  // Polling bodies are text: a binary message goes as `b` and its base64.
  send(packets) {
    for (const p of packets) {
      const text = typeof p === 'string' ? p : `b${toBase64(p)}`;
      this.#queue.push({ text, bytes: utf8.encode(text).length });
    }
    this.#flush();
  }
  // One POST at a time keeps packets in order; what arrives meanwhile waits in the queue and goes
  // in the next body, no bigger than the server's maxPayload (unless one packet alone is).
  async #flush() {
    if (this.#posting || this.#queue.length === 0 || !this.engine.sid) return;
    let count = 0;
    let size = 0;
    while (count < this.#queue.length && (count === 0 || size + this.#queue[count].bytes + 1 <= this.engine.maxPayload)) {
      size += this.#queue[count++].bytes + 1;
    }
    const body = this.#queue.splice(0, count).map((p) => p.text).join(SEPARATOR);
    this.#posting = true;
    try {
      const response = await fetch(this.#uri(), { method: 'POST', body, headers: { 'content-type': 'text/plain;charset=UTF-8' } });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
    } catch {
      this.#queue.length = 0;
      return this.#fail();
    } finally {
      this.#posting = false;
    }
    if (this.#closed && this.#queue.length === 0) this.#abort.abort(); // the close packet is in
    this.#flush();
  }
  #fail() {
    this.#abort.abort();
    if (this.#closed) return;
    this.#closed = true;
    this.engine.onTransportClose('transport close');
  }
  // With `last` (maybe empty), tells the server with a close packet, after whatever is still
  // queued and `last` (a DISCONNECT), all in one request when none is under way: the server may
  // forget the session on the DISCONNECT, so a close packet sent on its own could get a 400.
  // The pending GET is left for the server to answer until then: engine.io takes an aborted GET
  // for a broken connection and drops the session before the close packet arrives.
  // Without `last` (the server closed, or the transport failed), just stops.
  close(last) {
    const failed = this.#closed;
    this.#closed = true;
    if (last && !failed && this.engine.sid) this.send([...last, CLOSE]);
    else this.#abort.abort();
  }
}

// ---------------------------------------------------------------------------------------------
// Engine.IO session: handshake, heartbeat, fallback to the next transport, one `close` event.

class Engine extends Emitter {
  sid = null;
  maxPayload = 1e6;
  #timer = null;
  #closed = false;
  constructor(base, path, transports, timeoutMs) {
    super();
    this.base = base;
    this.path = path;
    this.transports = transports;
    this.timeoutMs = timeoutMs;
    this.#start(0);
  }
  url(name) {
    const sid = this.sid ? `&sid=${encodeURIComponent(this.sid)}` : '';
    return `${this.base}${this.path}?EIO=4&transport=${name}${sid}`;
  }
  #start(index) {
    this.index = index;
    const Transport = this.transports[index] === 'polling' ? PollingTransport : WebSocketTransport;
    this.transport = new Transport(this);
    this.#arm(this.timeoutMs, () => this.onTransportClose('timeout'));
  }
  // One timer: first the handshake deadline, then the heartbeat (a ping is due every
  // pingInterval; none within pingInterval + pingTimeout means the connection is gone).
  #arm(ms, expire) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(expire, ms);
  }
  #heartbeat() {
    this.#arm(this.pingInterval + this.pingTimeout, () => this.#close('ping timeout'));
  }
  onRaw(data) {
    if (this.#closed) return;
    if (typeof data !== 'string') return this.emitLocal('message', data);
    const type = data[0];
    if (type === OPEN && !this.sid) {
      let open;
      try {
        open = JSON.parse(data.slice(1));
      } catch {
        open = null;
      }
      if (typeof open?.sid !== 'string' || !(open.pingInterval >= 0 && open.pingTimeout >= 0)) {
        return this.#close('parse error');
      }
      this.sid = open.sid;
      this.pingInterval = open.pingInterval;
      this.pingTimeout = open.pingTimeout;
      this.maxPayload = open.maxPayload || this.maxPayload;
      this.#heartbeat();
      this.emitLocal('open');
    } else if (type === PING) {
      this.#heartbeat();
      this.send([PONG]);
      this.emitLocal('ping');
    } else if (type === MESSAGE) {
      this.emitLocal('message', data.slice(1));
    } else if (type === CLOSE) {
      this.#close('transport close', null);
    } else if (type !== NOOP && type !== PONG) {
      this.#close('parse error');
    }
  }
  onTransportClose(reason) {
    if (this.#closed) return;
    // Before the handshake, a transport that cannot open gives way to the next one.
    if (!this.sid && this.index + 1 < this.transports.length) {
      this.transport.close(null);
      return this.#start(this.index + 1);
    }
    this.#close(reason, null);
  }
  send(packets) {
    if (!this.#closed) this.transport.send(packets);
  }
  /**
   * Closes the connection, telling the server, after the `last` packets (a DISCONNECT) if any.
   * A socket that did not ask for it (a test, a "reconnect now" button) takes it as a lost
   * connection and reconnects, recovering its session.
   */
  close(last = []) {
    this.#close('forced close', last);
  }
  #close(reason, last = []) {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.transport.close(last);
    this.emitLocal('close', reason);
  }
}

// ---------------------------------------------------------------------------------------------
// Socket.IO packets: `<type>[<attachments>-][<nsp>,][<ack id>][<JSON>]`, binary values replaced
// by `{"_placeholder":true,"num":i}` and sent as the next Engine.IO binary messages.

function encode({ type, nsp, id, data }) {
  const buffers = [];
  const strip = (value) => {
    if (isBinary(value)) {
      buffers.push(value);
      return { _placeholder: true, num: buffers.length - 1 };
    }
    if (Array.isArray(value)) return value.map(strip);
    if (value && typeof value === 'object' && !(value instanceof Date)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strip(v)]));
    }
    return value;
  };
  const json = data === undefined ? '' : JSON.stringify(strip(data));
  if (buffers.length > 0) type = type === ACK ? BINARY_ACK : BINARY_EVENT;
  const head = `${type}${buffers.length > 0 ? `${buffers.length}-` : ''}${nsp === '/' ? '' : `${nsp},`}${id ?? ''}`;
  return [MESSAGE + head + json, ...buffers];
}

/** Reads packets from Engine.IO messages, holding a binary packet until its attachments came. */
class Decoder {
  #pending = null;
  /** Returns a whole packet, or null while attachments are still due; throws on a bad packet. */
  add(message) {
    if (typeof message !== 'string') {
      if (!this.#pending) throw new Error('unexpected binary message');
      const packet = this.#pending;
      packet.buffers.push(message);
      if (packet.buffers.length < packet.attachments) return null;
      this.#pending = null;
      const fill = (v) => {
        if (Array.isArray(v)) return v.map(fill);
        if (v && typeof v === 'object') {
          if (v._placeholder === true && Number.isInteger(v.num)) return packet.buffers[v.num];
          return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, fill(x)]));
        }
        return v;
      };
      packet.data = fill(packet.data);
      return packet;
    }
    const match = /^(\d)(?:(\d+)-)?(?:(\/[^,]*),)?(\d+)?(.*)$/s.exec(message);
    if (!match || Number(match[1]) > BINARY_ACK) throw new Error('invalid packet');
    const packet = {
      type: Number(match[1]),
      attachments: Number(match[2] ?? 0),
      nsp: match[3] ?? '/',
      id: match[4] === undefined ? undefined : Number(match[4]),
      data: match[5] === '' ? undefined : JSON.parse(match[5]),
      buffers: [],
    };
    if (packet.attachments === 0) return packet;
    this.#pending = packet;
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// The socket: one namespace over one Engine.IO connection, reconnected with back-off.

export class Socket extends Emitter {
  connected = false;
  id = undefined;
  recovered = false;
  /** Manager-level events (`ping`, `reconnect_attempt`) and the live `engine`, as socket.io-client. */
  io = new Emitter();
  #pid = null;
  #offset = undefined;
  #acks = new Map();
  #nextAck = 0;
  #outbox = []; // emits waiting for a connection
  #inbox = []; // events that came before the CONNECT answer
  #decoder = null;
  #attempts = 0;
  #retry = null;
  #stopped = false;

  constructor(base, nsp, opts) {
    super();
    this.nsp = nsp;
    this.base = base;
    this.opts = {
      path: '/socket.io/',
      transports: ['websocket', 'polling'],
      reconnection: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
      randomizationFactor: 0.5,
      timeout: 20000,
      ...opts,
    };
    this.transports = [...this.opts.transports];
    if (this.opts.autoConnect !== false) this.connect();
  }

  /**
   * As socket.io-client: whether the socket is connected or will (re)connect by itself. False
   * after `disconnect()`, after the server refused the connection (CONNECT_ERROR) or disconnected
   * the socket, and once reconnection is off and the connection is gone: a page tells a refusal
   * (`connect_error` with `!socket.active`) from a failure that is being retried.
   */
  get active() {
    return !this.#stopped && (this.connected || Boolean(this.io.engine) || this.opts.reconnection);
  }

  /** Opens the connection (again): after `disconnect()`, or when reconnection is off. */
  connect() {
    if (this.io.engine || this.connected) return this;
    this.#stopped = false;
    clearTimeout(this.#retry);
    const engine = new Engine(this.base, this.opts.path, this.transports, this.opts.timeout);
    this.io.engine = engine;
    this.#decoder = new Decoder();
    this.#inbox = [];
    engine.on('open', () => {
      // A socket that had to fall back keeps to what worked for its reconnections.
      this.transports = this.transports.slice(engine.index);
      const auth = this.opts.auth;
      // Connection state recovery: the previous session's pid and the last offset seen.
      const data = this.#pid ? { ...auth, pid: this.#pid, offset: this.#offset } : auth;
      this.#send({ type: CONNECT, data });
    });
    engine.on('ping', () => this.io.emitLocal('ping'));
    engine.on('message', (message) => {
      let packet;
      try {
        packet = this.#decoder.add(message);
      } catch {
        return engine.close(); // a server speaking nonsense: start over
      }
      if (packet && packet.nsp === this.nsp) this.#onPacket(packet);
    });
    engine.on('close', (reason) => this.#onEngineClose(engine, reason));
    return this;
  }

  /** Sends an event; a last function argument asks the server for an acknowledgement. */
  emit(event, ...args) {
    const ack = typeof args.at(-1) === 'function' ? args.pop() : null;
    return this.#emit(event, args, ack);
  }

  /** Resolves with the first argument of the server's acknowledgement. */
  emitWithAck(event, ...args) {
    return new Promise((resolve) => this.#emit(event, args, resolve));
  }

  /**
   * As socket.io-client: `socket.timeout(ms).emit(event, ...args, (err, ...reply) => ...)` gets an
   * error when no acknowledgement came within `ms`; `.emitWithAck()` then rejects.
   */
  timeout(ms) {
    return {
      emit: (event, ...args) => {
        const ack = args.pop();
        if (typeof ack !== 'function') throw new TypeError('timeout(ms).emit() needs a callback');
        return this.#emit(event, args, ack, ms);
      },
      emitWithAck: (event, ...args) =>
        new Promise((resolve, reject) =>
          this.#emit(event, args, (error, reply) => (error ? reject(error) : resolve(reply)), ms),
        ),
    };
  }

  #emit(event, args, ack, timeoutMs) {
    if (RESERVED.has(event)) throw new Error(`"${event}" is a reserved event name`);
    const packet = { type: EVENT, data: [event, ...args] };
    if (ack) {
      const id = (packet.id = this.#nextAck++);
      if (timeoutMs === undefined) {
        this.#acks.set(id, ack);
      } else {
        const timer = setTimeout(() => {
          this.#acks.delete(id);
          ack(new Error('operation has timed out'));
        }, timeoutMs);
        this.#acks.set(id, (...reply) => (clearTimeout(timer), ack(null, ...reply)));
      }
    }
    if (this.connected) this.#send(packet);
    else this.#outbox.push(packet);
    return this;
  }

  /** Leaves the namespace for good: no reconnection, the server forgets the session. */
  disconnect() {
    this.#stopped = true;
    clearTimeout(this.#retry);
    const engine = this.io.engine;
    const farewell = this.connected ? encode({ type: DISCONNECT, nsp: this.nsp }) : [];
    this.#pid = null;
    this.#offset = undefined;
    this.#lost('io client disconnect');
    engine?.close(farewell);
    return this;
  }

  close() {
    return this.disconnect();
  }

  #send(packet) {
    this.io.engine?.send(encode({ ...packet, nsp: this.nsp }));
  }

  #onPacket(packet) {
    const { type, id, data } = packet;
    if (type === CONNECT && data && typeof data.sid === 'string') {
      this.id = data.sid;
      this.recovered = Boolean(data.pid) && data.pid === this.#pid;
      this.#pid = data.pid ?? null;
      this.connected = true;
      this.#attempts = 0;
      // socket.io sends a recovered socket's missed events just before its CONNECT answer.
      for (const event of this.#inbox.splice(0)) this.#onEvent(event);
      for (const queued of this.#outbox.splice(0)) this.#send(queued);
      this.emitLocal('connect');
    } else if (type === CONNECT_ERROR) {
      const error = Object.assign(new Error(data?.message ?? 'connect error'), { data: data?.data });
      this.#stopped = true; // refused: socket.io-client does not retry either
      this.io.engine?.close();
      this.emitLocal('connect_error', error);
    } else if (type === DISCONNECT) {
      this.#stopped = true;
      this.#pid = null;
      this.#lost('io server disconnect');
      this.io.engine?.close();
    } else if ((type === EVENT || type === BINARY_EVENT) && Array.isArray(data) && data.length > 0) {
      if (this.connected) this.#onEvent(packet);
      else this.#inbox.push(packet);
    } else if ((type === ACK || type === BINARY_ACK) && this.#acks.has(id)) {
      const fn = this.#acks.get(id);
      this.#acks.delete(id);
      fn(...(Array.isArray(data) ? data : []));
    }
  }

  #onEvent({ id, data }) {
    const args = data.slice(1);
    if (this.#pid && typeof args.at(-1) === 'string') this.#offset = args.at(-1);
    if (id !== undefined) {
      let answered = false;
      args.push((...reply) => {
        if (answered) return;
        answered = true;
        this.#send({ type: ACK, id, data: reply });
      });
    }
    this.emitLocal(String(data[0]), ...args);
  }

  #lost(reason) {
    if (!this.connected) return;
    this.connected = false;
    this.emitLocal('disconnect', reason);
  }

  #onEngineClose(engine, reason) {
    if (this.io.engine !== engine) return;
    this.io.engine = null;
    if (this.connected) {
      this.#lost(reason === 'ping timeout' ? reason : 'transport close');
    } else if (!this.#stopped) {
      this.emitLocal('connect_error', new Error(`connection failed (${reason})`));
    }
    if (this.#stopped || !this.opts.reconnection) return;
    // Exponential back-off with jitter, so a restarted server is not hit by every page at once.
    const base = Math.min(this.opts.reconnectionDelayMax, this.opts.reconnectionDelay * 2 ** this.#attempts);
    const jitter = 1 + this.opts.randomizationFactor * (Math.random() * 2 - 1);
    const delay = Math.min(this.opts.reconnectionDelayMax, base * jitter);
    this.#attempts += 1;
    this.#retry = setTimeout(() => {
      this.io.emitLocal('reconnect_attempt', this.#attempts);
      this.connect();
    }, delay);
  }
}

/**
 * `io()`, `io('/relay')`, `io('https://host/ns', opts)`: a socket on that namespace of that
 * server (the page's own server when no origin is given).
 */
export function io(uri, opts = {}) {
  if (uri && typeof uri === 'object') [uri, opts] = [undefined, uri];
  const url = new URL(uri ?? '/', globalThis.location?.href);
  return new Socket(url.origin, url.pathname || '/', opts);
}

export default io;
