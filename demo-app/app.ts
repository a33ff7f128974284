// demo-app/app.ts
// Builds the demo host app: the token router mounted at /connect, with file-based clients and key.
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import express, { type Express } from 'express';
import {
  createMemoryClientRegistry,
  createMemoryStorage,
  createTokenRouter,
  type MemoryClientDefinition,
  type SigningAlgorithm,
  type TokenEndpointEvent,
} from '../lib';

/** Where the router is mounted; the token endpoint is `${MOUNT_PATH}/token`. */
export const MOUNT_PATH = '/connect';
/** Defaults resolved from this file's folder, so they do not depend on the working directory. */
export const DEFAULT_CLIENTS_FILE = join(__dirname, 'clients.json');
export const DEFAULT_SIGNING_KEY_FILE = join(__dirname, '.data', 'signing-key.pem');

export interface DemoConfig {
  /** `iss` of every token. */
  issuer: string;
  /** JSON array of RFC 7591 client metadata (plaintext `client_secret` allowed: demo only). */
  clientsFile?: string;
  /** PKCS#8 PEM private key; generated (RSA-2048, mode 0600) when missing. */
  signingKeyFile?: string;
  /** Receives each output line (events, notices); defaults to stdout. */
  writeLine?: (line: string) => void;
}

export interface LoadedSigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** True when the file did not exist and the key was generated now. */
  created: boolean;
}

const writeStdout = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

/** Builds the Express app. Throws (with the library's ConfigurationError when relevant) on bad config. */
export function createDemoApp(config: DemoConfig): Express {
  const writeLine = config.writeLine ?? writeStdout;
  const keyFile = config.signingKeyFile ?? DEFAULT_SIGNING_KEY_FILE;
  const key = loadOrCreateSigningKey(keyFile);
  if (key.created) writeLine(`Generated a new RSA-2048 signing key (kid ${key.kid}) at ${keyFile}`);

  const app = express();
  app.disable('x-powered-by');
  app.use(MOUNT_PATH, createTokenRouter({
    issuer: config.issuer,
    signingKeys: [{ kid: key.kid, alg: key.alg, privateKey: key.privateKey }],
    clients: createMemoryClientRegistry(loadClients(config.clientsFile ?? DEFAULT_CLIENTS_FILE)),
    storage: createMemoryStorage(),
    onEvent: (event) => writeLine(formatEvent(event)),
  }));
  return app;
}

/** One JSON line per event; the library guarantees events carry no secrets or tokens. */
export function formatEvent(event: TokenEndpointEvent): string {
  const { type, at, ...rest } = event;
  return JSON.stringify({ event: type, time: new Date(at).toISOString(), ...rest });
}

/** Reads the clients file; entry-level validation is left to createMemoryClientRegistry. */
export function loadClients(file: string): MemoryClientDefinition[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`Cannot read clients file ${file}: ${(error as { message?: string } | null)?.message ?? String(error)}`);
  }
  if (!Array.isArray(parsed)) throw new Error(`Clients file ${file} must contain a JSON array of client metadata objects.`);
  return parsed as MemoryClientDefinition[];
}

/** Loads the PEM key at `file`, or generates and stores one when the file does not exist. */
export function loadOrCreateSigningKey(file: string): LoadedSigningKey {
  let pem: string;
  let created = false;
  try {
    pem = readFileSync(file, 'utf8');
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    pem = privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      // 'wx': never overwrite a key another process wrote in the meantime; use theirs instead.
      writeFileSync(file, pem, { mode: 0o600, flag: 'wx' });
      created = true;
    } catch (writeError) {
      if (!isErrno(writeError, 'EEXIST')) throw writeError;
      pem = readFileSync(file, 'utf8');
    }
  }
  const privateKey = createPrivateKey(pem);
  const publicKey = createPublicKey(privateKey);
  return { kid: keyId(publicKey), alg: algorithmFor(privateKey, file), privateKey, publicKey, created };
}

/** Derived from the public key, so it is stable across restarts and changes when the key does. */
export function keyId(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ format: 'der', type: 'spki' })).digest('base64url').slice(0, 16);
}

function algorithmFor(key: KeyObject, file: string): SigningAlgorithm {
  if (key.asymmetricKeyType === 'rsa') return 'RS256';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'ES256';
  throw new Error(`Signing key ${file} must be an RSA or P-256 EC private key (got ${key.asymmetricKeyType ?? 'unknown'}).`);
}

// Duck-typed: `instanceof Error` fails for Node's own errors inside jest's VM context.
function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === code;
}
