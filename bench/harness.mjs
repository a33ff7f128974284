// bench/harness.mjs
// Process plumbing of the runner: start a server pinned to a core and wait for its readiness line,
// talk to its bench-only control routes, verify one token response, sample CPU and RSS from /proc.
/* global fetch, setTimeout, clearTimeout, setInterval, clearInterval, AbortSignal, performance */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJwt, DPOP_JKT, PKJWT_CLIENT_ID, requestHeaders, SCENARIOS } from './common.mjs';

export const CORES = availableParallelism();
export const HAS_TASKSET = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** `[command, args]` running `args` under `taskset -c <core>` when taskset works. */
export function pinned(core, command, args) {
  return HAS_TASKSET && core !== undefined ? ['taskset', ['-c', String(core), command, ...args]] : [command, args];
}

/**
 * Starts `node <script>` on `core` with `env`; resolves `{ child, pid, port, tokenPath, ... }` once it
 * prints its BENCH_READY line. stdin stays a pipe: servers exit when it closes.
 */
export function startServer(script, { core, env = {}, nodeArgs = [], timeoutMs = 60_000, label = script }) {
  const [command, args] = pinned(core, process.execPath, ['--expose-gc', ...nodeArgs, script]);
  const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => fail(new Error(`${label}: not ready after ${timeoutMs} ms`)), timeoutMs);
    const fail = (error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      error.message += stderr ? `\n--- ${label} stderr ---\n${stderr.trim()}` : '';
      reject(error);
    };
    child.on('exit', (code, signal) => fail(new Error(`${label}: exited (${code ?? signal}) before it was ready`)));
    child.stdout.on('data', (chunk) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => l.startsWith('BENCH_READY '));
      if (!line) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      child.stdout.removeAllListeners('data');
      child.stdout.resume();
      const info = JSON.parse(line.slice('BENCH_READY '.length));
      // With taskset the spawned pid is taskset's, which execs node: the same pid either way.
      resolve({ ...info, child, pid: child.pid, base: `http://127.0.0.1:${info.port}`, stderr: () => stderr });
    });
  });
}

/** Ends a server we started: close its stdin, then SIGTERM, then SIGKILL. */
export async function stopServer(server) {
  if (!server || server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((resolve) => server.child.once('exit', resolve));
  server.child.stdin.end();
  const soft = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
  if (soft) return;
  server.child.kill('SIGTERM');
  const term = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
  if (!term) server.child.kill('SIGKILL');
  await exited;
}

/** Asks the server for `count` pre-generated tokens of `scenario` (or background families). */
export async function seed(server, scenario, count, background = false) {
  const response = await fetch(`${server.base}/_bench/seed`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ scenario, count, background }),
    signal: AbortSignal.timeout(60 * 60_000),
  });
  const json = await response.json();
  if (!response.ok) throw new Error(`seed ${scenario} x${count}: ${response.status} ${json.error ?? ''}`);
  return json;
}

export async function stats(server) {
  const response = await fetch(`${server.base}/_bench/stats`);
  return response.json();
}

/** The path a scenario's requests go to on `server` (the token endpoint unless the scenario names another). */
export function pathFor(server, scenario) {
  const endpoint = SCENARIOS[scenario]?.endpoint;
  if (endpoint === undefined) return server.tokenPath;
  const path = server.paths?.[endpoint];
  if (!path) throw new Error(`the server announced no ${endpoint} path`);
  return path;
}

/** One request of `scenario` (token endpoint unless it names another), as the load generator sends it. */
export async function tokenRequest(server, body, scenario) {
  const url = `${server.base}${scenario ? pathFor(server, scenario) : server.tokenPath}`;
  const response = await fetch(url, {
    method: 'POST',
    headers: requestHeaders(scenario, url),
    body: typeof body === 'function' ? body(url) : body,
  });
  const text = await response.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, json, text };
}

/**
 * Checks one answer is a token of the kind claimed: 200; access_token a compact JWS with alg RS256
 * (ES256 with BENCH_ALG=ES256 for the rows that follow it); such an id_token for the OpenID scenarios; a new refresh_token for refresh. Returns a short
 * description of what was checked, or throws.
 */
export function verifyTokenResponse(scenario, response, { spent, expectJwt = true } = {}) {
  const { status, json, text } = response;
  if (status !== 200 || !json) throw new Error(`status ${status}: ${text.slice(0, 300)}`);
  if (!expectJwt) return 'fixed JSON (no token)';
  if (scenario === 'introspection') {
    if (json.active !== true || typeof json.sub !== 'string' || typeof json.client_id !== 'string' || typeof json.exp !== 'number') {
      throw new Error(`not an active introspection answer: ${text.slice(0, 300)}`);
    }
    return `active: true, sub ${json.sub}, client_id ${json.client_id}, scope ${json.scope ?? '-'}`;
  }
  const at = decodeJwt(json.access_token);
  if (!at) throw new Error(`access_token is not a JWT: ${String(json.access_token).slice(0, 60)}`);
  const SIGNING_ALGS = ['RS256', 'ES256'];
  if (!SIGNING_ALGS.includes(at.header.alg)) throw new Error(`access_token alg ${at.header.alg}, expected RS256 or ES256`);
  const checked = [`access_token JWT ${at.header.alg} typ=${at.header.typ ?? '-'}`];
  if (SCENARIOS[scenario].jwts === 2) {
    const id = decodeJwt(json.id_token);
    if (!id) throw new Error(`no JWT id_token: ${text.slice(0, 300)}`);
    if (id.header.alg !== at.header.alg) throw new Error(`id_token alg ${id.header.alg}, expected ${at.header.alg}`);
    checked.push(`id_token ${id.header.alg}`);
  }
  if (scenario === 'token_exchange') {
    const subject = decodeJwt(spent);
    if (json.issued_token_type !== 'urn:ietf:params:oauth:token-type:access_token') throw new Error(`issued_token_type ${json.issued_token_type}`);
    if (json.access_token === spent) throw new Error('the subject token came back');
    if (subject && at.payload.sub !== subject.payload.sub) throw new Error(`exchanged token sub ${at.payload.sub}, subject token sub ${subject.payload.sub}`);
    checked.push(`issued_token_type access_token, sub ${at.payload.sub} as the subject token's`);
  }
  if (scenario === 'private_key_jwt') {
    if (at.payload.sub !== PKJWT_CLIENT_ID && at.payload.client_id !== PKJWT_CLIENT_ID) throw new Error(`token not for ${PKJWT_CLIENT_ID}: sub ${at.payload.sub}, client_id ${at.payload.client_id}`);
    checked.push(`client_id ${PKJWT_CLIENT_ID} (ES256 assertion)`);
  }
  if (scenario === 'dpop_refresh') {
    if (json.token_type !== 'DPoP') throw new Error(`token_type ${json.token_type}, expected DPoP`);
    if (at.payload.cnf?.jkt !== DPOP_JKT) throw new Error(`cnf.jkt ${JSON.stringify(at.payload.cnf)}, expected ${DPOP_JKT}`);
    checked.push('token_type DPoP, cnf.jkt = the proof key');
  }
  if (scenario === 'refresh_token' || scenario === 'dpop_refresh') {
    if (typeof json.refresh_token !== 'string' || json.refresh_token.length < 16) throw new Error(`no refresh_token in the answer: ${text.slice(0, 300)}`);
    if (json.refresh_token === spent) throw new Error('refresh_token not rotated (the same value came back)');
    checked.push('refresh_token rotated');
  }
  return checked.join(', ');
}

/** utime + stime of a process in seconds, or undefined when /proc is not there. */
export function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** `{ rss, hwm }` in bytes from /proc/<pid>/status, or undefined. */
export function memoryOf(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return undefined;
  }
}

/** Samples CPU and peak RSS of `pids` between start() and stop(). */
export function createSampler(pids, intervalMs = 100) {
  const cpu0 = new Map();
  const peak = new Map();
  let timer;
  let t0 = 0;
  const sample = () => {
    for (const pid of pids) {
      const m = memoryOf(pid);
      if (m && !(m.rss <= (peak.get(pid) ?? 0))) peak.set(pid, m.rss);
    }
  };
  return {
    start() {
      t0 = performance.now();
      for (const pid of pids) cpu0.set(pid, cpuSeconds(pid));
      sample();
      timer = setInterval(sample, intervalMs);
    },
    stop() {
      clearInterval(timer);
      sample();
      const wall = (performance.now() - t0) / 1000;
      const out = {};
      for (const pid of pids) {
        const end = cpuSeconds(pid);
        const start = cpu0.get(pid);
        out[pid] = { cpuPercent: end !== undefined && start !== undefined && wall > 0 ? ((end - start) / wall) * 100 : undefined, peakRss: peak.get(pid) };
      }
      return out;
    },
  };
}

export const procAvailable = existsSync('/proc/self/stat');
