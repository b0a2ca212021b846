// The chat's Socket.IO events as the chat contract defines them (SPEC §6, namespaces `/room`
// and `/chat`): one table both the browser test (tests/chat/browser.mjs, reading the room page's
// own frames) and the npm client check (tests/sio/chat-client.js) hold every payload to, so the
// page and socket.io-client are shown to receive the same shapes.
//
// A shape lists every key a payload has and the kind of each value; a payload with a key more or
// less, or a value of another kind, does not match. Kinds: 'string', 'number', 'boolean',
// 'colour' (#rrggbb), 'system' (the string "system"), 'date' (an ISO-8601 string), 'id' (a
// non-empty string), ['colour'] (an array of colours).

const ROOM = { _id: 'id', title: 'string', max: 'number', owner: 'colour', password: 'boolean' };
const SYSTEM_LINE = { user: 'system', chat: 'string' };

/** Every server → client event of the chat, with the shapes its payload may take. */
export const SHAPES = {
  newRoom: [ROOM],
  updateRoom: [ROOM],
  removeRoom: ['id'],
  join: [SYSTEM_LINE],
  exit: [SYSTEM_LINE],
  system: [SYSTEM_LINE],
  chat: [
    { _id: 'id', room: 'id', user: 'colour', chat: 'string', createdAt: 'date' },
    { _id: 'id', room: 'id', user: 'colour', gif: 'id', createdAt: 'date' },
  ],
  whisper: [{ _id: 'id', room: 'id', user: 'colour', to: 'colour', chat: 'string', createdAt: 'date' }],
  members: [{ owner: 'colour', members: ['colour'], count: 'number' }],
  kicked: [{ by: 'colour' }],
};

const COLOUR = /^#[0-9a-f]{6}$/i;
const ISO_DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

function kindMatches(kind, value) {
  if (Array.isArray(kind)) return Array.isArray(value) && value.every((v) => kindMatches(kind[0], v));
  switch (kind) {
    case 'string': return typeof value === 'string';
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    case 'boolean': return typeof value === 'boolean';
    case 'colour': return typeof value === 'string' && COLOUR.test(value);
    case 'system': return value === 'system';
    case 'date': return typeof value === 'string' && ISO_DATE.test(value) && !Number.isNaN(Date.parse(value));
    case 'id': return typeof value === 'string' && value.length > 0;
    default: return false;
  }
}

function matches(shape, value) {
  if (typeof shape === 'string') return kindMatches(shape, value);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const keys = Object.keys(value).sort();
  const wanted = Object.keys(shape).sort();
  return JSON.stringify(keys) === JSON.stringify(wanted) && wanted.every((k) => kindMatches(shape[k], value[k]));
}

/** null when `payload` is a shape of event `name`, else why not. */
export function shapeError(name, payload) {
  const shapes = SHAPES[name];
  if (!shapes) return `unknown event ${name}`;
  if (shapes.some((shape) => matches(shape, payload))) return null;
  return `${name} ${JSON.stringify(payload)} matches none of ${JSON.stringify(shapes)}`;
}

/** The shape a payload matched, as a short signature (`chat:text`, `chat:gif`, `members`...). */
export function signature(name, payload) {
  if (name === 'chat') return payload && 'gif' in payload ? 'chat:gif' : 'chat:text';
  return name;
}

/** C5, C9: the system lines' texts. */
export const joined = (colour) => `${colour}님이 입장하셨습니다.`;
export const left = (colour) => `${colour}님이 퇴장하셨습니다.`;
export const kickedOut = (colour) => `${colour}님이 강퇴되었습니다.`;
export const ownerNow = (colour) => `${colour}님이 방장이 되었습니다.`;

/** C3: the refusals. */
export const NO_SUCH_ROOM = '존재하지 않는 방입니다.';
export const ROOM_FULL = '허용 인원이 초과하였습니다.';
export const WRONG_PASSWORD = '비밀번호가 틀렸습니다.';

/**
 * A Socket.IO event read from an Engine.IO text frame of the page (`42/chat,["chat",{...}]`,
 * with an optional ack id), or null for anything else (pings, CONNECT, acks). A trailing string
 * argument after the payload is a recovery offset, which handlers never see; it is dropped.
 */
export function parseEventFrame(text) {
  const m = /^42(\/[^,]*,)?(\d*)(\[.*)$/s.exec(text);
  if (!m) return null;
  let args;
  try {
    args = JSON.parse(m[3]);
  } catch {
    return null;
  }
  if (!Array.isArray(args) || typeof args[0] !== 'string') return null;
  const namespace = m[1] ? m[1].slice(0, -1) : '/';
  const [name, ...rest] = args;
  if (rest.length > 1 && typeof rest[rest.length - 1] === 'string') rest.pop();
  return { namespace, name, payload: rest[0] };
}
