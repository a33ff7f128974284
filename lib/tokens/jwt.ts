// lib/tokens/jwt.ts
// Signs JWTs (compact JWS, RFC 7515) with jsonwebtoken, the project's JWT library, and a key
// parsed and checked at startup (signing-keys.ts).
import jwt from 'jsonwebtoken';
import type { SigningKey } from './signing-keys';

// One options object per (key, typ): jsonwebtoken builds the header { alg, typ, kid } from it.
// A key signs at most two types (at+jwt, JWT).
const optionsByKey = new WeakMap<SigningKey, Map<string, jwt.SignOptions>>();

function signOptions(key: SigningKey, typ: string): jwt.SignOptions {
  let byTyp = optionsByKey.get(key);
  if (byTyp === undefined) {
    byTyp = new Map();
    optionsByKey.set(key, byTyp);
  }
  let options = byTyp.get(typ);
  if (options === undefined) {
    options = Object.freeze({ algorithm: key.alg, keyid: key.kid, header: { alg: key.alg, typ } });
    byTyp.set(typ, options);
  }
  return options;
}

/** The signer's shape (telemetry wraps it in a signing scope). */
export type SignJwt = (payload: Readonly<Record<string, unknown>>, key: SigningKey, typ: string) => string;

/**
 * Signs `payload` as a compact JWS with header `{ alg, typ, kid }`. The payload carries its own
 * `iat`/`exp` (jsonwebtoken keeps a given `iat`); nothing else is added.
 */
export function signJwt(payload: Readonly<Record<string, unknown>>, key: SigningKey, typ: string): string {
  return jwt.sign(payload, key.privateKey, signOptions(key, typ));
}
