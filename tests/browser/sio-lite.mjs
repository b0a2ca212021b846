// gif-chat's own browser Socket.IO client (demo-page/public/socket.io-lite.js) in headless
// Chromium, against a server running the conformance app (SPEC E8, tests/sio/README.md).
//
// The browser opens <server>/sio-check.html (demo-page/public/sio-check.html), which runs the
// checks with the client and reports them in `window.__results`; this script runs that page once
// per transport mode and prints one JSON line per check (`{"client","mode","scenario","ok",...}`,
// the format of tests/sio/scenarios.mjs). Modes:
//   websocket  transports ['websocket']
//   polling    transports ['polling'] (HTTP long-polling only)
//   fallback   the default ['websocket', 'polling'] with every WebSocket refused by the browser
//              (as a proxy would): the client must end up on polling
//
// Usage: node sio-lite.mjs [server-url] [mode...]
// Without a URL it starts the reference server, socket.io 4.8 on Node (tests/peers/socketio-node,
// `npm ci` there when node_modules is missing), on an ephemeral port with short ping settings and
// PUBLIC_DIR=demo-page/public so it serves the page and the client like gif-chat does, and stops
// it at the end (ping interval and timeout 300 and 1000 ms, or EIO_PING_INTERVAL_MS and
// EIO_PING_TIMEOUT_MS). With a URL (gif-chat started with CONFORMANCE=true and short pings, the
// same values advised) it only opens the page there. Exits non-zero when any check fails,
// the page logs an error, or a check is missing.
//
// Waits are on events (the peer's start line, the page's `__done`) with one bound each.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');
const PEER = join(ROOT, 'tests', 'peers', 'socketio-node');
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
const TIMEOUT_MS = Number(process.env.PAGE_TIMEOUT_MS ?? 60000);
// The peer's heartbeat: a short interval so the heartbeat check is quick, a timeout with room
// for a busy machine (a pong from Chromium over polling is a whole POST).
const PING_INTERVAL_MS = process.env.EIO_PING_INTERVAL_MS ?? '300';
const PING_TIMEOUT_MS = process.env.EIO_PING_TIMEOUT_MS ?? '1000';
// SIO_LITE_VERBOSE=1: the page's console and every request it makes, on stderr.
const VERBOSE = Boolean(process.env.SIO_LITE_VERBOSE);
const MODES = {
  websocket: { transports: 'websocket', expect: 'websocket', refuseWebSocket: false },
  polling: { transports: 'polling', expect: 'polling', refuseWebSocket: false },
  fallback: { transports: 'websocket,polling', expect: 'polling', refuseWebSocket: true },
};

const args = process.argv.slice(2);
const url = args[0] && /^https?:/.test(args[0]) ? args.shift().replace(/\/$/, '') : null;
const modes = args.length > 0 ? args : Object.keys(MODES);
for (const mode of modes) {
  if (!MODES[mode]) {
    console.error(`unknown mode ${mode}; modes: ${Object.keys(MODES).join(', ')}`);
    process.exit(2);
  }
}

/** Starts the Node peer and resolves with its URL once it prints its start line. */
function startPeer() {
  if (!existsSync(join(PEER, 'node_modules', 'socket.io'))) {
    const install = spawnSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: PEER, stdio: 'inherit' });
    if (install.status !== 0) throw new Error('npm ci in tests/peers/socketio-node failed');
  }
  const child = spawn(process.execPath, [join(PEER, 'server.js')], {
    env: {
      ...process.env,
      PORT: '0',
      EIO_PING_INTERVAL_MS: PING_INTERVAL_MS,
      EIO_PING_TIMEOUT_MS: PING_TIMEOUT_MS,
      PUBLIC_DIR: join(ROOT, 'demo-page', 'public'),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const started = new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`the peer did not start: ${output}`)), 10000);
    child.stdout.on('data', (chunk) => {
      output += chunk;
      const port = /listening on 127\.0\.0\.1:(\d+)/.exec(output)?.[1];
      if (port) {
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${port}`);
      }
    });
    child.on('exit', (code) => reject(new Error(`the peer exited (${code}): ${output}`)));
  });
  return { child, started };
}

/** Runs the check page in one mode; returns its results and what went wrong around them. */
async function runMode(browser, base, mode) {
  const { transports, expect, refuseWebSocket } = MODES[mode];
  const context = await browser.newContext();
  const problems = [];
  try {
    const page = await context.newPage();
    if (VERBOSE) {
      page.on('console', (message) => console.error(`[${mode}] console: ${message.text()}`));
      page.on('request', (r) => console.error(`[${mode}] ${r.method()} ${r.url()} ${JSON.stringify(r.postData() ?? '')}`));
      page.on('response', (r) => console.error(`[${mode}]   ${r.status()} ${r.request().method()} ${r.url()}`));
    }
    page.on('pageerror', (error) => problems.push(`page error: ${error}`));
    // A failed request shows in the console as "Failed to load resource", without its address:
    // the response names it. The refused WebSockets of the fallback mode are expected.
    page.on('console', (message) => {
      const text = message.text();
      if (message.type() !== 'error' || text.startsWith('Failed to load resource')) return;
      if (refuseWebSocket && /WebSocket/.test(text)) return;
      problems.push(`console error: ${text}`);
    });
    // One 400 is the protocol's own race, not a fault: a long-polling GET already on its way when
    // the client POSTs its close packet can reach the server after the session is gone. So a 400
    // to a GET of a session whose close packet was already sent is allowed; any other is not.
    const closed = new Set();
    const sid = (request) => new URL(request.url()).searchParams.get('sid');
    page.on('request', (request) => {
      const packets = request.method() === 'POST' ? (request.postData() ?? '').split('\x1e') : [];
      if (packets.includes('1')) closed.add(sid(request));
    });
    page.on('response', (response) => {
      const request = response.request();
      if (response.status() < 400) return;
      if (response.status() === 400 && request.method() === 'GET' && closed.has(sid(request))) return;
      problems.push(`HTTP ${response.status()} for ${request.method()} ${response.url()}`);
    });
    // Playwright answers the WebSocket handshake itself and closes at once: the server never
    // sees it, as behind a proxy that does not pass WebSocket.
    if (refuseWebSocket) await page.routeWebSocket(/\/socket\.io\//, (ws) => ws.close());
    const query = new URLSearchParams({ transports, expect });
    await page.goto(`${base}/sio-check.html?${query}`, { waitUntil: 'load', timeout: TIMEOUT_MS });
    await page.waitForFunction(() => window.__done === true, null, { timeout: TIMEOUT_MS });
    const { checks, results } = await page.evaluate(() => ({ checks: window.__checks, results: window.__results }));
    const missing = checks.filter((name) => !results.some((r) => r.scenario === name));
    if (checks.length === 0 || missing.length > 0) problems.push(`checks without a result: ${missing}`);
    return { results, problems };
  } catch (error) {
    problems.push(String(error?.message ?? error));
    return { results: [], problems };
  } finally {
    await context.close().catch(() => {});
  }
}

let peer = null;
let browser = null;
let failed = false;
try {
  let base = url;
  if (!base) {
    peer = startPeer();
    base = await peer.started;
  }
  console.error(`socket.io-lite checks against ${base}`);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: TIMEOUT_MS });
  for (const mode of modes) {
    const { results, problems } = await runMode(browser, base, mode);
    for (const result of results) {
      console.log(JSON.stringify({ client: 'socket.io-lite', mode, ...result }));
      if (!result.ok) failed = true;
    }
    for (const problem of problems) {
      console.log(JSON.stringify({ client: 'socket.io-lite', mode, scenario: 'page', ok: false, error: problem }));
      failed = true;
    }
  }
} catch (error) {
  console.log(JSON.stringify({ client: 'socket.io-lite', scenario: 'setup', ok: false, error: String(error?.message ?? error) }));
  failed = true;
} finally {
  if (browser) await browser.close().catch(() => {});
  if (peer) {
    const exited = new Promise((resolve) => peer.child.once('exit', resolve));
    if (peer.child.exitCode === null) {
      peer.child.kill('SIGTERM');
      await exited;
    }
  }
}
process.exit(failed ? 1 : 0);
