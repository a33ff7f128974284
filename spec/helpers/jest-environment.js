// spec/helpers/jest-environment.js
// jest's node environment plus two guards for CI (issue 17: a whole-suite run once stalled for
// 12 minutes on one worker whose event loop never turned again, so no per-test timeout fired):
//
// - A watchdog thread per jest worker process. The worker's main thread ticks a shared counter
//   every second; when the counter has not moved for JEST_WATCHDOG_SECONDS (default 180: no test
//   blocks its event loop that long on purpose), the watchdog prints the test file that is stuck
//   and the native stacks of every thread (gdb, when installed: that is how the Node 20
//   key-generation deadlock in docs/decisions.md was found), then kills the worker. jest reports
//   that file as failed ("terminated by another process") and the run goes on, instead of hanging
//   until the step's time limit. JEST_WATCHDOG_SECONDS=0 turns it off.
// - An open-handle report: what a test file left keeping the process alive (servers, sockets, ref'd
//   timers, child processes), printed after the file with its path. It names resource types only;
//   `npx jest <file> --detectOpenHandles` shows where they were created (that option runs every
//   file in one process and tracks every async resource: too slow for the whole suite). Counts are
//   compared per type, so a leaked timer can hide among jest's own when the file runs in band.
'use strict';
const { TestEnvironment } = require('jest-environment-node');
const { Worker } = require('node:worker_threads');
const { relative } = require('node:path');

const WATCHDOG_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { execFileSync } = require('node:child_process');
const { writeSync } = require('node:fs');
const ticks = new Int32Array(workerData.ticks);
let file = '(no test file started yet)';
parentPort.on('message', (message) => { file = message; });
let seen = Atomics.load(ticks, 0);
let movedAt = Date.now();
setInterval(() => {
  const now = Atomics.load(ticks, 0);
  if (now !== seen) { seen = now; movedAt = Date.now(); return; }
  const stalled = Math.round((Date.now() - movedAt) / 1000);
  if (stalled < workerData.limitSeconds) return;
  writeSync(2, '\\n[jest watchdog] worker pid ' + workerData.pid + ': the event loop has not turned for ' + stalled + ' s while running ' + file + ' (blocked or deadlocked: no timer, so no test timeout, can fire). Native stacks follow when gdb is installed; then the worker is killed so the run goes on.\\n');
  try {
    writeSync(2, execFileSync('gdb', ['-p', String(workerData.pid), '-batch', '-nx', '-ex', 'thread apply all bt 30'], { encoding: 'utf8', timeout: 60000, stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch (error) {
    writeSync(2, '[jest watchdog] no native stacks: ' + (error && error.message ? error.message.split('\\n')[0] : String(error)) + '\\n');
  }
  process.kill(workerData.pid, 'SIGKILL');
}, 1000);
`;

/** One watchdog per process (jest loads this module once per worker and runs many files in it). */
let watchdog;
function watch(file) {
  const limitSeconds = Number(process.env.JEST_WATCHDOG_SECONDS ?? 180);
  if (!(limitSeconds > 0)) return;
  if (!watchdog) {
    const ticks = new SharedArrayBuffer(4);
    const counter = new Int32Array(ticks);
    const thread = new Worker(WATCHDOG_SOURCE, { eval: true, workerData: { ticks, limitSeconds, pid: process.pid } });
    thread.unref();
    setInterval(() => Atomics.add(counter, 0, 1), 1000).unref();
    watchdog = thread;
  }
  watchdog.postMessage(file);
}

/** Resource types keeping the process alive, counted by type. */
function activeResources() {
  const counts = new Map();
  for (const type of process.getActiveResourcesInfo()) counts.set(type, (counts.get(type) ?? 0) + 1);
  return counts;
}

/** What `after` has beyond `before`, e.g. "TCPServerWrap ×1, Timeout ×2" ('' when nothing). */
function leftOver(before, after) {
  const extra = [];
  for (const [type, count] of after) if (count > (before.get(type) ?? 0)) extra.push(`${type} ×${count - (before.get(type) ?? 0)}`);
  return extra.join(', ');
}

class GuardedNodeEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    this.file = relative(config.globalConfig.rootDir, context.testPath);
  }

  async setup() {
    await super.setup();
    watch(this.file);
    this.resourcesAtStart = activeResources();
  }

  async teardown() {
    // Closing servers and sockets finish a few event-loop turns after the file's last hook: wait up
    // to half a second for them before reporting what is still open.
    let extra = leftOver(this.resourcesAtStart, activeResources());
    for (let waited = 0; extra !== '' && waited < 500; waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      extra = leftOver(this.resourcesAtStart, activeResources());
    }
    if (extra !== '') process.stderr.write(`[open handles] ${this.file} left open: ${extra} (npx jest ${this.file} --detectOpenHandles shows where they were created)\n`);
    await super.teardown();
  }
}

module.exports = GuardedNodeEnvironment;
