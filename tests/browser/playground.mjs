// Real-browser test of the GraphiQL playground (issue 6, "Playground").
//
// Starts the built todo-api binary in dev auth mode (a temp dir, SQLite, port 0, no
// BETTER_AUTH_*), opens GET /graphql in Debian's Chromium driven by playwright-core, and
// without pasting anything (the dev token is pre-filled in the headers editor) runs a mutation
// that creates a task and a query that lists it, reading both results from the page. Every
// request the page makes is recorded: none may go to a host other than the server. The task is
// cross-checked through the API from Node. Then it runs a subscription from the page (GraphiQL
// over graphql-transport-ws at /graphql/ws, authenticated by the same headers), creates a task
// through the API from Node, and reads the pushed event in the result pane. A screenshot is saved
// to target/browser/playground.png.
//
// Usage: node tests/browser/playground.mjs [path/to/todo-api]
//   binary:   argument, else $TODO_API_BIN, else ${CARGO_TARGET_DIR:-target}/debug/todo-api
//   browser:  $CHROMIUM (default /usr/bin/chromium)
// Exits non-zero on any failure; the server is always killed.

import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const targetDir = process.env.CARGO_TARGET_DIR
  ? path.resolve(repoRoot, process.env.CARGO_TARGET_DIR)
  : path.join(repoRoot, 'target');
const binary = path.resolve(
  process.argv[2] || process.env.TODO_API_BIN || path.join(targetDir, 'debug', 'todo-api'),
);
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const artifactDir = path.join(repoRoot, 'target', 'browser');
const screenshotPath = path.join(artifactDir, 'playground.png');

// This machine is small and often loaded: be patient, but never hang.
const STARTUP_TIMEOUT_MS = 60_000;
const UI_TIMEOUT_MS = 60_000;

const TITLE = 'From the browser';
const MUTATION = `mutation { createTask(input: {title: "${TITLE}"}) { id title } }`;
const LIST_QUERY = '{ tasks(first: 5) { nodes { title } } }';
const SUBSCRIPTION = 'subscription { taskEvents { kind task { title } } }';
const PUSHED_TITLE = 'Pushed to the browser';

let server = null;
let browser = null;
let page = null;
let workDir = null;
const serverLog = [];

function log(message) {
  console.log(`[browser-test] ${message}`);
}

function fail(message) {
  throw new Error(message);
}

function killServer() {
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGKILL');
  }
}
// However the process ends, the server goes with it.
process.on('exit', killServer);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    killServer();
    process.exit(1);
  });
}

/** Starts `todo-api serve` in dev auth mode; resolves to { baseUrl, token }. */
function startServer() {
  if (!existsSync(binary)) {
    fail(`no todo-api binary at ${binary} (build it with: cargo build --bin todo-api)`);
  }
  workDir = mkdtempSync(path.join(tmpdir(), 'todo-api-browser-'));
  const env = { ...process.env };
  for (const name of Object.keys(env)) {
    // Dev auth mode only when no authentication is configured.
    if (/^(BETTER_AUTH_|JWKS_|JWT_)/.test(name) || name === 'PORT') delete env[name];
  }
  Object.assign(env, {
    DATABASE_URL: `sqlite://${path.join(workDir, 'todo.db')}?mode=rwc`,
    BIND_ADDR: '127.0.0.1:0',
    PLAYGROUND: 'true',
    LOG_FORMAT: 'json',
  });
  log(`starting ${binary} in ${workDir}`);
  server = spawn(binary, ['serve'], { cwd: workDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  readline.createInterface({ input: server.stderr }).on('line', (line) => serverLog.push(line));

  return new Promise((resolve, reject) => {
    let baseUrl = null;
    const timer = setTimeout(
      () => reject(new Error(`no "dev token:" line within ${STARTUP_TIMEOUT_MS} ms`)),
      STARTUP_TIMEOUT_MS,
    );
    server.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    server.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`todo-api exited early (code ${code}, signal ${signal})`));
    });
    readline.createInterface({ input: server.stdout }).on('line', (line) => {
      const playground = line.match(/^==> GraphQL playground: (http:\/\/\S+)\/graphql$/);
      if (playground) baseUrl = playground[1];
      if (line.startsWith('dev token: ')) {
        clearTimeout(timer);
        const token = line.slice('dev token: '.length).trim();
        if (!baseUrl) reject(new Error('"dev token:" printed before the playground URL'));
        else if (!token) reject(new Error('empty dev token'));
        else resolve({ baseUrl, token });
      }
    });
  });
}

/** The GraphQL API from Node, with the dev token. */
async function graphql(baseUrl, token, query) {
  const response = await fetch(`${baseUrl}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  const body = await response.json();
  if (response.status !== 200 || body.errors) {
    fail(`API ${query}: HTTP ${response.status} ${JSON.stringify(body)}`);
  }
  return body.data;
}

/** Replaces the query editor's text the way a user would: focus, select all, type. */
async function setQuery(page, text) {
  const editor = page.locator('.graphiql-query-editor .CodeMirror').first();
  await editor.click();
  await page.keyboard.press('Control+A');
  // insertText types the whole string as one input, so CodeMirror's bracket auto-closing and
  // autocompletion popups (which react to single key presses) cannot alter it.
  await page.keyboard.insertText(text);
  const value = await editor.evaluate((element) => element.CodeMirror.getValue());
  if (value !== text) fail(`the query editor holds ${JSON.stringify(value)}, not the query typed`);
}

/** The full text of the result pane (a CodeMirror editor: all of it, not only what is on screen). */
function resultText(page) {
  return page
    .locator('section.result-window')
    .evaluate((element) => element.querySelector('.CodeMirror')?.CodeMirror?.getValue() ?? element.innerText);
}

/** Waits (at most UI_TIMEOUT_MS) until `check()` holds. */
async function waitFor(what, check) {
  return waitForAsync(what, async () => check());
}

async function waitForAsync(what, check) {
  const deadline = Date.now() + UI_TIMEOUT_MS;
  while (!(await check())) {
    if (Date.now() > deadline) fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Clicks the run button and waits for the result pane to show a new response containing `expected`. */
async function run(page, expected) {
  const before = await resultText(page);
  const responded = page.waitForResponse(
    (response) =>
      response.request().method() === 'POST' && new URL(response.url()).pathname === '/graphql',
    { timeout: UI_TIMEOUT_MS },
  );
  await page.locator('button.graphiql-execute-button').click();
  const response = await responded;
  // The pane shows the new response once its text changes from the previous one.
  const deadline = Date.now() + UI_TIMEOUT_MS;
  let text = await resultText(page);
  while (text === before || !text.includes(expected)) {
    if (Date.now() > deadline) fail(`the result pane never showed ${JSON.stringify(expected)}: ${text}`);
    await page.waitForTimeout(100);
    text = await resultText(page);
  }
  // And the page shows it, not only the editor's model.
  await page.locator('section.result-window').getByText(expected).first().waitFor({ timeout: UI_TIMEOUT_MS });
  return { request: response.request(), status: response.status(), text };
}

async function main() {
  // No stale artifacts from an earlier run.
  for (const file of ['playground.png', 'failure.png', 'requests.txt']) {
    rmSync(path.join(artifactDir, file), { force: true });
  }
  const { baseUrl, token } = await startServer();
  const origin = new URL(baseUrl).origin;
  const wsOrigin = origin.replace(/^http/, 'ws');
  log(`server at ${baseUrl}`);

  browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // playwright-core passes its own fresh --user-data-dir (a new temp profile each launch).
    ],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  page = await context.newPage();

  // Every request the page (and anything it opens) makes, and every problem it reports.
  const requests = [];
  const sockets = [];
  const badResponses = [];
  const failedRequests = [];
  const pageErrors = [];
  context.on('request', (request) => requests.push(`${request.method()} ${request.url()}`));
  page.on('websocket', (socket) => sockets.push(socket.url()));
  context.on('response', (response) => {
    if (response.status() >= 400) badResponses.push(`${response.status()} ${response.url()}`);
  });
  context.on('requestfailed', (request) =>
    failedRequests.push(`${request.url()}: ${request.failure()?.errorText}`),
  );
  page.on('pageerror', (error) => pageErrors.push(String(error)));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(`console: ${message.text()} (${message.location().url})`);
  });

  log(`opening ${baseUrl}/graphql`);
  await page.goto(`${baseUrl}/graphql`, { waitUntil: 'load', timeout: UI_TIMEOUT_MS });
  await page.locator('.graphiql-query-editor .CodeMirror').first().waitFor({ timeout: UI_TIMEOUT_MS });

  // The headers editor opens with the dev token: nothing was pasted.
  // (GraphiQL keeps the variables editor beside it, hidden.)
  const headersEditor = page.locator('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
  await headersEditor.waitFor({ timeout: UI_TIMEOUT_MS });
  const headersText = await headersEditor.evaluate((element) => element.CodeMirror.getValue());
  if (!headersText.includes(`Bearer ${token}`)) {
    fail(`the headers editor does not hold the dev token: ${JSON.stringify(headersText)}`);
  }
  log('headers editor pre-filled with the dev token');

  await setQuery(page, MUTATION);
  const created = await run(page, TITLE);
  const sentAuth = (await created.request.allHeaders()).authorization;
  if (sentAuth !== `Bearer ${token}`) fail(`the mutation went with Authorization ${sentAuth}`);
  if (created.status !== 200) fail(`the mutation answered HTTP ${created.status}`);
  const createdBody = JSON.parse(created.text);
  if (createdBody.errors) fail(`the mutation failed: ${created.text}`);
  const task = createdBody.data?.createTask;
  if (task?.title !== TITLE || !task.id) fail(`unexpected mutation result: ${created.text}`);
  log(`created task ${task.id} from the page`);

  await setQuery(page, LIST_QUERY);
  const listed = await run(page, TITLE);
  const listedBody = JSON.parse(listed.text);
  if (listedBody.errors) fail(`the list query failed: ${listed.text}`);
  const titles = (listedBody.data?.tasks?.nodes ?? []).map((node) => node.title);
  if (!titles.includes(TITLE)) fail(`the list on the page lacks the task: ${listed.text}`);
  log(`listed on the page: ${JSON.stringify(titles)}`);

  // Cross-check through the API.
  const api = await graphql(baseUrl, token, `{ task(id: ${JSON.stringify(task.id)}) { id title } }`);
  if (api.task?.title !== TITLE) fail(`the API does not return the task: ${JSON.stringify(api)}`);
  log('the API returns the task created in the browser');

  // A subscription from the page: the event of a change made elsewhere arrives in the pane.
  const sentOverSocket = [];
  const receivedOverSocket = [];
  page.on('websocket', (socket) => {
    socket.on('framesent', (frame) => sentOverSocket.push(String(frame.payload)));
    socket.on('framereceived', (frame) => receivedOverSocket.push(String(frame.payload)));
  });
  await setQuery(page, SUBSCRIPTION);
  // GraphiQL picks the socket from the editor's parsed document, which it updates shortly after
  // an edit: until then the run goes over HTTP (and the server answers that subscriptions need
  // the socket). A user clicks again; so does this test, a few times at most.
  const subscribed = () =>
    sentOverSocket.some((text) => text.includes('"subscribe"') && text.includes('taskEvents'));
  for (let attempt = 1; !subscribed(); attempt += 1) {
    await page.waitForTimeout(500);
    await page.locator('button.graphiql-execute-button').click();
    const deadline = Date.now() + 5_000;
    while (!subscribed() && Date.now() < deadline) await page.waitForTimeout(100);
    if (!subscribed() && attempt === 5) fail('the page never subscribed over a WebSocket');
  }
  if (!receivedOverSocket.some((text) => text.includes('"connection_ack"'))) {
    fail(`the socket was not acknowledged: ${JSON.stringify(receivedOverSocket)}`);
  }
  const init = sentOverSocket.find((text) => text.includes('"connection_init"')) ?? '';
  if (!init.includes(`Bearer ${token}`)) fail(`connection_init did not carry the headers' token: ${init}`);
  // Without a cursor a subscription delivers what commits after it started: wait until the
  // server counts it (its metric rises once it is registered), then change something.
  await waitForAsync('the server to register the subscription', async () => {
    const metrics = await (await fetch(`${baseUrl}/metrics`)).text();
    const line = metrics.split('\n').find((text) => text.startsWith('ws_active_subscriptions'));
    return line !== undefined && Number(line.split(' ').pop()) >= 1;
  });
  await graphql(baseUrl, token, `mutation { createTask(input: {title: "${PUSHED_TITLE}"}) { id } }`);
  await waitForAsync('the pushed event in the result pane', async () => {
    const text = await resultText(page);
    return text.includes(PUSHED_TITLE) && text.includes('CREATED');
  });
  await page.locator('section.result-window').getByText(PUSHED_TITLE).first().waitFor({ timeout: UI_TIMEOUT_MS });
  log(`the page received the event of "${PUSHED_TITLE}", created through the API`);

  mkdirSync(artifactDir, { recursive: true });
  await page.screenshot({ path: screenshotPath });
  log(`screenshot: ${path.relative(repoRoot, screenshotPath)}`);

  // Nothing left the server: every request and socket went to its origin.
  const isLocal = (url) =>
    url.startsWith('data:') || url.startsWith('blob:') || [origin, wsOrigin].includes(new URL(url).origin);
  const foreign = [...requests.map((r) => r.split(' ')[1]), ...sockets].filter((url) => !isLocal(url));
  writeFileSync(path.join(artifactDir, 'requests.txt'), [...requests, ...sockets.map((s) => `WS ${s}`)].join('\n') + '\n');
  log(`${requests.length} requests and ${sockets.length} websockets recorded (target/browser/requests.txt)`);
  if (foreign.length > 0) fail(`the page reached other hosts than ${origin}: ${foreign.join(', ')}`);
  if (badResponses.length > 0) fail(`error responses: ${badResponses.join(', ')}`);
  if (failedRequests.length > 0) fail(`failed requests: ${failedRequests.join(', ')}`);
  if (pageErrors.length > 0) fail(`errors in the page: ${pageErrors.join(' | ')}`);
}

let failed = false;
try {
  await main();
  console.log('[browser-test] playground: 1 passed, 0 failed');
} catch (error) {
  failed = true;
  console.error(`[browser-test] FAILED: ${error?.stack || error}`);
  if (page) {
    const failure = path.join(artifactDir, 'failure.png');
    mkdirSync(artifactDir, { recursive: true });
    await page.screenshot({ path: failure }).then(
      () => console.error(`[browser-test] screenshot of the page: ${path.relative(repoRoot, failure)}`),
      () => {},
    );
  }
  if (serverLog.length > 0) {
    console.error('[browser-test] server log (last 20 lines):');
    for (const line of serverLog.slice(-20)) console.error(`  ${line}`);
  }
  console.log('[browser-test] playground: 0 passed, 1 failed');
} finally {
  if (browser) await browser.close().catch(() => {});
  killServer();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
