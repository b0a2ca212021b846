// room.js: a chat room (`GET /room/<id>`, SPEC C3, C5–C7, C9), as the book's chat.pug script.
//
// The server renders the history; this script joins namespace `/chat` with the room id in the
// handshake's auth (the book took it from the Referer) and keeps the page live:
// - lines: `join`, `exit`, `system` (the server's), `chat` (text, or an image `gif`) and
//   `whisper`, built with DOM calls and `textContent` in the server's markup
//   (core/src/chat/pages.rs), never from HTML strings;
// - members: `members` `{owner, members, count}` fills the list, the count, the whisper target
//   choice and, for the owner, the kick buttons;
// - sending: `chat` and `whisper` with an ack, whose `{error}` is shown; `kick` likewise;
// - `kicked`, and a refused connection (unknown or full room, not admitted): back to `/rooms`
//   with the reason, which that page shows from `?error=`;
// - choosing a file in `#gif` uploads it at once (`POST /room/<id>/gif`, field `gif`); the image
//   comes back to everyone, the sender included, as a `chat` event.
// The room id and the visitor's colour come from `data-` attributes of `#room`.

import { io } from '/socket.io-lite.js';

/** How long a `chat`, `whisper` or `kick` waits for the server's answer. */
const ACK_TIMEOUT_MS = 10000;
/** A name is a colour, maybe followed by ` (2)` when two members share one. */
const COLOUR = /^#[0-9a-f]{6}/i;

const main = document.getElementById('room');
const { roomId, me } = main.dataset;
let owner = main.dataset.owner;

const chatList = document.getElementById('chat-list');
const form = document.getElementById('chat-form');
const chatInput = document.getElementById('chat');
const gifInput = document.getElementById('gif');
const whisperTo = document.getElementById('whisper-to');
const memberList = document.getElementById('member-list');
const memberCount = document.getElementById('member-count');
const ownerName = document.querySelector('#owner .colour');
const status = document.getElementById('status');
const chatError = document.getElementById('chat-error');

/** Ids of the lines shown: an event for a line the history already had adds nothing. */
const shown = new Set([...chatList.children].map((line) => line.dataset.id).filter(Boolean));

const colourOf = (name) => COLOUR.exec(String(name))?.[0] ?? null;
const text = (value) => (typeof value === 'string' ? value : value == null ? '' : String(value));

function showError(message, httpStatus) {
  chatError.textContent = message;
  if (httpStatus) chatError.dataset.status = String(httpStatus);
  else delete chatError.dataset.status;
}
const clearError = () => showError('');

function part(className, content) {
  const div = document.createElement('div');
  div.className = className;
  div.textContent = content;
  return div;
}

/**
 * A line of `#chat-list`: `kind` is `system` (join, exit, system), `chat` or `whisper`. Same
 * markup as the server's: `.system`, or `.mine`/`.other` (plus `.whisper`) coloured by author,
 * with `.user` and then `.chat` or `img.gif`.
 */
function line(kind, data) {
  const div = document.createElement('div');
  const user = text(data.user);
  if (kind === 'system' || user === 'system') {
    div.className = 'system';
    div.append(part('chat', text(data.chat)));
  } else {
    div.className = `${user === me ? 'mine' : 'other'}${kind === 'whisper' ? ' whisper' : ''}`;
    div.dataset.user = user;
    const colour = colourOf(user);
    if (colour) div.style.color = colour;
    div.append(part('user', kind === 'whisper' ? `${user} → ${text(data.to)} (귓속말)` : user));
    if (kind === 'chat' && typeof data.gif === 'string' && data.gif !== '') {
      const image = document.createElement('img');
      image.className = 'gif';
      image.src = `/gif/${encodeURIComponent(data.gif)}`;
      image.alt = 'GIF';
      div.append(image);
    } else {
      div.append(part('chat', text(data.chat)));
    }
  }
  if (data._id != null) div.dataset.id = String(data._id);
  return div;
}

function addLine(kind, data) {
  if (data === null || typeof data !== 'object') return;
  if (data.room != null && String(data.room) !== roomId) return;
  if (data._id != null) {
    if (shown.has(String(data._id))) return;
    shown.add(String(data._id));
  }
  // Follow the conversation unless the visitor scrolled up to read.
  const atBottom = chatList.scrollHeight - chatList.scrollTop - chatList.clientHeight < 40;
  const added = line(kind, data);
  chatList.append(added);
  if (atBottom || added.classList.contains('mine')) chatList.scrollTop = chatList.scrollHeight;
}

/** One member: the name in its colour, `방장`/`나` marks, whisper and (for the owner) kick. */
function memberItem(name) {
  const item = document.createElement('li');
  item.className = 'member';
  item.dataset.name = name;
  const label = document.createElement('span');
  label.className = 'colour';
  label.textContent = name;
  const colour = colourOf(name);
  if (colour) label.style.color = colour;
  item.append(label);
  if (name === owner) item.append(badge('owner-badge', '방장'));
  if (name === me) item.append(badge('me-badge', '나'));
  if (name !== me) {
    item.append(button('whisper-btn', '귓속말', name));
    if (me === owner) item.append(button('kick-btn', '강퇴', name));
  }
  return item;
}

function badge(className, label) {
  const span = document.createElement('span');
  span.className = className;
  span.textContent = label;
  return span;
}

function button(className, label, target) {
  const element = document.createElement('button');
  element.type = 'button';
  element.className = className;
  element.dataset.target = target;
  element.textContent = label;
  return element;
}

/** `members` `{owner, members: [name...], count}`: the list, the count and the whisper targets. */
function showMembers(data) {
  if (data === null || typeof data !== 'object' || !Array.isArray(data.members)) return;
  const names = data.members.map(text);
  if (typeof data.owner === 'string') {
    owner = data.owner;
    main.dataset.owner = owner;
    ownerName.textContent = owner;
    ownerName.style.color = colourOf(owner) ?? '';
  }
  memberCount.textContent = String(Number.isInteger(data.count) ? data.count : names.length);
  memberList.replaceChildren(...names.map(memberItem));
  const chosen = whisperTo.value;
  const everyone = new Option('모두에게', '');
  const targets = names.filter((name) => name !== me).map((name) => new Option(`${name}에게 귓속말`, name));
  whisperTo.replaceChildren(everyone, ...targets);
  whisperTo.value = names.includes(chosen) && chosen !== me ? chosen : '';
}

/** Sends with an ack; resolves with the error to show, or null when the server said yes. */
function ask(event, payload) {
  return new Promise((resolve) => {
    socket.timeout(ACK_TIMEOUT_MS).emit(event, payload, (timedOut, reply) => {
      if (timedOut) resolve('서버의 응답이 없습니다. 다시 시도하세요.');
      else if (reply !== null && typeof reply === 'object' && reply.error != null) resolve(text(reply.error));
      else resolve(null);
    });
  });
}

/** Leaves for the room list, which shows `message` (its `?error=`). */
function backToRooms(message) {
  socket.disconnect();
  location.replace(`/rooms?error=${encodeURIComponent(message)}`);
}

const socket = io('/chat', { auth: { roomId } });
let wasConnected = false;
let leaving = false;

for (const event of ['join', 'exit', 'system']) socket.on(event, (data) => addLine('system', data));
socket.on('chat', (data) => addLine('chat', data));
socket.on('whisper', (data) => addLine('whisper', data));
socket.on('members', showMembers);
socket.on('kicked', (data) => {
  leaving = true;
  const by = typeof data?.by === 'string' ? data.by : '방장';
  backToRooms(`${by}님이 나를 강퇴했습니다.`);
});

socket.on('connect', () => {
  // Lines said while away are lost unless the session was recovered: the server's history is
  // then the only truth, and a reload fetches it.
  if (wasConnected && !socket.recovered) return location.reload();
  wasConnected = true;
  main.dataset.connected = 'true';
  status.textContent = '';
});
socket.on('disconnect', (reason) => {
  main.dataset.connected = 'false';
  if (leaving) return;
  status.textContent =
    reason === 'io server disconnect' ? '서버가 연결을 끊었습니다.' : '연결이 끊어졌습니다. 다시 연결하는 중…';
});
socket.on('connect_error', (error) => {
  // Refused (unknown or full room, password not given): final, so say why on the list. A
  // network failure is retried by the client.
  if (!socket.active) {
    leaving = true;
    backToRooms(error.message);
  } else {
    status.textContent = '연결하지 못했습니다. 다시 연결하는 중…';
  }
});

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const said = chatInput.value;
  if (said === '') return;
  const to = whisperTo.value;
  chatInput.value = '';
  const error = to === '' ? await ask('chat', said) : await ask('whisper', { to, chat: said });
  if (error === null) return clearError();
  showError(error);
  // Give the text back so it is not lost, unless something new was typed meanwhile.
  if (chatInput.value === '') chatInput.value = said;
});

memberList.addEventListener('click', async (event) => {
  const target = event.target.closest('button');
  if (!target || !memberList.contains(target)) return;
  if (target.classList.contains('whisper-btn')) {
    whisperTo.value = target.dataset.target;
    chatInput.focus();
  } else if (target.classList.contains('kick-btn')) {
    const error = await ask('kick', { target: target.dataset.target });
    if (error === null) clearError();
    else showError(error);
  }
});

/** What to show for a refused upload: the server's `{error}`, else a reason by status. */
async function uploadError(response) {
  let message = null;
  try {
    const body = await response.json();
    if (body !== null && typeof body === 'object' && body.error != null) message = text(body.error);
  } catch {
    // Not JSON (a proxy's page, an empty body): the status says enough.
  }
  const byStatus = {
    400: '이미지 파일(GIF, PNG, JPEG, WebP)만 올릴 수 있습니다.',
    413: '파일이 너무 큽니다.',
    415: '이미지 파일(GIF, PNG, JPEG, WebP)만 올릴 수 있습니다.',
    429: '너무 빠릅니다. 잠시 후 다시 시도하세요.',
  };
  return message ?? byStatus[response.status] ?? `올리지 못했습니다 (HTTP ${response.status}).`;
}

gifInput.addEventListener('change', async () => {
  const file = gifInput.files?.[0];
  if (!file) return;
  const body = new FormData();
  body.append('gif', file);
  status.textContent = '올리는 중…';
  try {
    const response = await fetch(`/room/${encodeURIComponent(roomId)}/gif`, { method: 'POST', body });
    if (response.ok) clearError();
    else showError(await uploadError(response), response.status);
  } catch {
    showError('올리지 못했습니다. 파일이 너무 크거나 연결이 끊어졌습니다.');
  } finally {
    status.textContent = '';
    // The same file chosen again is a new upload.
    gifInput.value = '';
  }
});

document.getElementById('exit-btn').addEventListener('click', () => {
  // Say goodbye now rather than when the page unloads: the others see `exit` at once.
  leaving = true;
  socket.disconnect();
});

chatList.scrollTop = chatList.scrollHeight;
