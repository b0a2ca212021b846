// A stand-in for gif-chat's chat server, so that the pages' scripts (public/rooms.js,
// public/room.js) can be checked in a browser on their own, before and apart from the Rust
// server: the templates filled the way core/src/chat/pages.rs fills them (one room row, one
// history line), the public/ files, `/room/<id>/gif` uploads (413 past 100 kB, 415 for what is
// not a GIF), and the reference socket.io 4.8 server speaking the chat contract
// (/work/notes/chat-contract.md: `/room` newRoom/updateRoom/removeRoom, `/chat` with
// auth {roomId}, join/exit/members/chat/whisper/kicked, acks {ok}/{error}).
//
// The visitor's colour is `?me=` on the room page, kept in a plain cookie (the real server derives
// it from the signed session). Room `r1` exists, owned by #ff0000; any other id is refused.
// `POST /control` with `[event, payload]` emits that on `/room` (the check drives the list).
//
// Usage: node stand-in-server.mjs; prints the port it listens on (127.0.0.1, ephemeral).
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server } from 'socket.io';

const DEMO_PAGE = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const PUBLIC = path.join(DEMO_PAGE, 'public');
const TEMPLATES = path.join(DEMO_PAGE, 'templates');
const OWNER = '#ff0000';
const ROOM = 'r1';
const TITLE = '<b>수다방</b>';
const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const fill = (t, v, slots = {}) =>
  t.replace(/<!--slot:(\w+)-->/g, (_, n) => slots[n] ?? '').replace(/\{\{(\w+)\}\}/g, (_, n) => esc(v[n] ?? ''));
const cookieMe = (header) => decodeURIComponent(/(?:^|; )me=([^;]*)/.exec(header ?? '')?.[1] ?? '#000000');
let nextId = 100;

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  const send = (status, type, body, headers = {}) => {
    res.writeHead(status, { 'content-type': type, ...headers });
    res.end(body);
  };
  if (req.method === 'POST' && url.pathname === '/control') {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const [event, payload] = JSON.parse(body);
      io.of('/room').emit(event, payload);
      send(200, 'text/plain', 'ok');
    });
    return;
  }
  if (req.method === 'GET' && url.pathname === '/rooms') {
    const row = `<tr data-id="r0"><td class="room-title">old</td><td class="room-kind">공개방</td><td class="room-max">3</td><td class="room-owner" style="color: #00ff00">#00ff00</td><td><button type="button" class="join-btn" data-id="r0" data-password="false">입장</button></td></tr>\n`;
    return send(200, 'text/html; charset=utf-8', fill(fs.readFileSync(`${TEMPLATES}/rooms.html`, 'utf8'), { error: url.searchParams.get('error') ?? '' }, { rows: row }));
  }
  const room = /^\/room\/([^/]+)$/.exec(url.pathname);
  if (req.method === 'GET' && room) {
    const me = url.searchParams.get('me') ?? '#0000ff';
    const history = `<div class="system" data-id="1"><div class="chat">${OWNER}님이 입장하셨습니다.</div></div>\n`;
    return send(200, 'text/html; charset=utf-8', fill(fs.readFileSync(`${TEMPLATES}/room.html`, 'utf8'), { id: room[1], title: TITLE, me, owner: OWNER, max: '4' }, { history }), { 'set-cookie': `me=${encodeURIComponent(me)}; Path=/` });
  }
  const upload = /^\/room\/([^/]+)\/gif$/.exec(url.pathname);
  if (req.method === 'POST' && upload) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (!(req.headers['content-type'] ?? '').startsWith('multipart/form-data') || !body.includes('name="gif"')) return send(400, 'application/json', JSON.stringify({ error: 'no gif field' }));
      if (body.length > 100_000) return send(413, 'application/json', JSON.stringify({ error: '파일이 너무 큽니다 (최대 100KB).' }));
      if (!body.includes('GIF89a')) return send(415, 'text/plain', 'nope');
      io.of('/chat').to(upload[1]).emit('chat', { _id: String(nextId++), room: upload[1], user: cookieMe(req.headers.cookie), gif: 'abc_1.gif', createdAt: new Date().toISOString() });
      send(200, 'application/json', JSON.stringify({ ok: true }));
    });
    return;
  }
  if (req.method === 'GET' && url.pathname.startsWith('/gif/')) return send(200, 'image/gif', GIF);
  const file = path.join(PUBLIC, path.normalize(url.pathname));
  if (req.method === 'GET' && file.startsWith(PUBLIC) && fs.existsSync(file) && fs.statSync(file).isFile()) {
    const type = file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'text/html';
    return send(200, `${type}; charset=utf-8`, fs.readFileSync(file));
  }
  send(404, 'text/plain', 'Not Found');
});

const io = new Server(server);
io.of('/room');
const members = []; // [{name, socket}]
const names = () => [...new Set(members.map((m) => m.name))];
const chat = io.of('/chat');
chat.use((socket, next) => {
  if (socket.handshake.auth?.roomId !== ROOM) return next(new Error('존재하지 않는 방입니다.'));
  next();
});
chat.on('connection', (socket) => {
  const me = cookieMe(socket.handshake.headers.cookie);
  socket.join(ROOM);
  const first = !members.some((m) => m.name === me);
  members.push({ name: me, socket });
  if (first) socket.to(ROOM).emit('join', { user: 'system', chat: `${me}님이 입장하셨습니다.` });
  chat.to(ROOM).emit('members', { owner: OWNER, members: names(), count: names().length });
  socket.on('chat', (text, ack) => {
    if (text === 'fail') return ack({ error: '너무 빠릅니다. 잠시 후 다시 시도하세요.' });
    chat.to(ROOM).emit('chat', { _id: String(nextId++), room: ROOM, user: me, chat: String(text), createdAt: new Date().toISOString() });
    ack({ ok: true });
  });
  socket.on('whisper', ({ to, chat: text }, ack) => {
    const targets = members.filter((m) => m.name === to);
    if (targets.length === 0) return ack({ error: '방에 없는 사람입니다.' });
    const line = { _id: String(nextId++), room: ROOM, user: me, to, chat: text, createdAt: new Date().toISOString() };
    for (const m of [...targets, ...members.filter((m) => m.name === me)]) m.socket.emit('whisper', line);
    ack({ ok: true });
  });
  socket.on('kick', ({ target }, ack) => {
    if (me !== OWNER) return ack({ error: '방장만 강퇴할 수 있습니다.' });
    const targets = members.filter((m) => m.name === target);
    if (targets.length === 0) return ack({ error: '방에 없는 사람입니다.' });
    for (const m of targets) {
      m.kicked = true;
      m.socket.emit('kicked', { by: me });
      m.socket.disconnect(true);
    }
    ack({ ok: true });
  });
  socket.on('disconnect', () => {
    const self = members.find((m) => m.socket === socket);
    members.splice(members.indexOf(self), 1);
    if (!members.some((m) => m.name === me)) {
      chat.to(ROOM).emit('exit', { user: 'system', chat: self.kicked ? `${me}님이 강퇴되었습니다.` : `${me}님이 퇴장하셨습니다.` });
    }
    chat.to(ROOM).emit('members', { owner: OWNER, members: names(), count: names().length });
  });
});

server.listen(0, '127.0.0.1', () => console.log(server.address().port));
