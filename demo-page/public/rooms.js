// rooms.js: the room list (`GET /rooms`, SPEC C1) kept live, as the book's main.pug script.
//
// The server renders the table; this script follows namespace `/room` so the table changes
// without a reload: `newRoom` adds a row, `updateRoom` (a new owner, C9) replaces one,
// `removeRoom` takes one out. Rows are built with DOM calls and `textContent`, never from HTML
// strings, because a title is whatever a visitor typed. They have the same cells, classes and
// `data-` attributes as the server's (core/src/chat/pages.rs).
//
// `입장` goes to `/room/<id>`; the server answers with the room, or with the password form of a
// private room (the book asked for the password here and put it in the URL).

import { io } from '/socket.io-lite.js';

const COLOUR = /^#[0-9a-f]{6}$/i;

const main = document.getElementById('rooms');
const table = document.querySelector('#room-list tbody');
const status = document.getElementById('status');

/** The row of a room, by id (compared as text: an id never goes into a selector). */
function rowOf(id) {
  for (const row of table.rows) if (row.dataset.id === id) return row;
  return null;
}

function cell(className, text) {
  const td = document.createElement('td');
  td.className = className;
  td.textContent = text;
  return td;
}

/** A row for a `newRoom`/`updateRoom` payload `{_id, title, max, owner, password: bool}`. */
function roomRow(room) {
  const id = String(room._id);
  const row = document.createElement('tr');
  row.dataset.id = id;
  const owner = cell('room-owner', String(room.owner ?? ''));
  if (COLOUR.test(String(room.owner))) owner.style.color = room.owner;
  const join = document.createElement('button');
  join.type = 'button';
  join.className = 'join-btn';
  join.dataset.id = id;
  join.dataset.password = room.password ? 'true' : 'false';
  join.textContent = '입장';
  const action = document.createElement('td');
  action.append(join);
  row.append(
    cell('room-title', String(room.title ?? '')),
    cell('room-kind', room.password ? '비밀방' : '공개방'),
    cell('room-max', String(room.max ?? '')),
    owner,
    action,
  );
  return row;
}

const isRoom = (room) => room !== null && typeof room === 'object' && typeof room._id === 'string' && room._id !== '';

/** Puts the room's row in place of its old one, or at the end when it had none. */
function showRoom(room) {
  if (!isRoom(room)) return;
  const row = roomRow(room);
  const old = rowOf(room._id);
  if (old) old.replaceWith(row);
  else table.append(row);
}

table.addEventListener('click', (event) => {
  const join = event.target.closest('.join-btn');
  if (join && table.contains(join)) location.href = `/room/${encodeURIComponent(join.dataset.id)}`;
});

const socket = io('/room');
let wasConnected = false;

socket.on('newRoom', showRoom);
socket.on('updateRoom', showRoom);
socket.on('removeRoom', (id) => rowOf(String(id))?.remove());

socket.on('connect', () => {
  // Events missed while away are lost unless the session was recovered: the server's list is
  // then the only truth, and a reload fetches it.
  if (wasConnected && !socket.recovered) return location.reload();
  wasConnected = true;
  main.dataset.connected = 'true';
  status.textContent = '';
});
socket.on('disconnect', () => {
  main.dataset.connected = 'false';
  status.textContent = '실시간 연결이 끊어졌습니다. 다시 연결하는 중…';
});
socket.on('connect_error', () => {
  if (!socket.active) status.textContent = '실시간 목록을 받을 수 없습니다. 새로고침하세요.';
});

// Back from a room, the browser may show this page from its cache, list and all, without the
// live connection it had: fetch the list again.
addEventListener('pageshow', (event) => {
  if (event.persisted) location.reload();
});
