// A member of a `/relay` room that comes back on another instance, for the recovery test
// (tests/tests/cluster.rs, SPEC M5): a real socket.io-client 4.8 with connection state recovery
// (it sends back the `pid` and the last offset it saw, as browsers' clients do), whose
// reconnection is driven by the test, so that what it misses is known.
//
//   node recovering-member.js URL ROOM
//
// Prints one JSON line per thing that happens:
//   {"connected": "<socket id>", "recovered": true|false}   each (re)connection
//   {"chat": [...args]}                                      a `chat` received (offset last)
//   {"disconnected": "<reason>"}                             the connection was lost
//   {"error": "<message>"}                                   a connect error
// Each stdin line is a command: `{"say": [...args]}` emits `chat`; `{"reconnect": "URL"}`
// connects again, to URL (the instance it was on may be dead). Exits when stdin ends.
"use strict";

const path = require("node:path");
const readline = require("node:readline");

const peer = path.join(__dirname, "..", "peers", "socketio-node", "node_modules");
const { io } = require(path.join(peer, "socket.io-client"));

const [url, room] = process.argv.slice(2);
if (!url || !room) {
  console.error("usage: node recovering-member.js URL ROOM");
  process.exit(2);
}

const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

const socket = io(`${url}/relay`, {
  auth: { room },
  transports: ["websocket"],
  // The test says when and where to come back.
  reconnection: false,
});

socket.on("connect", () => print({ connected: socket.id, recovered: socket.recovered }));
socket.on("disconnect", (reason) => print({ disconnected: reason }));
socket.on("connect_error", (error) => print({ error: error.message }));
socket.on("chat", (...args) => print({ chat: args }));

readline
  .createInterface({ input: process.stdin })
  .on("line", (line) => {
    const command = JSON.parse(line);
    if (command.say) {
      socket.emit("chat", ...command.say);
    } else if (command.reconnect) {
      // The manager opens its next engine at `uri`: the same socket, its pid and last offset
      // kept, on another instance.
      socket.io.uri = `${command.reconnect}`;
      socket.connect();
    }
  })
  .on("close", () => {
    socket.close();
    process.exit(0);
  });
