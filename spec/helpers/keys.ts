// spec/helpers/keys.ts
// Test signing keys, generated once per test file (key generation is slow, parsing is not).
//
// Keys are generated as PEM and parsed into fresh KeyObjects, never used straight from
// generateKeyPairSync: on Node 20 the finished key-generation job shares its key's mutex, and its
// destructor (run by a GC) takes that mutex; a GC that starts while `asymmetricKeyDetails` holds it
// (the router reads it at startup) deadlocks the worker. Seen as jest workers stalling at random.
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';

/** A fresh key pair as KeyObjects that share nothing with the generation job (see above). */
export function keyPair(type: 'rsa', options: { modulusLength: number }): { privateKey: KeyObject; publicKey: KeyObject };
export function keyPair(type: 'ec', options: { namedCurve: string }): { privateKey: KeyObject; publicKey: KeyObject };
export function keyPair(type: 'rsa' | 'ec', options: { modulusLength: number } | { namedCurve: string }): { privateKey: KeyObject; publicKey: KeyObject } {
  const pems: { privateKey: string; publicKey: string } = type === 'rsa'
    ? generateKeyPairSync('rsa', { modulusLength: (options as { modulusLength: number }).modulusLength, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
    : generateKeyPairSync('ec', { namedCurve: (options as { namedCurve: string }).namedCurve, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  return { privateKey: createPrivateKey(pems.privateKey), publicKey: createPublicKey(pems.publicKey) };
}

let rsa: { privateKey: KeyObject; publicKey: KeyObject; pem: string } | undefined;

/** A 2048-bit RSA key pair shared by the tests of one file. */
export function rsaKey(): { privateKey: KeyObject; publicKey: KeyObject; pem: string } {
  if (!rsa) {
    const { privateKey, publicKey } = keyPair('rsa', { modulusLength: 2048 });
    rsa = { privateKey, publicKey, pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
  }
  return rsa;
}

/** A P-256 key pair. */
export function ecKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  return keyPair('ec', { namedCurve: 'P-256' });
}
