// One member of a `/relay` room behind nginx, for the fleet tests (tests/tests/fleet.rs, SPEC
// M1-M6): a real socket.io-client 4.8 (from tests/peers/socketio-node), with its reconnection and
// its polling-to-WebSocket upgrade, driven over stdin and stdout so the Rust test sees exactly
// what a browser's client would.
//
//   node member.js URL ROOM TRANSPORTS [LOCAL_ADDRESS]
//
// TRANSPORTS is `websocket` (WebSocket only) or `polling` (long-polling first, then the upgrade,
// as browsers start). LOCAL_ADDRESS binds every connection to that source address (127.0.0.x),
// so nginx sees distinct clients. Prints one JSON line per thing that happens:
//   {"opened": "polling"|"websocket"}                                   the Engine.IO session opened
//   {"connected": "<socket id>", "transport": "polling"|"websocket"}   each (re)connection
//   {"upgraded": "websocket"}                                           the upgrade completed
//   {"chat": [...args]}                                                 a `chat` received (with
//                                                                       recovery on, the server's
//                                                                       offset comes last)
//   {"disconnected": "<reason>"}                                        the connection was lost
//   {"error": "<message>"}                                              a connect error
// Each stdin line is a JSON array emitted as `chat`. Exits when stdin ends.
"use strict";

const http = require("node:http");
const path = require("node:path");
const readline = require("node:readline");

const peer = path.join(__dirname, "..", "peers", "socketio-node", "node_modules");
const { io } = require(path.join(peer, "socket.io-client"));

const [url, room, transports, localAddress] = process.argv.slice(2);
if (!url || !room || !["websocket", "polling"].includes(transports)) {
  console.error("usage: node member.js URL ROOM websocket|polling [LOCAL_ADDRESS]");
  process.exit(2);
}

const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

// An agent with a source address serves both the polling requests and the WebSocket (ws takes
// the same `agent` option); without one, Node picks 127.0.0.1.
const agent = localAddress ? new http.Agent({ localAddress, keepAlive: true }) : false;
const socket = io(`${url}/relay`, {
  auth: { room },
  transports: transports === "websocket" ? ["websocket"] : ["polling", "websocket"],
  agent,
  // A lost instance is noticed by the closed connection; come back quickly (the test waits
  // on the `connected` line, with a deadline).
  reconnectionDelay: 50,
  reconnectionDelayMax: 200,
  randomizationFactor: 0,
});

// The manager's `open` comes as the engine opens, before it starts probing for the upgrade.
socket.io.on("open", () => {
  print({ opened: socket.io.engine.transport.name });
  socket.io.engine.once("upgrade", (transport) => print({ upgraded: transport.name }));
});
socket.on("connect", () => {
  print({ connected: socket.id, transport: socket.io.engine.transport.name });
});
socket.on("disconnect", (reason) => print({ disconnected: reason }));
socket.on("connect_error", (error) => print({ error: error.message }));
socket.on("chat", (...args) => print({ chat: args }));

readline
  .createInterface({ input: process.stdin })
  .on("line", (line) => socket.emit("chat", ...JSON.parse(line)))
  .on("close", () => {
    socket.close();
    process.exit(0);
  });
