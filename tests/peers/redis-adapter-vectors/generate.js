// Test vectors for gif-chat's cluster codec (core/src/cluster), taken from the real thing:
// socket.io 4.8 with @socket.io/redis-adapter 8.x in its sharded mode, whose Redis clients are
// replaced by recorders. Every byte in the output went through the adapter's own publish path
// (ClusterAdapter -> ShardedRedisAdapter.doPublish / doPublishResponse -> encode ->
// JSON.stringify or notepack.io), and every SSUBSCRIBE/SUNSUBSCRIBE through its room events.
//
//   npm ci && node generate.js > vectors.json
//
// The output is committed, so `cargo test` does not need Node. It is deterministic: the random
// ids the adapter draws (its uid, request ids) come from a fixed list.

"use strict";

const crypto = require("crypto");
const { decode } = require("notepack.io");

// ClusterAdapter draws its uid and request ids as crypto.randomBytes(8).toString("hex"),
// looking the function up at each call: a fixed sequence makes the vectors reproducible.
const UID = "a1b2c3d4e5f60718";
const fixedIds = [UID];
for (let i = 1; i < 100; i++) fixedIds.push(i.toString(16).padStart(16, "0"));
const realRandomBytes = crypto.randomBytes;
crypto.randomBytes = (n, cb) => {
  if (n === 8 && cb === undefined && fixedIds.length > 0) {
    return Buffer.from(fixedIds.shift(), "hex");
  }
  return realRandomBytes(n, cb);
};

const { Server } = require("socket.io");
const { createShardedAdapter } = require("@socket.io/redis-adapter");

const published = [];
const subscriptions = [];

// The `redis` v4 client surface the adapter uses (util.js tells clients apart by `sSubscribe`).
const pubClient = {
  sSubscribe() {},
  sUnsubscribe() {},
  sPublish(channel, payload) {
    published.push({ channel, payload: Buffer.from(payload) });
    return Promise.resolve(1);
  },
  // PUBSUB SHARDNUMSUB <channel>: two servers, so requests expect one answer.
  sendCommand(args) {
    return Promise.resolve([args[2], 2]);
  },
};
const subClient = {
  sSubscribe(channel) {
    subscriptions.push({ command: "SSUBSCRIBE", channel });
  },
  sUnsubscribe(channel) {
    subscriptions.push({ command: "SUNSUBSCRIBE", channel });
  },
};

const io = new Server({ adapter: createShardedAdapter(pubClient, subClient) });
// The root namespace's adapter took the first fixed id; the chat's gets UID.
fixedIds.unshift(UID);
const chat = io.of("/chat");
const adapter = chat.adapter;
if (adapter.uid !== UID) throw new Error(`unexpected uid ${adapter.uid}`);
const rootAdapterUid = io.of("/").adapter.uid;

// What a receiving Node adapter sees: onRawMessage's own decoding, binary shown as {"$bin": hex}.
function view(payload) {
  const message = payload[0] === 0x7b ? JSON.parse(payload.toString()) : decode(payload);
  return toView(message);
}
function toView(value) {
  if (Buffer.isBuffer(value)) return { $bin: value.toString("hex") };
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : toView(v)));
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const key of Object.keys(value)) {
      if (value[key] !== undefined) out[key] = toView(value[key]);
    }
    return out;
  }
  return value;
}

const vectors = [];
async function record(name, action) {
  const before = published.length;
  await action();
  // Responses and some requests are published after a microtask or two.
  await new Promise((resolve) => setImmediate(resolve));
  const sent = published.slice(before);
  if (sent.length !== 1) throw new Error(`${name}: ${sent.length} publishes`);
  const { channel, payload } = sent[0];
  vectors.push({
    name,
    channel,
    encoding: payload[0] === 0x7b ? "json" : "msgpack",
    hex: payload.toString("hex"),
    view: view(payload),
  });
}

const gif = Buffer.from("474946383961010001008000", "hex");
const room20 = "abcdefghijklmnopqrst";
// Twenty UTF-16 code units (what JavaScript's `length` counts) but forty UTF-8 bytes.
const room20Accents = "é".repeat(20);
// Ten astral characters: twenty UTF-16 code units, forty UTF-8 bytes, ten Rust chars.
const room20Emoji = "😀".repeat(10);
const room19 = "abcdefghijklmnopqrs";
const sid = "AAAAAAAAAAAAAAAAAAAA";

// Every msgpack width notepack.io chooses, and JSON.stringify's number and string forms.
function kitchenSink() {
  const sixteenKeys = {};
  for (let i = 0; i < 16; i++) sixteenKeys[`k${i}`] = i;
  return {
    ints: [0, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 2 ** 53 - 1],
    negatives: [-1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649],
    floats: [1.5, -0.25, 0.1 + 0.2, 1e-7],
    strings: ["", "x".repeat(31), "y".repeat(32), "z".repeat(255), "w".repeat(256), "h\u00e9llo \ud83d\ude00"],
    escapes: "quote\" backslash\\ newline\n tab\t nul\u0000 unit\u001f slash/ </script> \u2028",
    literals: [null, true, false],
    sixteen: Array.from({ length: 16 }, (_, i) => i),
    sixteenKeys,
    nested: { a: { b: { c: [[], {}] } } },
  };
}

async function main() {
  await record("broadcast to the namespace", () => chat.emit("chat message", "hello"));
  await record("broadcast to one room", () =>
    chat.to("lobby").emit("chat message", { name: "ann", text: "hi" }),
  );
  await record("broadcast to one room except a socket", () =>
    chat.to("lobby").except(sid).emit("chat message", "hi all but one"),
  );
  await record("broadcast to a 20-character room", () => chat.to(room20).emit("whisper", "psst"));
  await record("broadcast to a room of 20 UTF-16 units (accents)", () =>
    chat.to(room20Accents).emit("whisper", "psst"),
  );
  await record("broadcast to a room of 20 UTF-16 units (emoji)", () =>
    chat.to(room20Emoji).emit("whisper", "psst"),
  );
  await record("broadcast to a 19-character room", () => chat.to(room19).emit("whisper", "psst"));
  await record("broadcast to two rooms", () => chat.to(["lobby", "kittens"]).emit("chat message", 1, 2));
  await record("broadcast to the namespace except a room", () =>
    chat.except("lobby").emit("chat message", "not you"),
  );
  await record("volatile broadcast to one room", () => chat.volatile.to("lobby").emit("typing", "ann"));
  await record("compressed volatile broadcast", () =>
    chat.compress(true).volatile.emit("typing", "bob"),
  );
  await record("broadcast with binary", () =>
    chat.to("lobby").emit("gif", gif, { name: "cat.gif", bytes: gif }),
  );
  await record("broadcast with binary and every msgpack width", () =>
    chat.to("lobby").emit("gif", Buffer.alloc(300, 7), new Uint8Array([1, 2, 3]), kitchenSink()),
  );
  await record("broadcast without binary and every JSON form", () =>
    chat.to("lobby").emit("chat message", kitchenSink()),
  );
  await record("broadcast with ack to one room", () =>
    chat.to("lobby").timeout(1000).emit("ping", 1, () => {}),
  );
  await record("sockets join", () => chat.in("lobby").socketsJoin("kittens"));
  await record("sockets leave", () => chat.in("lobby").socketsLeave(["kittens", "dogs"]));
  await record("disconnect sockets", () => chat.in("lobby").disconnectSockets(true));
  await record("fetch sockets", () => {
    chat.in("lobby").timeout(10).fetchSockets().catch(() => {});
  });
  await record("server-side emit", () => chat.serverSideEmit("hello", "world", 1));
  await record("server-side emit with binary", () => chat.serverSideEmit("hello", gif));
  await record("server-side emit with ack", () => {
    chat.serverSideEmit("hello", 2, () => {});
  });

  // Responses: requests from another instance ("f0f0f0f0f0f0f0f0") fed to our adapter.
  const other = "f0f0f0f0f0f0f0f0";
  await record("broadcast client count response", () =>
    adapter.onMessage({
      uid: other,
      nsp: "/chat",
      type: 3,
      data: {
        packet: { type: 2, data: ["ping"] },
        requestId: "0a0a0a0a0a0a0a0a",
        opts: { rooms: ["lobby"], except: [], flags: { timeout: 1000 } },
      },
    }),
  );
  await record("fetch sockets response", () =>
    adapter.onMessage({
      uid: other,
      nsp: "/chat",
      type: 7,
      data: { opts: { rooms: ["lobby"], except: [], flags: {} }, requestId: "0b0b0b0b0b0b0b0b" },
    }),
  );
  chat.on("hello", (arg, callback) => callback({ ok: true, gif }));
  await record("server-side emit response with binary", () =>
    adapter.onMessage({
      uid: other,
      nsp: "/chat",
      type: 9,
      data: { requestId: "0c0c0c0c0c0c0c0c", packet: ["hello", "there"] },
    }),
  );
  // A client's acknowledgement, answered through the adapter's own response path.
  await record("broadcast ack response", () =>
    adapter.publishResponse(other, { type: 12, data: { requestId: "0d0d0d0d0d0d0d0d", packet: "thanks" } }),
  );
  await record("broadcast on the root namespace", () => io.emit("news", "hi"));

  // Subscriptions: what the adapter (re)subscribes as local sockets join and leave rooms.
  const steps = [];
  const op = (description, action) => {
    const before = subscriptions.length;
    action();
    steps.push({ ...description, commands: subscriptions.slice(before) });
  };
  const initial = subscriptions.filter((s) => s.channel.startsWith("socket.io#/chat#"));
  const sidA = "AAAAAAAAAAAAAAAAAAAA";
  const sidB = "BBBBBBBBBBBBBBBBBBBB";
  op({ op: "join", socket: sidA, room: sidA }, () => adapter.addAll(sidA, new Set([sidA])));
  op({ op: "join", socket: sidA, room: "lobby" }, () => adapter.addAll(sidA, new Set(["lobby"])));
  op({ op: "join", socket: sidB, room: sidB }, () => adapter.addAll(sidB, new Set([sidB])));
  op({ op: "join", socket: sidB, room: "lobby" }, () => adapter.addAll(sidB, new Set(["lobby"])));
  op({ op: "join", socket: sidB, room: "lobby" }, () => adapter.addAll(sidB, new Set(["lobby"])));
  op({ op: "join", socket: sidB, room: "kittens" }, () => adapter.addAll(sidB, new Set(["kittens"])));
  op({ op: "join", socket: sidA, room: room20 }, () => adapter.addAll(sidA, new Set([room20])));
  op({ op: "leave", socket: sidA, room: "lobby" }, () => adapter.del(sidA, "lobby"));
  op({ op: "leave", socket: sidA, room: "lobby" }, () => adapter.del(sidA, "lobby"));
  op({ op: "leave", socket: sidB, room: "lobby" }, () => adapter.del(sidB, "lobby"));
  op({ op: "leave", socket: sidB, room: "kittens" }, () => adapter.del(sidB, "kittens"));
  op({ op: "leave", socket: sidA, room: room20 }, () => adapter.del(sidA, room20));
  op({ op: "leave", socket: sidA, room: sidA }, () => adapter.del(sidA, sidA));
  op({ op: "leave", socket: sidB, room: sidB }, () => adapter.del(sidB, sidB));

  const versions = {};
  for (const pkg of ["@socket.io/redis-adapter", "socket.io-adapter", "socket.io", "notepack.io"]) {
    versions[pkg] = require(`${pkg}/package.json`).version;
  }
  const out = {
    generator: "tests/peers/redis-adapter-vectors/generate.js",
    versions,
    uid: UID,
    root_uid: rootAdapterUid,
    namespace: "/chat",
    publishes: vectors,
    subscriptions: { initial, steps },
  };
  process.stdout.write(JSON.stringify(out, null, 1) + "\n");
  io.close();
  // Pending request timers (fetchSockets, acks) would keep Node alive for seconds.
  process.exit(0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
