// The GIF chat room's events (SPEC §6, the chat contract) received by the real npm
// socket.io-client 4.8, with a session cookie obtained over HTTP, as the room pages get them.
//
//   node chat-client.js http://127.0.0.1:PORT
//
// The server must run the chat (any runtime) with ROOM_EMPTY_REMOVAL_MS short (the same value
// is given to this script in that variable; default 2000). Two visitors, A and B, each a cookie
// from `GET /rooms`: B watches `/room` while A creates a room (`newRoom`); A's `/chat` socket
// (polling, then upgraded) and B's (WebSocket) are in it (`join`, `members`), chat both ways
// with acks, A whispers to B and B may not kick; the owner A leaves (`exit`, then the hand-over:
// `system`, `members`, `updateRoom` on `/room`), B leaves, and `removeRoom` comes once the room
// has been empty ROOM_EMPTY_REMOVAL_MS. A socket without a cookie, and one for an unknown room,
// are refused with the contract's CONNECT_ERROR. Every payload is held to the shapes of
// tests/chat/events.mjs, the table the browser test holds the page's frames to.
//
// Prints one JSON line per scenario (`{"client","scenario","ok","ms","detail"|"error"}`) and the
// signatures of every event received (`{"client","events":[...]}`), exits 1 when any failed.
// Every wait is on an event or an ack, bounded by WAIT.

import { io } from 'socket.io-client';
import { createRequire } from 'node:module';
import {
  shapeError, signature, joined, left, ownerNow, NO_SUCH_ROOM,
} from '../chat/events.mjs';

const require = createRequire(import.meta.url);
const CLIENT = `socket.io-client ${require('socket.io-client/package.json').version}`;
const WAIT = 10_000;
const EARLY = 20;
/** Room for a busy machine, small beside the default 2000 ms so an ignored setting shows. */
const LATE = 1000;

const url = (process.argv[2] ?? '').replace(/\/$/, '');
if (!/^https?:\/\//.test(url)) {
  console.error('usage: node chat-client.js http://127.0.0.1:PORT');
  process.exit(2);
}
const removalMs = Number(process.env.ROOM_EMPTY_REMOVAL_MS ?? 2000);

class Failure extends Error {}
function check(condition, what) {
  if (!condition) throw new Failure(what);
}
function same(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  check(a === e, `${what}: expected ${e}, got ${a}`);
}

/** Every event any socket received, in order, with its shape checked on arrival. */
const received = [];
const shapeErrors = [];

/**
 * A socket whose events are queued, so a test takes "the next `name`" without a race between
 * the event arriving and the listener being added.
 */
function watched(socket, label) {
  const queue = [];
  const waiters = [];
  socket.onAny((name, ...args) => {
    // A trailing string after the payload is the recovery offset; handlers never see it.
    if (args.length > 1 && typeof args[args.length - 1] === 'string') args.pop();
    const payload = args[0];
    const error = shapeError(name, payload);
    if (error) shapeErrors.push(`${label}: ${error}`);
    received.push(signature(name, payload));
    queue.push({ name, payload, at: Date.now() });
    for (const w of [...waiters]) w();
  });
  return {
    socket,
    /** The oldest queued (or next) event named `name`. */
    next(name) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          remove();
          reject(new Failure(`${label}: no ${name} within ${WAIT} ms; queued ${JSON.stringify(queue)}`));
        }, WAIT);
        const look = () => {
          const i = queue.findIndex((e) => e.name === name);
          if (i < 0) return;
          // Only the event taken leaves the queue: others (a `members` before a `join`) stay
          // for their own `next`.
          const [event] = queue.splice(i, 1);
          remove();
          clearTimeout(timer);
          resolve({ event });
        };
        const remove = () => {
          const at = waiters.indexOf(look);
          if (at >= 0) waiters.splice(at, 1);
        };
        waiters.push(look);
        look();
      });
    },
  };
}

/** A visitor: a session cookie from the server's first answer. */
async function visitor() {
  const res = await fetch(`${url}/rooms`);
  const cookie = res.headers.getSetCookie().map((c) => c.split(';')[0]).find((c) => c.startsWith('connect.sid='));
  check(cookie, `GET /rooms set no connect.sid: ${JSON.stringify(res.headers.getSetCookie())}`);
  return cookie;
}

/** POST /room as a same-origin page would; the room's id from the redirect. */
async function createRoom(cookie, title, max) {
  const res = await fetch(`${url}/room`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, origin: url, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ title, max: String(max), password: '' }).toString(),
  });
  const location = res.headers.get('location') ?? '';
  check(res.status === 303 && location.startsWith('/room/'), `POST /room: ${res.status} ${location}`);
  return location.slice('/room/'.length);
}

/**
 * Connects `namespace` with the cookie; resolves once connected with the socket watched from
 * before its first packet (the server sends `members` right after CONNECT, possibly in the
 * same polling payload), rejects with the refusal.
 */
function connect(namespace, cookie, opts = {}, label = namespace) {
  const socket = io(`${url}${namespace}`, {
    forceNew: true,
    reconnection: false,
    extraHeaders: cookie ? { cookie } : {},
    ...opts,
  });
  const watcher = watched(socket, label);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Failure(`${namespace}: no connect within ${WAIT} ms`)), WAIT);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(watcher);
    });
    socket.once('connect_error', (err) => {
      clearTimeout(timer);
      socket.close();
      reject(Object.assign(new Failure(`${namespace} refused: ${err.message}`), { refusal: err }));
    });
  });
}

async function ack(socket, name, arg) {
  return socket.timeout(WAIT).emitWithAck(name, arg);
}

const scenarios = {
  async 'chat-events'() {
    const a = await visitor();
    const b = await visitor();
    check(a !== b, 'two visitors got the same cookie');

    // B's room list hears of the new room.
    const list = await connect('/room', b, {}, 'B /room');
    const room = await createRoom(a, 'npm 방', 3);
    const { event: created } = await list.next('newRoom');
    same(created.payload._id, room, 'newRoom._id');
    same([created.payload.title, created.payload.max, created.payload.password], ['npm 방', 3, false], 'newRoom');

    // A enters over polling (upgraded to WebSocket later), B over WebSocket.
    const sa = await connect('/chat', a, { auth: { roomId: room } }, 'A /chat');
    const { event: alone } = await sa.next('members');
    const colourA = alone.payload.owner;
    same(created.payload.owner, colourA, 'the owner of newRoom is the creator');
    same([alone.payload.members, alone.payload.count], [[colourA], 1], 'members with A alone');
    const sb = await connect('/chat', b, { auth: { roomId: room }, transports: ['websocket'] }, 'B /chat');
    const { event: both } = await sb.next('members');
    const colourB = both.payload.members[1];
    same(both.payload, { owner: colourA, members: [colourA, colourB], count: 2 }, 'members seen by B');
    check(colourB !== colourA, 'two visitors share a colour');
    const { event: join } = await sa.next('join');
    same(join.payload, { user: 'system', chat: joined(colourB) }, 'join seen by A');
    const { event: bothA } = await sa.next('members');
    same(bothA.payload, both.payload, 'members seen by A');

    // Chats both ways, sender included, in both payload forms the contract allows.
    same(await ack(sa.socket, 'chat', 'hello from A'), { ok: true }, "A's chat ack");
    for (const s of [sa, sb]) {
      const { event } = await s.next('chat');
      same([event.payload.user, event.payload.chat, event.payload.room], [colourA, 'hello from A', room], 'chat from A');
    }
    same(await ack(sb.socket, 'chat', { chat: '<b>B</b> answers' }), { ok: true }, "B's chat ack");
    for (const s of [sa, sb]) {
      const { event } = await s.next('chat');
      same([event.payload.user, event.payload.chat], [colourB, '<b>B</b> answers'], 'chat from B');
    }

    // A whisper reaches B and A.
    same(await ack(sa.socket, 'whisper', { to: colourB, chat: 'psst' }), { ok: true }, 'whisper ack');
    for (const s of [sa, sb]) {
      const { event } = await s.next('whisper');
      same([event.payload.user, event.payload.to, event.payload.chat], [colourA, colourB, 'psst'], 'whisper');
    }
    // Only the owner kicks: B's try is refused with an error ack.
    const refused = await ack(sb.socket, 'kick', { target: colourA });
    check(refused && typeof refused.error === 'string' && refused.ok === undefined, `B's kick: ${JSON.stringify(refused)}`);

    // The owner A leaves: B is told, and B, the longest present, is the owner now (C9), on
    // /chat and on the room list.
    sa.socket.close();
    const { event: exit } = await sb.next('exit');
    same(exit.payload, { user: 'system', chat: left(colourA) }, 'exit seen by B');
    const { event: heir } = await sb.next('system');
    same(heir.payload, { user: 'system', chat: ownerNow(colourB) }, 'the hand-over line');
    const { event: aloneAgain } = await sb.next('members');
    same(aloneAgain.payload, { owner: colourB, members: [colourB], count: 1 }, 'members after A left');
    const { event: updated } = await list.next('updateRoom');
    same([updated.payload._id, updated.payload.owner], [room, colourB], 'updateRoom');
    // B leaves too: the room goes after ROOM_EMPTY_REMOVAL_MS.
    sb.socket.close();
    const emptiedAt = Date.now();
    const { event: removed } = await list.next('removeRoom');
    same(removed.payload, room, 'removeRoom');
    const after = removed.at - emptiedAt;
    check(after >= removalMs - EARLY, `removeRoom ${after} ms after the room emptied, before ${removalMs} ms`);
    check(after <= removalMs + LATE, `removeRoom ${after} ms after the room emptied, long after ${removalMs} ms`);
    list.socket.close();
    return { room, colourA, colourB, removedAfterMs: after };
  },

  async 'chat-refusals'() {
    const a = await visitor();
    const room = await createRoom(a, '거절', 2);
    // A socket without a session is no visitor, so no member.
    const noCookie = await connect('/chat', null, { auth: { roomId: room } }).then(
      (s) => (s.socket.close(), null),
      (e) => e.refusal,
    );
    check(noCookie && typeof noCookie.message === 'string' && noCookie.message.length > 0, 'a /chat socket without a cookie was let in');
    const unknown = await connect('/chat', a, { auth: { roomId: 'AAAAAAAAAAAAAAAAAAAAAA' } }).then(
      (s) => (s.socket.close(), null),
      (e) => e.refusal,
    );
    check(unknown, 'an unknown room was let in');
    same(unknown.message, NO_SUCH_ROOM, 'the refusal of an unknown room');
    return { noCookie: noCookie.message };
  },
};

let failed = 0;
for (const [scenario, run] of Object.entries(scenarios)) {
  const start = Date.now();
  try {
    const detail = await run();
    console.log(JSON.stringify({ client: CLIENT, scenario, ok: true, ms: Date.now() - start, detail }));
  } catch (e) {
    failed += 1;
    console.log(JSON.stringify({ client: CLIENT, scenario, ok: false, ms: Date.now() - start, error: String(e?.stack ?? e) }));
  }
}
if (shapeErrors.length > 0) {
  failed += 1;
  console.log(JSON.stringify({ client: CLIENT, scenario: 'shapes', ok: false, error: shapeErrors.join('\n') }));
} else {
  console.log(JSON.stringify({ client: CLIENT, scenario: 'shapes', ok: true, ms: 0, detail: 'every payload matched tests/chat/events.mjs' }));
}
console.log(JSON.stringify({ client: CLIENT, events: [...new Set(received)].sort() }));
process.exit(failed === 0 ? 0 : 1);
