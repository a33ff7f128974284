// bench/load.mjs
// The load generator: a separate process (pinned by the runner to another core than the server)
// driving one server with autocannon: a warm-up run, then the measured run. Each request of a pooled
// scenario spends one pre-generated token or code, read from a file, never the same one twice.
// A `reuse` scenario presents the same token (`token`) in every request; a `fresh` or `dpop` one signs
// a new client assertion or DPoP proof (new jti, aud/htu = the endpoint URL) for every request; a
// `chain` one starts from the seeded refresh tokens and spends each answer's rotated one next.
// Protocol (IPC): receives { url, path, scenario, tokensFile?, token?, audience?, connections, warmup, duration };
// sends { phase: 'measure' } when the measured run starts and { phase: 'done', result } at the end.
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { requestHeaders, SCENARIOS } from './common.mjs';

/**
 * Runs autocannon. autocannon's own histogram keeps whole milliseconds, too coarse for the
 * "p99 within 2 ms of the floor" target: with `latencies`, every 2xx response time (fractional ms,
 * from autocannon's 'response' event) is also recorded here.
 */
function run(options, latencies) {
  return new Promise((resolve, reject) => {
    const instance = autocannon(options, (error, result) => (error ? reject(error) : resolve(result)));
    if (latencies) {
      instance.on('response', (_client, statusCode, _bytes, responseTime) => {
        if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
      });
    }
  });
}

/** Percentile (nearest rank) of an ascending array. */
function percentile(sorted, p) {
  if (!sorted.length) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function main(config) {
  const scenario = SCENARIOS[config.scenario];
  const tokens = config.tokensFile ? readFileSync(config.tokensFile, 'utf8').split('\n').filter(Boolean) : [];
  const seeded = tokens.length;
  let cursor = 0;
  let exhausted = 0;
  const nextBody = () => {
    if (cursor < tokens.length) return scenario.body(tokens[cursor++]);
    exhausted += 1;
    return scenario.body('pool-exhausted');
  };
  const url = `${config.url}${config.path}`;
  const headers = requestHeaders(config.scenario, url);
  let request;
  if (scenario.pool) {
    request = { method: 'POST', path: config.path, headers, setupRequest: (req) => ({ ...req, body: nextBody() }) };
  } else if (scenario.chain) {
    // The free refresh tokens of the chains: a request takes one, its answer gives back the rotated one.
    request = {
      method: 'POST',
      path: config.path,
      setupRequest: (req) => ({ ...req, headers: requestHeaders(config.scenario, url), body: nextBody() }),
      onResponse: (status, body) => {
        if (status !== 200) return;
        const next = JSON.parse(body).refresh_token;
        if (next) tokens.push(next);
      },
    };
  } else if (scenario.fresh || scenario.dpop) {
    // A new client assertion / DPoP proof (new jti) per request, signed here (ES256 with node:crypto).
    request = {
      method: 'POST',
      path: config.path,
      setupRequest: (req) => ({ ...req, headers: scenario.dpop ? requestHeaders(config.scenario, url) : headers, body: scenario.body(config.token, config.audience ?? url) }),
    };
  } else {
    request = { method: 'POST', path: config.path, headers, body: scenario.body(config.token) };
  }
  const base = { url: config.url, connections: config.connections, pipelining: 1, timeout: 10, requests: [request] };

  if (config.warmup > 0) await run({ ...base, duration: config.warmup });
  const warmupSpent = cursor;
  process.send({ phase: 'measure' });
  const started = Date.now();
  const latencies = [];
  const result = await run({ ...base, duration: config.duration }, latencies);
  const sorted = Float64Array.from(latencies).sort();
  const seconds = (Date.now() - started) / 1000;
  const completed = result.requests.total;
  return {
    seconds: result.duration ?? seconds,
    completed,
    rps: completed / (result.duration || seconds),
    rpsAverage: result.requests.average,
    latency: {
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted[sorted.length - 1],
      mean: sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1),
      autocannon: { p50: result.latency.p50, p99: result.latency.p99 },
    },
    non2xx: result.non2xx,
    statusCodes: result.statusCodeStats,
    errors: result.errors,
    timeouts: result.timeouts,
    pool: scenario.pool || scenario.chain ? { size: seeded, warmupSpent, spent: Math.min(cursor, tokens.length), exhausted } : undefined,
  };
}

process.once('message', (config) => {
  main(config).then(
    (result) => process.send({ phase: 'done', result }, () => process.exit(0)),
    (error) => process.send({ phase: 'error', error: String(error?.stack ?? error) }, () => process.exit(1)),
  );
});
