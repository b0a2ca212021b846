// Drives the chat pages' scripts in headless Chromium against stand-in-server.mjs, as two
// visitors would: the room list following newRoom/updateRoom/removeRoom, joining, members and
// their count, chat with its ack (and an ack's error shown), whisper, GIF upload (and 413/415
// shown), kick, a refused room, 방 나가기. Everything a visitor typed must come out as text.
//
// Usage: npm ci && node pages.mjs [screenshot-dir]. Prints one line per step; exits non-zero on
// any failed step, page error or console error. Waits are on the page's state (selectors,
// `data-connected`), each bounded, never fixed sleeps.
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const SCREENSHOTS = process.argv[2];
const server = spawn('node', [join(HERE, 'stand-in-server.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
const base = `http://127.0.0.1:${port}`;
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
const T = { timeout: 5000 };
const problems = [];
const step = async (name, fn) => {
  try {
    await fn();
    console.log('ok  ', name);
  } catch (e) {
    problems.push(name);
    console.log('FAIL', name, String(e.message).split('\n')[0]);
  }
};
const watch = (page, label) => {
  page.on('pageerror', (e) => problems.push(`${label} pageerror ${e.message}`));
  page.on('console', (m) => m.type() === 'error' && !/Failed to load resource/.test(m.text()) && problems.push(`${label} console ${m.text()}`));
};

try {
  const roomEvent = (event, payload) => fetch(`${base}/control`, { method: 'POST', body: JSON.stringify([event, payload]) });

  // ----- the room list
  const listContext = await browser.newContext();
  const list = await listContext.newPage();
  watch(list, 'list');
  await list.goto(`${base}/rooms?error=${encodeURIComponent('<i>존재하지 않는 방입니다.</i>')}`);
  await step('list: error shown as text', async () => {
    const text = await list.textContent('#error');
    if (text !== '<i>존재하지 않는 방입니다.</i>') throw new Error(text);
  });
  await list.waitForSelector('#rooms[data-connected="true"]', T);
  await step('list: newRoom adds a row, title as text', async () => {
    await roomEvent('newRoom', { _id: 'r1', title: '<img src=x onerror=alert(1)>', max: 4, owner: '#ff0000', password: true });
    await list.waitForSelector('tr[data-id="r1"]', T);
    const cells = await list.$$eval('tr[data-id="r1"] td', (tds) => tds.map((td) => td.textContent));
    const colour = await list.$eval('tr[data-id="r1"] .room-owner', (td) => td.style.color);
    if (JSON.stringify(cells) !== JSON.stringify(['<img src=x onerror=alert(1)>', '비밀방', '4', '#ff0000', '입장'])) throw new Error(JSON.stringify(cells));
    if (colour !== 'rgb(255, 0, 0)') throw new Error(colour);
    if ((await list.$$('tr[data-id="r1"] img')).length !== 0) throw new Error('markup');
    if ((await list.getAttribute('tr[data-id="r1"] .join-btn', 'data-id')) !== 'r1') throw new Error('data-id');
  });
  await step('list: updateRoom replaces the row', async () => {
    await roomEvent('updateRoom', { _id: 'r1', title: 't', max: 4, owner: '#00ff00', password: false });
    await list.waitForFunction(() => document.querySelector('tr[data-id="r1"] .room-owner')?.textContent === '#00ff00', null, T);
    if ((await list.$$('tr[data-id="r1"]')).length !== 1) throw new Error('two rows');
  });
  await step('list: removeRoom removes the row', async () => {
    await roomEvent('removeRoom', 'r0');
    await list.waitForSelector('tr[data-id="r0"]', { state: 'detached', ...T });
  });
  await step('list: 입장 goes to /room/<id>', async () => {
    await Promise.all([list.waitForURL(`${base}/room/r1`, T), list.click('tr[data-id="r1"] .join-btn')]);
  });

  await listContext.close();
  // ----- a room: A the owner, B a member
  const [ca, cb] = [await browser.newContext(), await browser.newContext()];
  const [a, b] = [await ca.newPage(), await cb.newPage()];
  watch(a, 'A');
  watch(b, 'B');
  await a.goto(`${base}/room/r1?me=${encodeURIComponent('#ff0000')}`);
  await a.waitForSelector('#room[data-connected="true"]', T);
  await b.goto(`${base}/room/r1?me=${encodeURIComponent('#0000ff')}`);
  await b.waitForSelector('#room[data-connected="true"]', T);
  await step('room: members and count live, join line for the others', async () => {
    await a.waitForFunction(() => document.getElementById('member-count').textContent === '2', null, T);
    const names = await a.$$eval('#member-list li', (li) => li.map((l) => l.dataset.name));
    if (JSON.stringify(names) !== '["#ff0000","#0000ff"]') throw new Error(JSON.stringify(names));
    await a.waitForSelector('#chat-list .system >> text=#0000ff님이 입장하셨습니다.', T);
    if ((await a.$$('#member-list .kick-btn')).length !== 1) throw new Error('owner has no kick button');
    if ((await b.$$('#member-list .kick-btn')).length !== 0) throw new Error('member has a kick button');
    const options = await b.$$eval('#whisper-to option', (o) => o.map((x) => x.value));
    if (JSON.stringify(options) !== '["","#ff0000"]') throw new Error(JSON.stringify(options));
  });
  await step('room: chat with ack, mine/other, text not markup', async () => {
    await a.fill('#chat', '<script>alert(1)</script>');
    await a.press('#chat', 'Enter');
    await a.waitForSelector('#chat-list .mine .chat >> text=<script>alert(1)</script>', T);
    await b.waitForSelector('#chat-list .other .chat >> text=<script>alert(1)</script>', T);
    if ((await b.$$('#chat-list script')).length !== 0) throw new Error('a script element');
    if ((await a.inputValue('#chat')) !== '') throw new Error('input not cleared');
  });
  await step('room: an ack error is shown and the text given back', async () => {
    await b.fill('#chat', 'fail');
    await b.press('#chat', 'Enter');
    await b.waitForFunction(() => document.getElementById('chat-error').textContent === '너무 빠릅니다. 잠시 후 다시 시도하세요.', null, T);
    if ((await b.inputValue('#chat')) !== 'fail') throw new Error('text lost');
  });
  await step('room: whisper to one member', async () => {
    await a.click('#member-list li[data-name="#0000ff"] .whisper-btn');
    if ((await a.inputValue('#whisper-to')) !== '#0000ff') throw new Error('target not chosen');
    await a.fill('#chat', '비밀이야');
    await a.press('#chat', 'Enter');
    await b.waitForSelector('#chat-list .other.whisper >> text=비밀이야', T);
    await a.waitForSelector('#chat-list .mine.whisper >> text=#ff0000 → #0000ff (귓속말)', T);
  });
  await step('room: choosing a GIF uploads it and shows the image', async () => {
    const gif = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
    await b.setInputFiles('#gif', { name: 'a.gif', mimeType: 'image/gif', buffer: gif });
    await a.waitForSelector('#chat-list .other img.gif[src="/gif/abc_1.gif"]', T);
    await b.waitForSelector('#chat-list .mine img.gif[src="/gif/abc_1.gif"]', T);
  });
  await step('room: a refused upload shows why (413, 415)', async () => {
    await b.setInputFiles('#gif', { name: 'big.gif', mimeType: 'image/gif', buffer: Buffer.alloc(200_000, 0x47) });
    await b.waitForSelector('#chat-error[data-status="413"]', T);
    if ((await b.textContent('#chat-error')) !== '파일이 너무 큽니다 (최대 100KB).') throw new Error(await b.textContent('#chat-error'));
    await b.setInputFiles('#gif', { name: 'x.gif', mimeType: 'image/gif', buffer: Buffer.from('not an image') });
    await b.waitForSelector('#chat-error[data-status="415"]', T);
    if (!(await b.textContent('#chat-error')).includes('GIF')) throw new Error(await b.textContent('#chat-error'));
  });
  await step('room: the owner kicks B; B goes back to /rooms with a message', async () => {
    await Promise.all([
      b.waitForURL(/\/rooms\?error=/, T),
      a.click('#member-list li[data-name="#0000ff"] .kick-btn'),
    ]);
    const text = await b.textContent('#error');
    if (text !== '#ff0000님이 나를 강퇴했습니다.') throw new Error(text);
    await a.waitForSelector('#chat-list .system >> text=#0000ff님이 강퇴되었습니다.', T);
    await a.waitForFunction(() => document.getElementById('member-count').textContent === '1', null, T);
  });
  await step('room: an unknown room sends back to /rooms with the reason', async () => {
    await b.goto(`${base}/room/nope`);
    await b.waitForURL(/\/rooms\?error=/, T);
    const text = await b.textContent('#error');
    if (text !== '존재하지 않는 방입니다.') throw new Error(text);
  });
  if (SCREENSHOTS) await a.screenshot({ path: join(SCREENSHOTS, 'room.png'), fullPage: true });
  await step('room: 방 나가기 goes to /rooms', async () => {
    await Promise.all([a.waitForURL(`${base}/rooms`, T), a.click('#exit-btn')]);
  });
  if (SCREENSHOTS) await a.screenshot({ path: join(SCREENSHOTS, 'rooms.png') });
} catch (e) {
  problems.push(`harness: ${e.message}`);
} finally {
  await browser.close();
  server.kill();
}
console.log(problems.length ? `PROBLEMS ${JSON.stringify(problems, null, 1)}` : 'all ok');
process.exit(problems.length ? 1 : 0);
