// The GIF chat room (SPEC §6) as people use it: headless Chromium, one browser context per
// visitor (A, B, C: three cookie jars, three colours), through the pages the server renders.
//
//   node browser.mjs <server-url> <gif-file>        (driven by tests/tests/chat_browser.rs)
//
// Phase "live", against a server started with a short ROOM_EMPTY_REMOVAL_MS (same variable
// here): A creates a room and B's open /rooms shows it without a reload; B joins and A sees the
// join line; they chat both ways (markup stays text); A uploads <gif-file> through #gif and both
// see the image load; C comes in, A whispers to B (#whisper-to) and only B sees it; the owner
// A kicks C (its .kick-btn; B's page has none, and the server refuses B's own try); a
// password room refuses a wrong password and admits the right one, and, with A and B in it
// (max 2), refuses C; A and B enter a third room and both leave it, and C's /rooms loses it
// ROOM_EMPTY_REMOVAL_MS after the last one left (on the `removeRoom` frame, then the table).
// Then the script prints {"phase":"live-done",...} and waits for one line `restarted <url>` on
// stdin: the driver has stopped the server (the pages stay open, so the stop, not a leave, is
// what drops the rooms' sockets) and started it again on the same database and upload folder.
// Phase "restart": /rooms still lists the two rooms that were not left, not the third; each
// history shows, in order, the lines A saw live (the image loading again), B's history has the
// whisper and a newcomer D's has not.
//
// Every frame the pages receive on `/room` and `/chat` is read from Chromium's WebSocket
// events and held to the shapes of events.mjs (the table the npm client check uses too).
// Prints one JSON line per step ({"scenario","ok","ms","detail"|"error"}), then
// {"events":[...]}; exits 1 when any step failed. Waits are on frames, DOM changes and
// navigations, each bounded by WAIT; nothing sleeps.

import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import {
  shapeError, signature, parseEventFrame, joined, left, kickedOut, ROOM_FULL, WRONG_PASSWORD,
} from './events.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
// playwright-core is installed once, for every browser test, in tests/browser.
const require = createRequire(join(HERE, '..', 'browser', 'package.json'));
const { chromium } = require('playwright-core');

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const WAIT = Number(process.env.CHAT_WAIT_MS ?? 15000);
const EARLY = 20;
const LATE = 3000;
const REMOVAL_MS = Number(process.env.ROOM_EMPTY_REMOVAL_MS ?? 2000);
const PASSWORD = '열려라 참깨';

let url = (process.argv[2] ?? '').replace(/\/$/, '');
const gifFile = process.argv[3];
if (!/^https?:\/\//.test(url) || !gifFile) {
  console.error('usage: node browser.mjs http://127.0.0.1:PORT <gif-file>');
  process.exit(2);
}

class Failure extends Error {}
function check(condition, what) {
  if (!condition) throw new Failure(what);
}

const shapeErrors = [];
const signatures = new Set();
const pageErrors = [];

/** A page whose chat frames are recorded, in order, as they arrive. */
async function openPage(visitor, path) {
  const page = await visitor.context.newPage();
  page.label = `${visitor.name}${visitor.pages.length + 1}`;
  visitor.pages.push(page);
  page.frames_ = [];
  page.waiters_ = new Set();
  page.dialogs_ = [];
  page.on('websocket', (ws) => {
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string') return;
      // Engine.IO may join nothing over WebSocket: one packet per frame.
      const event = parseEventFrame(payload);
      if (!event || (event.namespace !== '/room' && event.namespace !== '/chat')) return;
      const error = shapeError(event.name, event.payload);
      if (error) shapeErrors.push(`${page.label}: ${error}`);
      signatures.add(signature(event.name, event.payload));
      page.frames_.push({ ...event, at: Date.now() });
      for (const w of [...page.waiters_]) w();
    });
  });
  page.on('pageerror', (e) => pageErrors.push(`${page.label}: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource|ERR_CONNECTION_REFUSED|WebSocket/.test(m.text())) {
      pageErrors.push(`${page.label} console: ${m.text()}`);
    }
  });
  page.on('dialog', (d) => {
    page.dialogs_.push(d.message());
    d.accept().catch(() => {});
  });
  if (path) await page.goto(`${url}${path}`);
  return page;
}

/** The first frame named `name` (matching `pred`) from index `from` on; waits for it. */
function frame(page, name, pred = () => true, from = 0) {
  return new Promise((resolve, reject) => {
    const look = () => {
      const found = page.frames_.slice(from).find((f) => f.name === name && pred(f.payload));
      if (!found) return false;
      page.waiters_.delete(look);
      clearTimeout(timer);
      resolve(found);
      return true;
    };
    const timer = setTimeout(() => {
      page.waiters_.delete(look);
      reject(new Failure(`${page.label}: no ${name} frame within ${WAIT} ms; got ${JSON.stringify(page.frames_.map((f) => [f.name, f.payload]))}`));
    }, WAIT);
    if (!look()) page.waiters_.add(look);
  });
}

/** Waits until an element of #chat-list (with `cls`, if given) shows `text`. */
async function seeLine(page, text, cls) {
  try {
    await page.waitForFunction(
      ([t, c]) => [...document.querySelectorAll(`#chat-list ${c ? `.${c}` : '*'}`)].some((e) => e.textContent.includes(t)),
      [text, cls],
      { timeout: WAIT },
    );
  } catch {
    const list = await page.locator('#chat-list').innerText().catch(() => '(no #chat-list)');
    throw new Failure(`${page.label}: no ${cls ? `.${cls} ` : ''}line with ${JSON.stringify(text)} in #chat-list:\n${list}`);
  }
}

/** Waits until the page's live socket is connected (`data-connected` on `#rooms` or `#room`). */
async function connected(page) {
  await page.waitForSelector('main[data-connected="true"]', { timeout: WAIT });
}

async function chatListText(page) {
  return page.locator('#chat-list').evaluate((e) => e.textContent);
}

/** The texts of #chat-list's entries (its children), whitespace folded. */
async function entries(page) {
  return page.locator('#chat-list').evaluate((list) => [...list.children].map((e) => e.textContent.replace(/\s+/g, ' ').trim()).filter(Boolean));
}

/** Types `text` in #chat and submits #chat-form, as a person pressing the send button. */
async function sendChat(page, text) {
  await page.fill('#chat', text);
  await page.locator('#chat-form').evaluate((form) => form.requestSubmit());
}

/** Fills the create form (C2) on /room and submits it; resolves with the new room's id. */
async function createRoom(page, title, max, password = '') {
  await page.goto(`${url}/room`);
  await page.fill('[name=title]', title);
  const maxField = page.locator('[name=max]');
  if ((await maxField.evaluate((e) => e.tagName)) === 'SELECT') await maxField.selectOption(String(max));
  else await maxField.fill(String(max));
  if (password) await page.fill('[name=password]', password);
  await Promise.all([
    page.waitForURL(/\/room\/[^/?#]+$/, { timeout: WAIT }),
    page.locator('[name=title]').evaluate((e) => e.form.requestSubmit()),
  ]);
  await connected(page);
  return new URL(page.url()).pathname.split('/').pop();
}

/** Sends a `/chat` event from a second socket of the page's visitor (same cookie, same room),
 * through the server's own client, and returns the ack: what a visitor could do by hand in the
 * console, whatever the page offers. */
async function emitAsVisitor(page, room, name, arg) {
  return page.evaluate(async ({ room, name, arg, wait }) => {
    const { io } = await import('/socket.io-lite.js');
    const socket = io('/chat', { auth: { roomId: room } });
    try {
      await new Promise((resolve, reject) => {
        socket.on('connect', resolve);
        socket.on('connect_error', (e) => reject(new Error(`connect_error ${e.message}`)));
      });
      return await socket.timeout(wait).emitWithAck(name, arg);
    } finally {
      socket.disconnect();
    }
  }, { room, name, arg, wait: WAIT });
}

/** The colour in a `join` line. */
function colourOfJoin(payload) {
  const m = /^(#[0-9a-f]{6})님이 입장하셨습니다\.$/i.exec(payload.chat ?? '');
  check(m, `not a join line: ${JSON.stringify(payload)}`);
  return m[1];
}

/** Whether `sub` appears in `list` in order (not necessarily next to each other). */
function isSubsequence(sub, list) {
  let i = 0;
  for (const item of list) if (i < sub.length && item === sub[i]) i += 1;
  return i === sub.length;
}

const results = [];
async function step(scenario, run) {
  const start = Date.now();
  try {
    const detail = await run();
    results.push({ scenario, ok: true, ms: Date.now() - start, detail });
    console.log(JSON.stringify(results.at(-1)));
    return true;
  } catch (e) {
    results.push({ scenario, ok: false, ms: Date.now() - start, error: String(e?.stack ?? e) });
    console.log(JSON.stringify(results.at(-1)));
    return false;
  }
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
const visitor = async (name) => ({ name, context: await browser.newContext(), pages: [] });
const A = await visitor('A');
const B = await visitor('B');
const C = await visitor('C');
const state = {};
const seen = { main: [], secret: [] };

async function live() {
  let ok = await step('a new room appears in /rooms without a reload', async () => {
    state.lobbyB = await openPage(B, '/rooms');
    await connected(state.lobbyB);
    let navigations = 0;
    state.lobbyB.on('framenavigated', (f) => { if (f === state.lobbyB.mainFrame()) navigations += 1; });
    state.a1 = await openPage(A);
    state.main = await createRoom(state.a1, '브라우저 <방>', 10);
    const created = await frame(state.lobbyB, 'newRoom', (p) => p._id === state.main);
    state.colourA = created.payload.owner;
    const button = state.lobbyB.locator(`.join-btn[data-id="${state.main}"]`);
    await button.waitFor({ timeout: WAIT });
    const row = await button.evaluate((b) => b.closest('tr')?.textContent ?? '');
    check(row.includes('브라우저 <방>') && row.includes('공개방'), `the new row reads ${JSON.stringify(row)}`);
    check(navigations === 0, `B's /rooms navigated ${navigations} time(s)`);
    return { room: state.main, owner: state.colourA };
  });
  if (!ok) return;

  ok = await step('B joins and A sees the join line', async () => {
    const before = state.a1.frames_.length;
    await Promise.all([
      state.lobbyB.waitForURL(new RegExp(`/room/${state.main}$`), { timeout: WAIT }),
      state.lobbyB.locator(`.join-btn[data-id="${state.main}"]`).click(),
    ]);
    state.b1 = state.lobbyB;
    await connected(state.b1);
    const join = await frame(state.a1, 'join', () => true, before);
    state.colourB = colourOfJoin(join.payload);
    await seeLine(state.a1, joined(state.colourB), 'system');
    const members = await frame(state.a1, 'members', (p) => p.count === 2, before);
    check(JSON.stringify(members.payload.members) === JSON.stringify([state.colourA, state.colourB]), `members ${JSON.stringify(members.payload)}`);
    return { colourB: state.colourB };
  });
  if (!ok) return;

  ok = await step('A and B chat both ways, markup shown as text', async () => {
    await sendChat(state.a1, 'B, 안녕하세요');
    await seeLine(state.b1, 'B, 안녕하세요', 'other');
    await seeLine(state.a1, 'B, 안녕하세요', 'mine');
    await sendChat(state.b1, '<b>굵게</b> 반가워요');
    await seeLine(state.a1, '<b>굵게</b> 반가워요', 'other');
    await seeLine(state.b1, '<b>굵게</b> 반가워요', 'mine');
    const injected = await state.a1.locator('#chat-list b').count();
    check(injected === 0, `a chat became markup: ${injected} <b> in A's #chat-list`);
  });
  if (!ok) return;

  ok = await step('A uploads a GIF and both see it load', async () => {
    await state.a1.setInputFiles('#gif', gifFile);
    const sizes = [];
    for (const page of [state.a1, state.b1]) {
      try {
        await page.waitForFunction(() => [...document.querySelectorAll('#chat-list img')].some((img) => img.complete && img.naturalWidth > 0 && img.src.includes('/gif/')), null, { timeout: WAIT });
      } catch {
        throw new Failure(`${page.label}: no loaded /gif/ image in #chat-list: ${await state.a1.locator('#chat-list').innerHTML()}`);
      }
      sizes.push(await page.locator('#chat-list img').last().evaluate((img) => [img.naturalWidth, img.naturalHeight, new URL(img.src).pathname]));
    }
    const gif = await frame(state.b1, 'chat', (p) => 'gif' in p);
    check(gif.payload.user === state.colourA, `the image's author ${gif.payload.user}`);
    return { sizes };
  });
  if (!ok) return;

  ok = await step('a whisper reaches only its target', async () => {
    const before = state.a1.frames_.length;
    state.c1 = await openPage(C, `/room/${state.main}`);
    await state.c1.waitForSelector('#chat-list', { timeout: WAIT });
    const join = await frame(state.a1, 'join', () => true, before);
    state.colourC = colourOfJoin(join.payload);
    await connected(state.c1);
    const whisper = '귓속말: B만 보세요';
    // The page's way: choose B in #whisper-to, then send.
    await state.a1.locator(`#whisper-to option[value="${state.colourB}"]`).waitFor({ state: 'attached', timeout: WAIT });
    await state.a1.selectOption('#whisper-to', state.colourB);
    await sendChat(state.a1, whisper);
    await seeLine(state.b1, whisper, 'whisper');
    await seeLine(state.a1, whisper, 'whisper');
    // C does not: a public line sent after it reaches C, and the whisper never did.
    await state.a1.selectOption('#whisper-to', '');
    await sendChat(state.a1, '모두에게: 마커');
    await seeLine(state.c1, '모두에게: 마커');
    check(!(await chatListText(state.c1)).includes(whisper), "C's page shows the whisper");
    check(!state.c1.frames_.some((f) => f.name === 'whisper'), 'C received a whisper frame');
    state.whisper = whisper;
    return { colourC: state.colourC };
  });
  if (!ok) return;

  ok = await step('the owner kicks C', async () => {
    // Only the owner's page offers it, and the server refuses anyone else who tries.
    await state.b1.locator(`#member-list [data-name="${state.colourC}"]`).waitFor({ timeout: WAIT });
    check(await state.b1.locator('#member-list .kick-btn').count() === 0, "B's page offers to kick");
    const refused = await emitAsVisitor(state.b1, state.main, 'kick', { target: state.colourC });
    check(refused && typeof refused.error === 'string', `a kick by a non-owner was acked ${JSON.stringify(refused)}`);
    await Promise.all([
      state.c1.waitForURL(/\/rooms\?error=/, { timeout: WAIT }),
      state.a1.click(`#member-list .kick-btn[data-target="${state.colourC}"]`),
    ]);
    const kicked = await frame(state.c1, 'kicked');
    check(kicked.payload.by === state.colourA, `kicked by ${kicked.payload.by}`);
    await seeLine(state.b1, kickedOut(state.colourC), 'system');
    await frame(state.b1, 'members', (p) => p.count === 2 && !p.members.includes(state.colourC));
  });
  if (!ok) return;

  ok = await step('a password room refuses a wrong password and admits the right one', async () => {
    state.a2 = await openPage(A);
    state.secret = await createRoom(state.a2, '비밀 방', 2, PASSWORD);
    state.b2 = await openPage(B, `/room/${state.secret}`);
    const field = state.b2.locator('input[type=password]');
    await field.waitFor({ timeout: WAIT });
    check(!(await state.b2.locator('#chat-list').count()), 'the room shown before the password');
    check(!state.b2.url().includes(encodeURIComponent(PASSWORD)), 'the password in a URL');
    await field.fill('틀렸지롱');
    await Promise.all([state.b2.waitForNavigation({ timeout: WAIT }), field.evaluate((e) => e.form.requestSubmit())]);
    const body = await state.b2.locator('body').innerText();
    check(body.includes(WRONG_PASSWORD), `after a wrong password: ${body}`);
    if (!(await state.b2.locator('input[type=password]').count())) await state.b2.goto(`${url}/room/${state.secret}`);
    const before = state.a2.frames_.length;
    await state.b2.fill('input[type=password]', PASSWORD);
    await Promise.all([state.b2.waitForNavigation({ timeout: WAIT }), state.b2.locator('input[type=password]').evaluate((e) => e.form.requestSubmit())]);
    await connected(state.b2);
    check(new URL(state.b2.url()).pathname === `/room/${state.secret}`, `admitted to ${state.b2.url()}`);
    check(!state.b2.url().includes(encodeURIComponent(PASSWORD)) && !state.b2.url().includes('password'), 'the password in a URL');
    await frame(state.a2, 'join', (p) => p.chat === joined(state.colourB), before);
    await sendChat(state.b2, '비밀 이야기');
    await seeLine(state.a2, '비밀 이야기', 'other');
  });
  if (!ok) return;

  ok = await step('a full room refuses the next visitor', async () => {
    const page = await openPage(C, `/room/${state.secret}`);
    if (await page.locator('input[type=password]').count()) {
      await page.fill('input[type=password]', PASSWORD);
      await Promise.all([page.waitForNavigation({ timeout: WAIT }), page.locator('input[type=password]').evaluate((e) => e.form.requestSubmit())]);
    }
    await page.waitForLoadState();
    check(new URL(page.url()).pathname === '/rooms', `C is at ${page.url()}`);
    const body = await page.locator('body').innerText();
    check(body.includes(ROOM_FULL), `C's /rooms does not say ${ROOM_FULL}: ${body}`);
    check(!(await page.locator('#chat-list').count()), 'C is in the full room');
    state.lobbyC = page;
  });
  if (!ok) return;

  ok = await step('a room both left disappears from /rooms after ROOM_EMPTY_REMOVAL_MS', async () => {
    state.a3 = await openPage(A);
    await connected(state.lobbyC);
    state.short = await createRoom(state.a3, '잠깐 방', 10);
    await state.lobbyC.locator(`.join-btn[data-id="${state.short}"]`).waitFor({ timeout: WAIT });
    state.b3 = await openPage(B, `/room/${state.short}`);
    await connected(state.b3);
    await frame(state.a3, 'members', (p) => p.count === 2);
    const before = state.b3.frames_.length;
    await Promise.all([state.a3.waitForURL(/\/rooms$/, { timeout: WAIT }), state.a3.click('#exit-btn')]);
    await frame(state.b3, 'exit', (p) => p.chat === left(state.colourA), before);
    await seeLine(state.b3, left(state.colourA), 'system');
    const lastLeft = Date.now();
    await Promise.all([state.b3.waitForURL(/\/rooms$/, { timeout: WAIT }), state.b3.click('#exit-btn')]);
    const removed = await frame(state.lobbyC, 'removeRoom', (p) => p === state.short);
    const after = removed.at - lastLeft;
    check(after >= REMOVAL_MS - EARLY, `removeRoom ${after} ms after the last one left, before ${REMOVAL_MS} ms`);
    check(after <= REMOVAL_MS + LATE, `removeRoom only ${after} ms after the last one left`);
    await state.lobbyC.locator(`.join-btn[data-id="${state.short}"]`).waitFor({ state: 'detached', timeout: WAIT });
    // The other two rooms, still occupied, stay.
    check(await state.lobbyC.locator(`.join-btn[data-id="${state.main}"]`).count() === 1, 'the main room left the list');
    return { removedAfterMs: after };
  });
  if (!ok) return;

  await step('what A saw, for the restart', async () => {
    seen.main = await entries(state.a1);
    seen.secret = await entries(state.a2);
    seen.mainB = await entries(state.b1);
    check(seen.main.length >= 6, `A's main room shows ${JSON.stringify(seen.main)}`);
    return seen;
  });
}

async function afterRestart() {
  await step('after a restart /rooms lists the rooms that were not left', async () => {
    const page = await openPage(A, '/rooms');
    for (const room of [state.main, state.secret]) {
      check(await page.locator(`.join-btn[data-id="${room}"]`).count() === 1, `room ${room} is not listed after the restart`);
    }
    check(await page.locator(`.join-btn[data-id="${state.short}"]`).count() === 0, 'the removed room is back');
  });
  await step('after a restart each history is shown', async () => {
    const main = await openPage(A, `/room/${state.main}`);
    await main.waitForSelector('#chat-list', { timeout: WAIT });
    const history = await entries(main);
    check(isSubsequence(seen.main, history), `A's history ${JSON.stringify(history)} lacks, in order, what A saw ${JSON.stringify(seen.main)}`);
    await main.waitForFunction(() => [...document.querySelectorAll('#chat-list img')].some((img) => img.complete && img.naturalWidth > 0), null, { timeout: WAIT });
    const secret = await openPage(A, `/room/${state.secret}`);
    if (await secret.locator('input[type=password]').count()) {
      await secret.fill('input[type=password]', PASSWORD);
      await Promise.all([secret.waitForNavigation({ timeout: WAIT }), secret.locator('input[type=password]').evaluate((e) => e.form.requestSubmit())]);
    }
    await secret.waitForSelector('#chat-list', { timeout: WAIT });
    const secretHistory = await entries(secret);
    check(isSubsequence(seen.secret, secretHistory), `the password room's history ${JSON.stringify(secretHistory)} lacks ${JSON.stringify(seen.secret)}`);
    const b = await openPage(B, `/room/${state.main}`);
    await b.waitForSelector('#chat-list', { timeout: WAIT });
    const bHistory = await entries(b);
    check(isSubsequence(seen.mainB, bHistory), `B's history ${JSON.stringify(bHistory)} lacks, in order, what B saw ${JSON.stringify(seen.mainB)}`);
    check((await chatListText(b)).includes(state.whisper), "B's history lacks the whisper to B");
    // A newcomer (C was put out) reads the public lines, not the whisper.
    const d = await openPage(await visitor('D'), `/room/${state.main}`);
    await d.waitForSelector('#chat-list', { timeout: WAIT });
    const dText = await chatListText(d);
    check(dText.includes('모두에게: 마커'), "D's history lacks the public lines");
    check(!dText.includes(state.whisper), "D's history shows the whisper to B");
  });
}

/** The driver's line after it restarted the server: `restarted <url>`. */
function restarted() {
  return new Promise((resolve) => {
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      const m = /^restarted (https?:\/\/\S+)$/.exec(line.trim());
      if (m) {
        // Resolved before closing: closing emits 'close' at once, which resolves with null.
        resolve(m[1].replace(/\/$/, ''));
        lines.close();
      }
    });
    lines.on('close', () => resolve(null));
  });
}

try {
  await live();
  const liveOk = results.length > 0 && results.every((r) => r.ok);
  console.log(JSON.stringify({ phase: 'live-done', ok: liveOk, rooms: { main: state.main, secret: state.secret, short: state.short }, colours: { A: state.colourA, B: state.colourB, C: state.colourC } }));
  if (liveOk) {
    const next = await restarted();
    if (next) {
      url = next;
      await afterRestart();
    } else {
      results.push({ scenario: 'restart', ok: false, error: 'no `restarted <url>` line on stdin' });
      console.log(JSON.stringify(results.at(-1)));
    }
  }
} finally {
  const report = (r) => (results.push(r), console.log(JSON.stringify(r)));
  if (shapeErrors.length > 0) report({ scenario: 'shapes', ok: false, error: shapeErrors.join('\n') });
  else report({ scenario: 'shapes', ok: true, detail: 'every /room and /chat frame matched events.mjs' });
  if (pageErrors.length > 0) report({ scenario: 'page errors', ok: false, error: pageErrors.join('\n') });
  console.log(JSON.stringify({ events: [...signatures].sort() }));
  await browser.close();
}
process.exit(results.every((r) => r.ok) ? 0 : 1);
