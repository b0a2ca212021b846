// The reference Socket.IO server: socket.io 4.8 on Node running gif-chat's conformance app
// (SPEC E8, contract in tests/sio/README.md). gif-chat's `CONFORMANCE=true` mode must behave the
// same, so the official protocol suites (tests/tests/sio_protocol.rs) and the real clients
// (tests/sio/) are first proven against this server, then pointed at gif-chat unchanged.
//
// Written the way socket.io's documentation shows it, with default settings and the `ws` engine;
// only the timings come from the environment, under the names gif-chat uses, so tests run fast:
//   PORT                    port on 127.0.0.1 (0 = ephemeral; the bound port is printed)
//   EIO_PING_INTERVAL_MS    default 25000
//   EIO_PING_TIMEOUT_MS     default 20000
//   EIO_MAX_PAYLOAD_BYTES   default 1000000
//   SIO_CONNECT_TIMEOUT_MS  default 45000
//   SIO_RECOVERY_MS         connection state recovery window, default 120000; 0 turns recovery
//                           off (the official suites expect that: recovery adds `pid` to every
//                           CONNECT answer and an offset to every event)
//   PUBLIC_DIR              optional: also serve that folder's files (GET), as gif-chat serves
//                           demo-page/public, so browser checks of gif-chat's own client
//                           (tests/browser/sio-lite.mjs) load their page from the same origin
//   REDIS_URL               optional: share rooms and broadcasts with other servers through
//                           Redis with @socket.io/redis-adapter 8 in its sharded mode
//                           (createShardedAdapter, node-redis 4), the Node side of gif-chat's
//                           mixed-fleet tests (SPEC M2, io/tests/redis_node.rs)
"use strict";

const fs = require("node:fs");
const http = require("node:http");
const path = require("node:path");
const { Server: EngineServer } = require("engine.io");
const { Server } = require("socket.io");

function setting(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === "") return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`${name} must be a non-negative integer, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}

const port = setting("PORT", 3000);
const pingInterval = setting("EIO_PING_INTERVAL_MS", 25000);
const pingTimeout = setting("EIO_PING_TIMEOUT_MS", 20000);
const maxPayload = setting("EIO_MAX_PAYLOAD_BYTES", 1000000);
const connectTimeout = setting("SIO_CONNECT_TIMEOUT_MS", 45000);
const recoveryMs = setting("SIO_RECOVERY_MS", 120000);

const publicDir = process.env.PUBLIC_DIR ? path.resolve(process.env.PUBLIC_DIR) : null;
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8" };

// Requests that neither engine.io nor socket.io claim end here (both pass them on).
function servePublic(req, res) {
  let file;
  try {
    file = path.join(publicDir, path.normalize(decodeURIComponent(new URL(req.url, "http://x").pathname)));
  } catch {
    file = null;
  }
  if (req.method !== "GET" || !file || !file.startsWith(publicDir + path.sep)) {
    res.writeHead(404).end();
    return;
  }
  fs.readFile(file, (error, body) => {
    if (error) {
      res.writeHead(404).end();
      return;
    }
    const type = TYPES[path.extname(file)] ?? "application/octet-stream";
    res.writeHead(200, { "content-type": type, "cache-control": "no-cache" }).end(body);
  });
}

const httpServer = publicDir ? http.createServer(servePublic) : http.createServer();

// Raw Engine.IO: the engine.io-protocol suite's server echoes every message.
const engine = new EngineServer({ pingInterval, pingTimeout, maxPayload });
engine.attach(httpServer, { path: "/engine.io/" });
engine.on("connection", (socket) => {
  socket.on("message", (data) => socket.send(data));
});

const io = new Server(httpServer, {
  pingInterval,
  pingTimeout,
  maxHttpBufferSize: maxPayload,
  connectTimeout,
  connectionStateRecovery:
    recoveryMs > 0 ? { maxDisconnectionDuration: recoveryMs } : undefined,
});

// Main namespace: the socket.io-protocol suite's app, plus `ask-ack` for server-to-client acks.
io.on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);

  socket.on("message", (...args) => {
    socket.emit("message-back", ...args);
  });

  socket.on("message-with-ack", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });

  // The server asks the client (`ask`, with an ack) and tells the asker how that went, through
  // the ack of `ask-ack`: `{ answered: true, reply: [...] }` or `{ answered: false }` once
  // `timeout_ms` has passed without an answer.
  socket.on("ask-ack", (request, done) => {
    if (typeof done !== "function" || request === null || typeof request !== "object") return;
    const timeoutMs = Number.isInteger(request.timeout_ms) ? request.timeout_ms : 1000;
    socket.timeout(timeoutMs).emit("ask", request.payload, (err, ...reply) => {
      done(err ? { answered: false } : { answered: true, reply });
    });
  });
});

io.of("/custom").on("connection", (socket) => {
  socket.emit("auth", socket.handshake.auth);
});

// `/relay`: the chat room of the benchmark and the peers. A client names its room in the
// handshake's auth; each `chat` goes to the whole room (sender included), `chat-others` to the
// room without the sender, `chat-all` to the whole namespace. When a member leaves, the rest of
// its room hear `left` with its id and socket.io's disconnect reason.
const relay = io.of("/relay");
relay.on("connection", (socket) => {
  const room = socket.handshake.auth && socket.handshake.auth.room;
  if (typeof room !== "string" || room === "") {
    socket.disconnect();
    return;
  }
  // A recovered socket is already back in its rooms.
  if (!socket.recovered) socket.join(room);

  socket.on("chat", (...args) => {
    if (typeof args[args.length - 1] === "function") args.pop();
    relay.to(room).emit("chat", ...args);
  });
  socket.on("chat-others", (...args) => {
    if (typeof args[args.length - 1] === "function") args.pop();
    socket.to(room).emit("chat", ...args);
  });
  socket.on("chat-all", (...args) => {
    if (typeof args[args.length - 1] === "function") args.pop();
    relay.emit("chat", ...args);
  });
  socket.on("disconnect", (reason) => {
    socket.to(room).emit("left", socket.id, reason);
  });
});

// With REDIS_URL, the adapter replaces the in-memory one of every namespace before any client
// can connect: node-redis refuses commands until connected, so listening waits for both clients.
async function useRedis(url) {
  const { createClient } = require("redis");
  const { createShardedAdapter } = require("@socket.io/redis-adapter");
  const pubClient = createClient({ url });
  const subClient = pubClient.duplicate();
  // node-redis reconnects by itself; an unhandled `error` event would end the process.
  for (const client of [pubClient, subClient]) {
    client.on("error", (error) => console.error(`redis: ${error.message}`));
  }
  await Promise.all([pubClient.connect(), subClient.connect()]);
  io.adapter(createShardedAdapter(pubClient, subClient));
}

(process.env.REDIS_URL ? useRedis(process.env.REDIS_URL) : Promise.resolve()).then(
  () => {
    httpServer.listen(port, "127.0.0.1", () => {
      // Tests wait for this line and read the port from it.
      console.log(`socket.io conformance app listening on 127.0.0.1:${httpServer.address().port}`);
    });
  },
  (error) => {
    console.error(`cannot use Redis at REDIS_URL: ${error.message}`);
    process.exit(1);
  },
);

function stop() {
  io.close();
  engine.close();
  process.exit(0);
}
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
