// Opens gif-chat's page in headless Chromium and checks what a person with DevTools open would
// check (core/BEHAVIOUR.md S2, S3, S12): the page loads, the console says the WebSocket
// connected and shows the server's ticks, nothing is logged as an error and no request fails
// (the favicon included). Takes a screenshot and prints a JSON summary; exits non-zero on any
// failure.
//
// Usage: node page.mjs <url> <screenshot.png>
//
// Waits are on events (console messages) with one overall bound, never fixed sleeps. The console
// is summarised (its first lines, the tick count) to keep the output short.

import { chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const CONNECTED = '서버와 웹 소켓 연결 성공!';
const TICK = '서버에서 클라이언트로 메시지를 보냅니다.';
const TITLE = 'GIF 채팅방';
const HINT = 'F12를 눌러 console 탭과 network 탭을 확인하세요.';
const TICKS_WANTED = 2;
const CONSOLE_KEPT = 20;
const TIMEOUT_MS = Number(process.env.PAGE_TIMEOUT_MS ?? 20000);

const [url, screenshot] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error('usage: node page.mjs <url> <screenshot.png>');
  process.exit(2);
}

const summary = {
  url,
  ok: false,
  title: null,
  hintVisible: false,
  connected: false,
  ticks: 0,
  favicon: null,
  console: [],
  errors: [],
  failedRequests: [],
  screenshot: null,
  problems: [],
};

/** A promise and the function that settles it. */
function signal() {
  let resolve;
  const promise = new Promise((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Rejects after the overall bound, naming what was still awaited. */
function deadline(what) {
  return new Promise((_, reject) =>
    setTimeout(() => reject(new Error(`timed out after ${TIMEOUT_MS} ms waiting for ${what}`)), TIMEOUT_MS).unref(),
  );
}

let browser;
try {
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: TIMEOUT_MS });
  const page = await browser.newPage();
  const ready = signal();

  page.on('console', (message) => {
    const text = message.text();
    if (summary.console.length < CONSOLE_KEPT) summary.console.push({ type: message.type(), text });
    if (message.type() === 'error') summary.errors.push(text);
    if (text === CONNECTED) summary.connected = true;
    // Counting stops once the page is judged ready: each tick counted was answered well before
    // the browser closes, so the server must have logged a reply for each.
    if (text === TICK && !(summary.connected && summary.ticks >= TICKS_WANTED)) summary.ticks += 1;
    if (summary.connected && summary.ticks >= TICKS_WANTED) ready.resolve();
  });
  page.on('pageerror', (error) => summary.errors.push(String(error)));
  page.on('requestfailed', (request) => {
    summary.failedRequests.push({ url: request.url(), error: request.failure()?.errorText ?? 'failed' });
  });
  page.on('response', (response) => {
    if (response.status() >= 400) {
      summary.failedRequests.push({ url: response.url(), error: `HTTP ${response.status()}` });
    }
  });

  await page.goto(url, { waitUntil: 'load', timeout: TIMEOUT_MS });
  await Promise.race([ready.promise, deadline(`"${CONNECTED}" and ${TICKS_WANTED} ticks in the console`)]);
  // Chromium fetches the favicon from the browser process, out of sight of page events (the
  // server's access log shows that request); fetching it from the page checks it is served.
  summary.favicon = await page.evaluate(async () => {
    const response = await fetch('/favicon.ico');
    return { status: response.status, type: response.headers.get('content-type') };
  });

  summary.title = await page.title();
  summary.hintVisible = await page.getByText(HINT).isVisible();
  await page.screenshot({ path: screenshot });
  summary.screenshot = screenshot;
} catch (error) {
  summary.problems.push(String(error?.message ?? error));
} finally {
  if (browser) await browser.close().catch(() => {});
}

if (summary.title !== TITLE) summary.problems.push(`title ${JSON.stringify(summary.title)}, expected ${TITLE}`);
if (!summary.hintVisible) summary.problems.push('the F12 hint is not visible');
if (!summary.connected) summary.problems.push(`no "${CONNECTED}" in the console`);
if (summary.ticks < TICKS_WANTED) summary.problems.push(`${summary.ticks} ticks in the console, expected ${TICKS_WANTED}`);
if (summary.favicon?.status !== 200 || !/icon/.test(summary.favicon?.type ?? '')) {
  summary.problems.push(`favicon: ${JSON.stringify(summary.favicon)}`);
}
if (summary.errors.length > 0) summary.problems.push('errors in the console');
if (summary.failedRequests.length > 0) summary.problems.push('failed requests');
summary.ok = summary.problems.length === 0;

console.log(JSON.stringify(summary, null, 2));
process.exit(summary.ok ? 0 : 1);
