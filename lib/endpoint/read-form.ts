// lib/endpoint/read-form.ts
// Reads and strictly parses an application/x-www-form-urlencoded body (RFC 6749 §3.2, App. B).
import { isUtf8 } from 'node:buffer';
import type { IncomingMessage } from 'node:http';
import { OAuthError } from '../contracts/errors';

// RFC 6749 §3.2. The name is not repeated back: it is caller text.
const REPEATED = 'A parameter is repeated.';

/** A parsed form: each parameter at most once, string values, empty values dropped. */
export type FormParameters = Readonly<Record<string, string>>;

/**
 * The one parameter that may repeat (RFC 8707 §2: several `resource` parameters name several
 * resources). Its values are kept apart from {@link FormParameters}, in order, empty ones dropped.
 */
export const REPEATABLE_PARAMETER = 'resource';

/** A parsed body: the single-valued parameters and the values of {@link REPEATABLE_PARAMETER}. */
export interface ParsedParameters {
  readonly params: FormParameters;
  /** The `resource` values as sent (not yet syntax-checked). */
  readonly resources: readonly string[];
}

/** Limits applied while reading a form. */
export interface FormLimits {
  /** Largest accepted body in bytes. */
  readonly maxBytes: number;
  /** Most parameters accepted in one body. */
  readonly maxParameters: number;
}

const FORM_TYPE = 'application/x-www-form-urlencoded';

/**
 * True when the Content-Type is form-urlencoded: any letter case, optional parameters, and a
 * charset (if given) of UTF-8, the only encoding RFC 6749 App. B allows.
 */
export function isFormContentType(header: string | undefined): boolean {
  if (!header) return false;
  const [type, ...params] = header.split(';');
  if (type.trim().toLowerCase() !== FORM_TYPE) return false;
  for (const param of params) {
    const [name, value = ''] = param.split('=');
    if (name.trim().toLowerCase() === 'charset' && value.trim().replace(/^"|"$/g, '').toLowerCase() !== 'utf-8') return false;
  }
  return true;
}

/**
 * Reads the request body and parses it. Rejects (as OAuthError) a wrong content type, a body
 * over `maxBytes` (413, without buffering the rest), too many or repeated parameters (`resource`
 * aside), bracket-syntax names, and invalid percent-escapes or UTF-8.
 */
export async function readForm(req: IncomingMessage & { body?: unknown }, limits: FormLimits): Promise<ParsedParameters> {
  return readParameters(req, limits, false);
}

/**
 * Like {@link readForm}, and when `allowJson` also an `application/json` body (TelenorID+
 * compatibility on the device endpoints): a flat object of strings, parsed as strictly as a form
 * (same size caps, UTF-8 only, a repeated key refused — JSON.parse would keep the last silently);
 * only `resource` may hold an array of strings instead (JSON has no repeated keys).
 */
export async function readParameters(req: IncomingMessage & { body?: unknown }, limits: FormLimits, allowJson: boolean): Promise<ParsedParameters & { json: boolean }> {
  const declared = req.headers['content-length'];
  if (allowJson && isJsonContentType(req.headers['content-type'])) {
    if (req.headers['content-encoding'] !== undefined && req.headers['content-encoding'].toLowerCase() !== 'identity') {
      throw new OAuthError('invalid_request', 'Compressed request bodies are not accepted.');
    }
    if (declared !== undefined && Number(declared) > limits.maxBytes) throw tooLarge(limits.maxBytes);
    if (alreadyParsed(req)) return { ...fromHostParsedBody(req.body, limits), json: true };
    return { ...parseFlatJson(await readBody(req, limits.maxBytes), limits), json: true };
  }
  return { ...(await readFormBody(req, limits)), json: false };
}

async function readFormBody(req: IncomingMessage & { body?: unknown }, limits: FormLimits): Promise<ParsedParameters> {
  const declared = req.headers['content-length'];
  const hasBody = (declared !== undefined && declared !== '0') || req.headers['transfer-encoding'] !== undefined;
  if (!isFormContentType(req.headers['content-type'])) {
    if (!hasBody && req.headers['content-type'] === undefined) return new Collector(limits.maxParameters).result();
    throw new OAuthError('invalid_request', 'The request body must be application/x-www-form-urlencoded (UTF-8).', { status: 400 });
  }
  if (req.headers['content-encoding'] !== undefined && req.headers['content-encoding'].toLowerCase() !== 'identity') {
    throw new OAuthError('invalid_request', 'Compressed request bodies are not accepted.');
  }
  if (declared !== undefined && Number(declared) > limits.maxBytes) throw tooLarge(limits.maxBytes);
  const raw = alreadyParsed(req) ? undefined : await readBody(req, limits.maxBytes);
  return raw === undefined ? fromHostParsedBody(req.body, limits) : parseForm(raw, limits);
}

/** Parses a form body string. Exported for tests and custom endpoints. */
export function parseForm(body: string, limits: Pick<FormLimits, 'maxParameters'>): ParsedParameters {
  const collector = new Collector(limits.maxParameters);
  if (body.length === 0) return collector.result();
  const pairs = body.split('&');
  if (pairs.length > limits.maxParameters) throw tooMany(limits.maxParameters);
  for (const pair of pairs) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    const name = decodeComponent(eq === -1 ? pair : pair.slice(0, eq));
    const value = eq === -1 ? '' : decodeComponent(pair.slice(eq + 1));
    collector.add(name, value, true);
  }
  return collector.result();
}

/** True for `application/json` (any case), with no charset or UTF-8. */
function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const [type, ...params] = header.split(';');
  if (type.trim().toLowerCase() !== 'application/json') return false;
  return params.every((param) => {
    const [name, value = ''] = param.split('=');
    return name.trim().toLowerCase() !== 'charset' || value.trim().replace(/^"|"$/g, '').toLowerCase() === 'utf-8';
  });
}

// One JSON string token (RFC 8259 §7), decoded with JSON.parse once it is isolated.
// eslint-disable-next-line no-control-regex -- RFC 8259 §7: control characters must be escaped inside strings
const JSON_STRING = /"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/y;
const JSON_SPACE = /[ \t\n\r]*/y;

/**
 * Parses `{ "name": "value", … }` only: string values, no repeated names, nothing nested — except
 * that `resource` may hold an array of strings (`"resource": ["https://a", "https://b"]`).
 */
export function parseFlatJson(text: string, limits: Pick<FormLimits, 'maxParameters'>): ParsedParameters {
  const collector = new Collector(limits.maxParameters);
  let at = 0;
  const malformed = (): OAuthError => new OAuthError('invalid_request', 'The JSON body must be one object of string values.');
  const space = (): void => {
    JSON_SPACE.lastIndex = at;
    JSON_SPACE.exec(text);
    at = JSON_SPACE.lastIndex;
  };
  const string = (): string => {
    JSON_STRING.lastIndex = at;
    const match = JSON_STRING.exec(text);
    if (!match) throw malformed();
    at = JSON_STRING.lastIndex;
    return JSON.parse(match[0]) as string;
  };
  const expect = (char: string): void => {
    if (text[at] !== char) throw malformed();
    at += 1;
  };
  space();
  expect('{');
  space();
  if (text[at] === '}') at += 1;
  else {
    for (;;) {
      space();
      const name = string();
      space();
      expect(':');
      space();
      if (name === REPEATABLE_PARAMETER && text[at] === '[') {
        at += 1;
        const values: string[] = [];
        space();
        if (text[at] === ']') at += 1;
        else {
          for (;;) {
            space();
            values.push(string());
            space();
            if (text[at] === ',') {
              at += 1;
              continue;
            }
            expect(']');
            break;
          }
        }
        collector.addAll(name, values);
      } else collector.add(name, string(), false);
      space();
      if (text[at] === ',') {
        at += 1;
        continue;
      }
      expect('}');
      break;
    }
  }
  space();
  if (at !== text.length) throw malformed();
  return collector.result();
}

/** Collects parameters under the rules of RFC 6749 §3.2 and RFC 8707 §2, and the parameter cap. */
class Collector {
  private readonly params: Record<string, string> = Object.create(null);
  private readonly resources: string[] = [];
  private readonly seen = new Set<string>();
  private count = 0;

  constructor(private readonly maxParameters: number) {}

  /** One `name=value`. `mayRepeat`: a form, where `resource` may come several times. */
  add(name: string, value: string, mayRepeat: boolean): void {
    this.admit(name, !(mayRepeat && name === REPEATABLE_PARAMETER));
    this.put(name, value);
  }

  /** A name with a list of values (a JSON array, or a host parser's array for a repeated name): `resource` only. */
  addAll(name: string, values: readonly string[]): void {
    if (name !== REPEATABLE_PARAMETER) throw new OAuthError('invalid_request', REPEATED);
    this.admit(name, true);
    this.count += Math.max(0, values.length - 1);
    if (this.count > this.maxParameters) throw tooMany(this.maxParameters);
    for (const value of values) this.put(name, value);
  }

  result(): ParsedParameters {
    return { params: this.params, resources: this.resources };
  }

  private admit(name: string, once: boolean): void {
    this.count += 1;
    if (this.count > this.maxParameters) throw tooMany(this.maxParameters);
    if (name.includes('[') || name.includes(']')) {
      throw new OAuthError('invalid_request', 'Parameter names with brackets (arrays or objects) are not accepted.');
    }
    // RFC 6749 §3.2: parameters MUST NOT be included more than once (empty repeats count too);
    // RFC 8707 §2 lets `resource` repeat in a form.
    if (once) {
      if (this.seen.has(name)) throw new OAuthError('invalid_request', REPEATED);
      this.seen.add(name);
    }
  }

  private put(name: string, value: string): void {
    // RFC 6749 §3.2: parameters sent without a value MUST be treated as if omitted.
    if (value.length === 0) return;
    if (name === REPEATABLE_PARAMETER) this.resources.push(value);
    else this.params[name] = value;
  }
}

function tooMany(maxParameters: number): OAuthError {
  return new OAuthError('invalid_request', `Too many parameters (at most ${maxParameters}).`);
}

function decodeComponent(text: string): string {
  const spaced = text.includes('+') ? text.replace(/\+/g, ' ') : text;
  if (!spaced.includes('%')) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    throw new OAuthError('invalid_request', 'The request body contains an invalid percent-escape or invalid UTF-8.');
  }
}

function tooLarge(maxBytes: number): OAuthError {
  return new OAuthError('invalid_request', `The request body is larger than ${maxBytes} bytes.`, { status: 413 });
}

// A host may have run its own body parser before the router. Then the stream is spent
// and req.body holds the result; accept it only when it is a flat object of strings.
/** Whether a body parser of the host already read this request's body (the stream is spent). */
export function alreadyParsed(req: IncomingMessage & { body?: unknown }): boolean {
  return req.readableEnded || (req as { _body?: boolean })._body === true;
}

function fromHostParsedBody(body: unknown, limits: FormLimits): ParsedParameters {
  const collector = new Collector(limits.maxParameters);
  if (body === undefined || body === null) return collector.result();
  if (typeof body !== 'object') throw new OAuthError('invalid_request', 'The request body could not be read.');
  const entries = Object.entries(body as Record<string, unknown>);
  if (entries.length > limits.maxParameters) throw tooMany(limits.maxParameters);
  for (const [name, value] of entries) {
    // A host parser turns a repeated name into an array: a repeat, allowed for `resource` only.
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) collector.addAll(name, value as string[]);
    else if (Array.isArray(value)) throw new OAuthError('invalid_request', REPEATED);
    else if (typeof value !== 'string') throw new OAuthError('invalid_request', 'Parameters must be plain strings (no arrays or objects).');
    else collector.add(name, value, false);
  }
  return collector.result();
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error: OAuthError | undefined, value?: string): void => {
      if (done) return;
      done = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('aborted', onAborted);
      if (error) {
        // Stop reading: the rest of an oversized body is discarded, not buffered.
        req.resume();
        reject(error);
      } else resolve(value ?? '');
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) finish(tooLarge(maxBytes));
      else chunks.push(chunk);
    };
    const onEnd = (): void => {
      const buffer = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      // Percent-escapes carry any non-ASCII bytes; raw non-ASCII bytes must still be valid UTF-8.
      // Validate the bytes themselves: a genuine U+FFFD elsewhere in the body must not let
      // invalid bytes through as replacement characters.
      if (!isUtf8(buffer)) finish(new OAuthError('invalid_request', 'The request body is not valid UTF-8.'));
      else finish(undefined, buffer.toString('utf8'));
    };
    const onError = (): void => finish(new OAuthError('invalid_request', 'The request body could not be read.'));
    const onAborted = (): void => finish(new OAuthError('invalid_request', 'The request was aborted.'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('aborted', onAborted);
  });
}
