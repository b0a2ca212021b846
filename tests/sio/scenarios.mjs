// Client scenarios with the real socket.io-client (4.8, pinned in package-lock.json) against a
// server running gif-chat's conformance app (contract: README.md beside this file): today the
// reference socket.io server of tests/peers/socketio-node, later gif-chat with CONFORMANCE=true.
//
//   node scenarios.mjs URL [SCENARIO...]      (URL also from SIO_URL; default: every scenario)
//
// The ping settings the server was started with come from EIO_PING_INTERVAL_MS and
// EIO_PING_TIMEOUT_MS (the server's own variable names); the heartbeat scenario measures against
// them. Prints one JSON line per scenario and exits 1 when any failed.
//
// Every wait is on something the server does (an event, an ack, a disconnect), bounded by WAIT;
// "did not receive" is shown by a later marker arriving first, never by waiting a while.

import { io, Manager } from "socket.io-client";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const CLIENT = `socket.io-client ${require("socket.io-client/package.json").version}`;

const WAIT = 10_000;
/** Clock slack around a configured interval (two processes, a busy two-core machine). */
const EARLY = 20;
const LATE = 1_000;

const url = (process.argv[2] ?? process.env.SIO_URL ?? "").replace(/\/$/, "");
if (!/^https?:\/\//.test(url)) {
  console.error("usage: node scenarios.mjs http://127.0.0.1:PORT [SCENARIO...]");
  process.exit(2);
}
const pingInterval = Number(process.env.EIO_PING_INTERVAL_MS ?? 25_000);
const pingTimeout = Number(process.env.EIO_PING_TIMEOUT_MS ?? 20_000);

class Failure extends Error {}

function check(condition, what) {
  if (!condition) throw new Failure(what);
}

function same(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  check(a === e, `${what}: expected ${e}, got ${a}`);
}

/** A unique name, so scenarios never share a room with each other or with earlier runs. */
function unique(prefix) {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/**
 * With connection state recovery on, the server appends the event's offset (a string) to the
 * arguments of every event it stores; socket.io-client hands it to listeners as a last
 * argument. Returns the first `count` arguments, checking that at most that offset follows.
 */
function payload(args, count) {
  check(
    args.length === count || (args.length === count + 1 && typeof args[count] === "string"),
    `expected ${count} argument(s) (and perhaps an offset), got ${JSON.stringify(args)}`,
  );
  return args.slice(0, count);
}

/**
 * Every event a socket receives, in order, recorded from before it connects (the server emits
 * `auth` at once, possibly in the same read as the CONNECT answer).
 */
class Recorder {
  constructor(socket) {
    this.socket = socket;
    this.events = [];
    this.waiters = [];
    socket.onAny((event, ...args) => {
      this.events.push({ event, args });
      this.wake();
    });
    for (const reserved of ["connect", "connect_error", "disconnect"]) {
      socket.on(reserved, (...args) => {
        this.events.push({ event: `#${reserved}`, args });
        this.wake();
      });
    }
  }

  wake() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Removes and returns the first recorded event named `event`, waiting for it if need be. */
  async next(event, timeout = WAIT) {
    const deadline = Date.now() + timeout;
    for (;;) {
      const index = this.events.findIndex((e) => e.event === event);
      if (index >= 0) return this.events.splice(index, 1)[0].args;
      const left = deadline - Date.now();
      if (left <= 0) {
        const seen = JSON.stringify(this.events.map((e) => e.event));
        throw new Failure(`no "${event}" within ${timeout} ms (pending: ${seen})`);
      }
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Every recorded event named `event` not taken yet. */
  pending(event) {
    return this.events.filter((e) => e.event === event).map((e) => e.args);
  }
}

const opened = [];

/** A socket on namespace `nsp` with its own connection, connected and recording. */
async function connect(nsp, options = {}) {
  const socket = io(`${url}${nsp}`, { forceNew: true, autoConnect: false, ...options });
  opened.push(socket);
  const recorder = new Recorder(socket);
  socket.connect();
  await recorder.next("#connect");
  return { socket, recorder };
}

/** Emits with an ack and resolves with all the ack's arguments. */
function request(socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(WAIT).emit(event, ...args, (error, ...reply) => {
      if (error) reject(new Failure(`no ack for "${event}" within ${WAIT} ms`));
      else resolve(reply);
    });
  });
}

/** The name of the transport a socket's connection uses now. */
function transport(socket) {
  return socket.io.engine.transport.name;
}

// --------------------------------------------------------------------------------------------

const scenarios = {
  async "websocket-only"() {
    const { socket, recorder } = await connect("/", {
      transports: ["websocket"],
      auth: { token: "ws" },
    });
    same(payload(await recorder.next("auth"), 1), [{ token: "ws" }], "auth");
    socket.emit("message", "over", { web: "socket" });
    same(payload(await recorder.next("message-back"), 2), ["over", { web: "socket" }], "echo");
    same(await request(socket, "message-with-ack", 1, [2]), [1, [2]], "ack");
    check(transport(socket) === "websocket", `transport ${transport(socket)}`);
    return { transport: transport(socket) };
  },

  async "polling-only"() {
    const { socket, recorder } = await connect("/", {
      transports: ["polling"],
      auth: { token: "poll" },
    });
    same(payload(await recorder.next("auth"), 1), [{ token: "poll" }], "auth");
    // Many at once: the client batches them into one POST, the server several into a GET.
    const count = 20;
    for (let i = 0; i < count; i++) socket.emit("message", i);
    for (let i = 0; i < count; i++) {
      same(payload(await recorder.next("message-back"), 1), [i], `echo ${i}`);
    }
    same(await request(socket, "message-with-ack", "polled"), ["polled"], "ack");
    check(transport(socket) === "polling", `transport ${transport(socket)}`);
    return { transport: transport(socket), messages: count };
  },

  async "polling-upgrade"() {
    const socket = io(`${url}/`, { forceNew: true, autoConnect: false, auth: { token: "up" } });
    opened.push(socket);
    const recorder = new Recorder(socket);
    let first;
    const upgraded = new Promise((resolve) => {
      socket.io.on("open", () => {
        first = transport(socket);
        socket.io.engine.once("upgrade", (t) => resolve(t.name));
      });
    });
    socket.connect();
    await recorder.next("#connect");
    // Sent while the upgrade may still be under way: nothing may be lost or reordered.
    socket.emit("message", "early");
    same(payload(await recorder.next("auth"), 1), [{ token: "up" }], "auth");
    same(payload(await recorder.next("message-back"), 1), ["early"], "early echo");
    const to = await withTimeout(upgraded, "the upgrade");
    check(first === "polling", `first transport ${first}`);
    check(to === "websocket" && transport(socket) === "websocket", `upgraded to ${to}`);
    socket.emit("message", "late");
    same(payload(await recorder.next("message-back"), 1), ["late"], "late echo");
    return { from: first, to };
  },

  async namespaces() {
    // One connection, three namespaces: main, /custom, and one the server does not have.
    const manager = new Manager(url, { autoConnect: false });
    const main = manager.socket("/", { auth: { who: "main" } });
    const custom = manager.socket("/custom", { auth: { who: "custom" } });
    const unknown = manager.socket("/nope");
    for (const s of [main, custom, unknown]) opened.push(s);
    const [m, c, u] = [main, custom, unknown].map((s) => new Recorder(s));
    main.connect();
    custom.connect();
    unknown.connect();
    await m.next("#connect");
    await c.next("#connect");
    same(payload(await m.next("auth"), 1), [{ who: "main" }], "main auth");
    same(payload(await c.next("auth"), 1), [{ who: "custom" }], "custom auth");
    const [error] = await u.next("#connect_error");
    same(error.message, "Invalid namespace", "unknown namespace");
    check(main.id !== custom.id, "each namespace has its own socket id");
    // Leaving /custom leaves the main namespace working on the same connection.
    custom.disconnect();
    main.emit("message", "still");
    same(payload(await m.next("message-back"), 1), ["still"], "main after /custom left");
    return { main: main.id !== undefined, custom: true, unknown: error.message };
  },

  async "relay-needs-a-room"() {
    // Without a room in its auth a /relay socket is let in, then put out; the connection stays.
    const manager = new Manager(url, { autoConnect: false });
    const main = manager.socket("/");
    const roomless = manager.socket("/relay");
    opened.push(main, roomless);
    const [m, r] = [main, roomless].map((s) => new Recorder(s));
    main.connect();
    await m.next("#connect");
    roomless.connect();
    await r.next("#connect");
    same((await r.next("#disconnect"))[0], "io server disconnect", "reason");
    main.emit("message", "still");
    same(payload(await m.next("message-back"), 1), ["still"], "main after /relay refused");
    return { reason: "io server disconnect" };
  },

  async "relay-chat"() {
    // The part of /relay the benchmark uses, and all a peer such as socketioxide's implements.
    const room = unique("room");
    const members = await Promise.all(["a", "b"].map(() => connect("/relay", { auth: { room } })));
    members[0].socket.emit("chat", { text: "to the room" });
    for (const [i, m] of members.entries()) {
      same(payload(await m.recorder.next("chat"), 1), [{ text: "to the room" }], `member ${i}`);
    }
    return { members: members.length };
  },

  async "room-broadcast"() {
    const room = unique("room");
    const members = await Promise.all(
      ["a", "b", "c"].map(() => connect("/relay", { auth: { room } })),
    );
    const outsider = await connect("/relay", { auth: { room: unique("elsewhere") } });
    const [a] = members;
    a.socket.emit("chat", { text: "hello room" });
    for (const [i, m] of members.entries()) {
      same(payload(await m.recorder.next("chat"), 1), [{ text: "hello room" }], `member ${i}`);
    }
    // A namespace-wide marker after the room message: the outsider's first chat must be it.
    a.socket.emit("chat-all", "marker");
    same(payload(await outsider.recorder.next("chat"), 1), ["marker"], "outsider's first chat");
    for (const [i, m] of members.entries()) {
      same(payload(await m.recorder.next("chat"), 1), ["marker"], `member ${i} marker`);
    }
    return { members: members.length, outsiders: 1 };
  },

  async "broadcast-except-sender"() {
    const room = unique("room");
    const [a, b, c] = await Promise.all(
      ["a", "b", "c"].map(() => connect("/relay", { auth: { room } })),
    );
    a.socket.emit("chat-others", "not for a");
    same(payload(await b.recorder.next("chat"), 1), ["not for a"], "b");
    same(payload(await c.recorder.next("chat"), 1), ["not for a"], "c");
    // Then one to the whole room, sender included: the sender's first chat must be this one.
    a.socket.emit("chat", "for everyone");
    same(payload(await a.recorder.next("chat"), 1), ["for everyone"], "sender's first chat");
    same(payload(await b.recorder.next("chat"), 1), ["for everyone"], "b");
    same(payload(await c.recorder.next("chat"), 1), ["for everyone"], "c");
    return { without_sender: 2, with_sender: 3 };
  },

  async acks() {
    const { socket, recorder } = await connect("/");
    // Client to server.
    same(await request(socket, "message-with-ack", "x", { y: 1 }), ["x", { y: 1 }], "ack");
    // Server to client, answered.
    socket.on("ask", (question, answer) => answer("reply to", question));
    const answered = await socket.emitWithAck("ask-ack", { payload: "q1", timeout_ms: 5000 });
    same(answered, { answered: true, reply: ["reply to", "q1"] }, "answered ask");
    same(payload(await recorder.next("ask"), 2).slice(0, 1), ["q1"], "the ask event");
    // Server to client, never answered: the server gives up after timeout_ms.
    const silent = await connect("/");
    silent.socket.on("ask", () => {});
    const timeoutMs = 300;
    const started = Date.now();
    const unanswered = await silent.socket.emitWithAck("ask-ack", {
      payload: "q2",
      timeout_ms: timeoutMs,
    });
    const elapsed = Date.now() - started;
    same(unanswered, { answered: false }, "unanswered ask");
    check(
      elapsed + EARLY >= timeoutMs && elapsed <= timeoutMs + LATE,
      `gave up after ${elapsed} ms, expected ${timeoutMs}`,
    );
    return { both_ways: true, server_timeout_ms: elapsed };
  },

  async binary() {
    const { socket, recorder } = await connect("/");
    const blob = Uint8Array.from([0, 1, 2, 253, 254, 255]);
    socket.emit("message", blob, { nested: Uint8Array.from([9, 8, 7]), text: "t" });
    const [back, nested] = payload(await recorder.next("message-back"), 2);
    same([...new Uint8Array(back)], [...blob], "attachment 0");
    same([...new Uint8Array(nested.nested)], [9, 8, 7], "nested attachment");
    same(nested.text, "t", "text beside the attachment");
    const acked = await request(socket, "message-with-ack", Uint8Array.from([42]), "x");
    same([...new Uint8Array(acked[0])], [42], "binary ack");
    same(acked[1], "x", "text in the binary ack");
    return { client_to_server: 3, server_to_client: 3 };
  },

  async recovery() {
    const room = unique("room");
    // Reconnection is left to the scenario, so the drop and the return happen when it says.
    const a = await connect("/relay", { auth: { room }, reconnection: false });
    const b = await connect("/relay", { auth: { room } });
    a.socket.emit("chat", "before");
    same(payload(await a.recorder.next("chat"), 1), ["before"], "a before");
    same(payload(await b.recorder.next("chat"), 1), ["before"], "b before");
    const id = a.socket.id;

    a.socket.io.engine.close(); // the connection drops
    await a.recorder.next("#disconnect");
    // The server has seen it go (and kept its session) once the room hears `left`.
    same(payload(await b.recorder.next("left"), 2), [id, "transport close"], "left");
    const missed = ["missed 1", "missed 2", "missed 3"];
    for (const text of missed) b.socket.emit("chat", text);
    for (const text of missed) {
      same(payload(await b.recorder.next("chat"), 1), [text], "b hears its own chat");
    }

    a.socket.connect(); // back, with the session id and the last offset it saw
    await a.recorder.next("#connect");
    check(a.socket.recovered === true, "the session was not recovered");
    same(a.socket.id, id, "the recovered socket id");
    for (const text of missed) {
      same(payload(await a.recorder.next("chat"), 1), [text], "missed chat, in order");
    }
    // Still in the room.
    b.socket.emit("chat", "after");
    same(payload(await a.recorder.next("chat"), 1), ["after"], "a after");
    same(a.recorder.pending("chat"), [], "no chat twice");
    return { recovered: true, same_id: true, missed: missed.length };
  },

  async "heartbeat-timeout"() {
    const room = unique("room");
    const watcher = await connect("/relay", { auth: { room } });
    const silent = io(`${url}/relay`, {
      forceNew: true,
      autoConnect: false,
      reconnection: false,
      transports: ["websocket"],
      auth: { room },
    });
    opened.push(silent);
    const recorder = new Recorder(silent);
    // The client stops answering pings: its Engine.IO socket drops every pong it would send.
    // (`_sendPacket` is engine.io-client's internal send, stable within the pinned version.)
    silent.io.on("open", () => {
      const engine = silent.io.engine;
      const send = engine._sendPacket.bind(engine);
      engine._sendPacket = (type, ...rest) => (type === "pong" ? undefined : send(type, ...rest));
    });
    silent.connect();
    await recorder.next("#connect");
    const connectedAt = Date.now();
    const limit = pingInterval + pingTimeout + LATE + WAIT;
    const [id, reason] = payload(await watcher.recorder.next("left", limit), 2);
    const elapsed = Date.now() - connectedAt;
    same([id, reason], [silent.id ?? id, "ping timeout"], "the server's reason");
    const expected = pingInterval + pingTimeout;
    check(
      elapsed + EARLY >= expected && elapsed <= expected + LATE,
      `closed after ${elapsed} ms, expected ${expected}`,
    );
    same((await recorder.next("#disconnect"))[0], "transport close", "the client saw the close");
    return { closed_after_ms: elapsed, expected_ms: expected };
  },
};

function withTimeout(promise, what, timeout = WAIT) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Failure(`${what}: nothing within ${timeout} ms`)), timeout);
    }),
  ]).finally(() => clearTimeout(timer));
}

const wanted = process.argv.slice(3);
for (const name of wanted) {
  if (!(name in scenarios)) {
    console.error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(", ")}`);
    process.exit(2);
  }
}
let failed = 0;
for (const [name, scenario] of Object.entries(scenarios)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  const started = Date.now();
  const bound = name === "heartbeat-timeout" ? pingInterval + pingTimeout + 3 * WAIT : 3 * WAIT;
  let line;
  try {
    const detail = await withTimeout(scenario(), name, bound);
    line = { client: CLIENT, scenario: name, ok: true, ms: Date.now() - started, detail };
  } catch (error) {
    failed += 1;
    line = {
      client: CLIENT,
      scenario: name,
      ok: false,
      ms: Date.now() - started,
      error: error instanceof Failure ? error.message : String(error?.stack ?? error),
    };
  } finally {
    for (const socket of opened.splice(0)) socket.disconnect();
  }
  console.log(JSON.stringify(line));
}
process.exit(failed === 0 ? 0 : 1);
