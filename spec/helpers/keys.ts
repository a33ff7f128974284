// spec/helpers/keys.ts
// Test signing keys, generated once per test file (key generation is slow, parsing is not).
import { generateKeyPairSync, type KeyObject } from 'node:crypto';

let rsa: { privateKey: KeyObject; publicKey: KeyObject; pem: string } | undefined;

/** A 2048-bit RSA key pair shared by the tests of one file. */
export function rsaKey(): { privateKey: KeyObject; publicKey: KeyObject; pem: string } {
  if (!rsa) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    rsa = { privateKey, publicKey, pem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString() };
  }
  return rsa;
}

/** A P-256 key pair. */
export function ecKey(): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}
