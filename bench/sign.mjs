// bench/sign.mjs
// The crypto floor of the floor: raw jsonwebtoken signs per second on one core (the runner pins this
// process), RS256 (RSA-2048) and ES256 (P-256), with KeyObjects and an access-token-sized payload,
// and RS256 verifications (what introspection and token exchange add per request) and ES256 ones (a
// private_key_jwt client assertion or a DPoP proof: what those scenarios add per request).
// Prints one JSON line: { RS256: { signsPerSecond, microsPerSign }, ES256: { … }, 'RS256 verify': { … }, 'ES256 verify': { … } }.
import { createPublicKey, generateKeyPairSync, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import jwt from 'jsonwebtoken';
import { loadSigningKey } from './common.mjs';

const seconds = Number(process.argv[2] ?? 3);
const rsa = loadSigningKey('RS256').privateKey;
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
const now = Math.floor(Date.now() / 1000);
const payload = { iss: 'http://localhost', sub: 'user-0001', aud: 'https://api.bench.example', client_id: 'bench-client', scope: 'api:read', iat: now, exp: now + 3600 };

function measure(alg, key) {
  const options = { algorithm: alg, keyid: 'bench', header: { typ: 'at+jwt' } };
  for (let i = 0; i < 200; i += 1) jwt.sign({ ...payload, jti: randomUUID() }, key, options);
  let count = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let t = start;
  while (t < end) {
    for (let i = 0; i < 20; i += 1) jwt.sign({ ...payload, jti: randomUUID() }, key, options);
    count += 20;
    t = performance.now();
  }
  const elapsed = (t - start) / 1000;
  return { signsPerSecond: count / elapsed, microsPerSign: (elapsed * 1e6) / count };
}

function measureVerify(alg = 'RS256') {
  const publicKey = alg === 'RS256' ? loadSigningKey('RS256').publicKey : createPublicKey(ec);
  const token = jwt.sign({ ...payload, jti: randomUUID() }, alg === 'RS256' ? rsa : ec, { algorithm: alg, keyid: 'bench', header: { typ: 'at+jwt' } });
  const options = { algorithms: [alg] };
  for (let i = 0; i < 200; i += 1) jwt.verify(token, publicKey, options);
  let count = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  let t = start;
  while (t < end) {
    for (let i = 0; i < 20; i += 1) jwt.verify(token, publicKey, options);
    count += 20;
    t = performance.now();
  }
  const elapsed = (t - start) / 1000;
  return { signsPerSecond: count / elapsed, microsPerSign: (elapsed * 1e6) / count };
}

process.stdout.write(`${JSON.stringify({ RS256: measure('RS256', rsa), ES256: measure('ES256', ec), 'RS256 verify': measureVerify('RS256'), 'ES256 verify': measureVerify('ES256') })}\n`);
