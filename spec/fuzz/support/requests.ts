// spec/fuzz/support/requests.ts
// What a fuzzed request is (a plain, printable description) and how it becomes bytes on the wire.
//
// Fields are encoded losslessly (several ways): the name and value the oracle reads are exactly
// what a correct form decoder gets back. Only `corruption` breaks the encoding, on purpose.
import { preview } from './fuzz-run';

/** Ways to form-encode a name or value; every one decodes back to the same text (RFC 6749 App. B). */
export type Encoding = 'std' | 'plus' | 'all' | 'lower' | 'min';

export interface FieldSpec {
  readonly name: string;
  /** `undefined`: sent as a bare name without `=` (an empty value). */
  readonly value: string | undefined;
  readonly nameEncoding: Encoding;
  readonly valueEncoding: Encoding;
  /** Fields are sent sorted by this (ties keep their order): parameter order must not matter. */
  readonly order: number;
}

/** The Authorization header. */
export type AuthHeaderSpec =
  | { readonly kind: 'none' }
  /** Well-formed RFC 6749 §2.3.1 credentials (any scheme case, one or more spaces, lossless encoding). */
  | { readonly kind: 'basic'; readonly id: string; readonly secret: string; readonly scheme: string; readonly gap: string; readonly idEncoding: Encoding; readonly secretEncoding: Encoding }
  /** Broken on purpose (decision B14: 400 invalid_request). */
  | { readonly kind: 'malformed'; readonly why: string; readonly value: string }
  /** Arbitrary header text: never valid credentials (whitespace-only counts as no header). */
  | { readonly kind: 'raw'; readonly value: string };

/** A Content-Type header (`undefined`: none sent) and whether decision A4 accepts it as a form. */
export interface ContentTypeSpec {
  readonly value: string | undefined;
  readonly form: boolean;
}

/** Damage that makes the body undecodable (decision A6). */
export type Corruption =
  /** Text appended to one field's encoded name or value: an invalid percent-escape or escaped invalid UTF-8. */
  | { readonly kind: 'escape'; readonly field: number; readonly part: 'name' | 'value'; readonly text: string }
  /** Raw bytes that are invalid UTF-8 wherever they land, inserted at a fraction of the body. */
  | { readonly kind: 'bytes'; readonly at: number; readonly bytes: readonly number[] };

export type Endpoint = 'token' | 'device' | 'revocation' | 'introspection';

export interface RequestSpec {
  readonly endpoint: Endpoint;
  /** What the generator aimed at (e.g. "code-live by fz-conf"); for reports only, the oracle ignores it. */
  readonly aim: string;
  readonly method: string;
  /** '' or a query string starting with '?'. */
  readonly query: string;
  readonly contentType: ContentTypeSpec;
  readonly contentEncoding: string | undefined;
  readonly auth: AuthHeaderSpec;
  readonly fields: readonly FieldSpec[];
  readonly ampersands: 'none' | 'leading' | 'trailing' | 'doubled';
  /** When set, a `pad` field brings the body to exactly this many bytes (if it can). */
  readonly padTo: number | undefined;
  readonly corruption: Corruption | undefined;
  /** When set, these bytes are the body and `fields` is ignored. */
  readonly rawBody: Uint8Array | undefined;
}

export const PATHS: Readonly<Record<Endpoint, string>> = {
  token: '/connect/token',
  device: '/connect/deviceauthorization',
  revocation: '/connect/revocation',
  introspection: '/connect/introspection',
};

/** The request as bytes and headers, plus the fields it carries (after padding). */
export interface Wire {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly fields: readonly FieldSpec[];
}

/** Replaces lone surrogates (which no encoder can send) so a generated string is sendable as is. */
export function wellFormed(text: string): string {
  return text.replace(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD');
}

function percentBytes(text: string, lower: boolean): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    const hex = byte.toString(16).padStart(2, '0');
    out += `%${lower ? hex : hex.toUpperCase()}`;
  }
  return out;
}

export function encode(text: string, encoding: Encoding): string {
  switch (encoding) {
    case 'std':
      return encodeURIComponent(text);
    case 'plus':
      return encodeURIComponent(text).replace(/%20/g, '+');
    case 'all':
      return percentBytes(text, false);
    case 'lower':
      return percentBytes(text, true);
    case 'min':
      // Only what the form syntax needs; everything else (spaces, controls, non-ASCII) goes raw.
      return text.replace(/[%&=+]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
  }
}

export function authorizationValue(auth: AuthHeaderSpec): string | undefined {
  switch (auth.kind) {
    case 'none':
      return undefined;
    case 'basic': {
      const pair = `${encode(auth.id, auth.idEncoding)}:${encode(auth.secret, auth.secretEncoding)}`;
      return `${auth.scheme}${auth.gap}${Buffer.from(pair, 'utf8').toString('base64')}`;
    }
    case 'malformed':
    case 'raw':
      return auth.value;
  }
}

function encodeFields(fields: readonly FieldSpec[], spec: RequestSpec): string {
  const sorted = fields.map((field, index) => ({ field, index })).sort((a, b) => a.field.order - b.field.order || a.index - b.index);
  const parts = sorted.map(({ field }) => ({ name: encode(field.name, field.nameEncoding), value: field.value === undefined ? undefined : encode(field.value, field.valueEncoding) }));
  const corruption = spec.corruption;
  if (corruption?.kind === 'escape') {
    if (parts.length === 0) parts.push({ name: corruption.text, value: undefined });
    else {
      const target = parts[corruption.field % parts.length];
      if (corruption.part === 'value' && target.value !== undefined) target.value += corruption.text;
      else target.name += corruption.text;
    }
  }
  const body = parts.map((part) => (part.value === undefined ? part.name : `${part.name}=${part.value}`)).join(spec.ampersands === 'doubled' ? '&&' : '&');
  if (spec.ampersands === 'leading') return `&${body}`;
  if (spec.ampersands === 'trailing') return `${body}&`;
  return body;
}

/** Builds what goes on the wire. */
export function toWire(spec: RequestSpec): Wire {
  const headers: Record<string, string> = {};
  if (spec.contentType.value !== undefined) headers['Content-Type'] = spec.contentType.value;
  if (spec.contentEncoding !== undefined) headers['Content-Encoding'] = spec.contentEncoding;
  const authorization = authorizationValue(spec.auth);
  if (authorization !== undefined) headers.Authorization = authorization;
  const path = `${PATHS[spec.endpoint]}${spec.query}`;
  if (spec.rawBody !== undefined) return { method: spec.method, path, headers, body: Buffer.from(spec.rawBody), fields: [] };

  let fields = spec.fields;
  let text = encodeFields(fields, spec);
  if (spec.padTo !== undefined) {
    const separator = fields.length === 0 ? 0 : spec.ampersands === 'doubled' ? 2 : 1;
    const room = spec.padTo - Buffer.byteLength(text) - separator - 'pad='.length;
    if (room > 0) {
      fields = [...fields, { name: 'pad', value: 'a'.repeat(room), nameEncoding: 'std', valueEncoding: 'std', order: Number.MAX_SAFE_INTEGER }];
      text = encodeFields(fields, spec);
    }
  }
  let body = Buffer.from(text, 'utf8');
  if (spec.corruption?.kind === 'bytes') {
    const at = Math.min(body.length, Math.floor(spec.corruption.at * (body.length + 1)));
    body = Buffer.concat([body.subarray(0, at), Buffer.from(spec.corruption.bytes), body.subarray(at)]);
  }
  return { method: spec.method, path, headers, body, fields };
}

/** The wire request, readable: method, path, headers, and the body as an escaped string. */
export function renderWire(wire: Wire, spec: RequestSpec): string {
  const lines = [`${wire.method} ${wire.path}   (aim: ${spec.aim})`];
  for (const [name, value] of Object.entries(wire.headers)) lines.push(`${name}: ${preview(value, 200)}`);
  const body = wire.body.toString('utf8');
  const valid = Buffer.from(body, 'utf8').equals(wire.body);
  lines.push(`body (${wire.body.length} bytes${valid ? '' : ', invalid UTF-8; hex shown'}): ${valid ? preview(body) : preview(wire.body.toString('hex'))}`);
  return lines.join('\n');
}
