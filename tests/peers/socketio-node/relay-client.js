// A socket.io-client 4.8 member of the conformance app's `/relay` room, driven over stdin and
// stdout, for gif-chat's mixed-fleet tests (SPEC M2, io/tests/redis_node.rs): a Rust test can
// then see what a real client of the Node server receives, and make it send.
//
//   node relay-client.js http://127.0.0.1:PORT ROOM
//
// Prints one JSON line per thing that happens: {"connected": "<socket id>"} once joined, then
// {"chat": [...args]} for each `chat` event received. Each line read on stdin is a JSON array,
// emitted as `chat` with those arguments (the app relays it to the room). Exits when stdin ends.
// Binary data is written {"$binary": "<base64>"} both ways (a Buffer on the socket.io side).
"use strict";

const readline = require("node:readline");
const { io } = require("socket.io-client");

const [url, room] = process.argv.slice(2);
if (!url || !room) {
  console.error("usage: node relay-client.js URL ROOM");
  process.exit(2);
}

const print = (value) => process.stdout.write(`${JSON.stringify(value, toJson)}\n`);

// Buffers as {"$binary": base64} (JSON.stringify has already turned them into {type, data}).
function toJson(_key, value) {
  if (value && value.type === "Buffer" && Array.isArray(value.data)) {
    return { $binary: Buffer.from(value.data).toString("base64") };
  }
  if (value instanceof ArrayBuffer) return { $binary: Buffer.from(value).toString("base64") };
  return value;
}

function fromJson(_key, value) {
  if (value && typeof value === "object" && typeof value.$binary === "string") {
    return Buffer.from(value.$binary, "base64");
  }
  return value;
}

const socket = io(`${url}/relay`, { auth: { room }, transports: ["websocket"] });
socket.on("connect", () => print({ connected: socket.id }));
socket.on("chat", (...args) => print({ chat: args }));
socket.on("connect_error", (error) => console.error(`connect_error: ${error.message}`));

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  socket.emit("chat", ...JSON.parse(line, fromJson));
}).on("close", () => {
  socket.close();
  process.exit(0);
});
