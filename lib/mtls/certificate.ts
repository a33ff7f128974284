// lib/mtls/certificate.ts
// The TLS client certificate of a request (RFC 8705): where it comes from, its thumbprint for
// certificate-bound tokens (§3.1), and its subject and subject alternative names compared the
// way §2.1.2 registers them.
import { createHash, X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import type { PresentedClientCertificate } from '../contracts/client-auth';

/**
 * The certificate the client presented in this request's TLS handshake. Needs an `https` server
 * with `requestCert: true` (and `rejectUnauthorized: false` when some clients use self-signed
 * certificates: `chainVerified` then says whether the chain is trusted).
 */
export function certificateFromTlsSocket(req: IncomingMessage): PresentedClientCertificate | undefined {
  const socket = req.socket;
  if (!(socket instanceof TLSSocket)) return undefined;
  const certificate = socket.getPeerX509Certificate();
  return certificate === undefined ? undefined : { certificate, chainVerified: socket.authorized };
}

/** Longest `Client-Cert` header value read: a certificate, not a chain. */
const MAX_CLIENT_CERT_HEADER_LENGTH = 16 * 1024;

/**
 * The certificate in an RFC 9440 `Client-Cert` header (a structured-field byte sequence:
 * `:base64-DER:`), as a TLS-terminating proxy forwards it; undefined when absent or malformed.
 * Trust it only from your proxy (which must strip the header from client requests).
 *
 * @example
 * clientAuthentication: { clientCertificate: (req) => {
 *   const certificate = certificateFromClientCertHeader(req.headers['client-cert']);
 *   return certificate && { certificate, chainVerified: req.headers['x-client-verify'] === 'SUCCESS' };
 * } }
 */
export function certificateFromClientCertHeader(value: string | readonly string[] | undefined): X509Certificate | undefined {
  if (typeof value !== 'string' || value.length > MAX_CLIENT_CERT_HEADER_LENGTH) return undefined;
  const match = /^\s*:([A-Za-z0-9+/]+={0,2}):\s*$/.exec(value);
  if (!match) return undefined;
  try {
    return new X509Certificate(Buffer.from(match[1], 'base64'));
  } catch {
    return undefined;
  }
}

/** RFC 8705 §3.1: `x5t#S256`, the base64url SHA-256 of the certificate's DER encoding. */
export function certificateThumbprint(certificate: X509Certificate): string {
  return createHash('sha256').update(certificate.raw).digest('base64url');
}

/** One attribute of a distinguished name: its type (upper case) and its unescaped value. */
type Attribute = readonly [type: string, value: string];
/** A relative distinguished name: its attributes, sorted (a multi-valued RDN is a set). */
type Rdn = readonly Attribute[];

/**
 * Whether the certificate's subject is the RFC 4514 string `expected` (RFC 8705 §2.1.2
 * `tls_client_auth_subject_dn`): the same RDNs in the same order, each the same set of attributes;
 * types compared case-insensitively, values exactly after unescaping.
 */
export function subjectMatches(certificate: X509Certificate, expected: string): boolean {
  const wanted = parseRfc4514(expected);
  // Node lists the subject's RDNs most significant first, one per line, the attributes of a
  // multi-valued RDN joined with " + ", values escaped like RFC 4514 (a literal "+" as "\+").
  const actual = splitUnescaped(certificate.subject, '\n').map(parseRdn);
  if (wanted === undefined || wanted.length !== actual.length) return false;
  return wanted.every((rdn, i) => {
    const other = actual[i];
    return other !== undefined && other.length === rdn.length && rdn.every(([type, value], j) => other[j][0] === type && other[j][1] === value);
  });
}

/** A distinguished name in RFC 4514 form, as RDNs most significant first; undefined when malformed. */
export function parseRfc4514(dn: string): Rdn[] | undefined {
  if (dn.trim().length === 0) return undefined;
  // RFC 4514 §2.1: the RDNs are written last first.
  const rdns = splitUnescaped(dn, ',').reverse().map(parseRdn);
  return rdns.every((rdn): rdn is Rdn => rdn !== undefined) ? rdns : undefined;
}

function parseRdn(text: string): Rdn | undefined {
  const attributes = splitUnescaped(text, '+').map(parseAttribute);
  if (!attributes.every((a): a is Attribute => a !== undefined)) return undefined;
  return attributes.sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0) : a[0] < b[0] ? -1 : 1));
}

function parseAttribute(text: string): Attribute | undefined {
  const equals = text.indexOf('=');
  if (equals <= 0) return undefined;
  const type = text.slice(0, equals).trim().toUpperCase();
  if (!/^[A-Z][A-Z0-9-]*$|^\d+(\.\d+)+$/.test(type)) return undefined;
  const raw = trimUnescaped(text.slice(equals + 1));
  // RFC 4514 §2.4: an unescaped leading "#" is a hex-encoded BER value; not supported here (a
  // literal "#" is written "\#").
  if (raw.startsWith('#')) return undefined;
  const value = unescapeValue(raw);
  return value === undefined ? undefined : [type, value];
}

/** Drops spaces around a value, except escaped ones ("\ " is part of the value). */
function trimUnescaped(value: string): string {
  let start = 0;
  while (start < value.length && value[start] === ' ') start += 1;
  let end = value.length;
  while (end > start && value[end - 1] === ' ') {
    let backslashes = 0;
    for (let i = end - 2; i >= start && value[i] === '\\'; i--) backslashes += 1;
    if (backslashes % 2 === 1) break;
    end -= 1;
  }
  return value.slice(start, end);
}

// RFC 4514 §2.4: "\" followed by a special character or by two hex digits (a UTF-8 byte).
function unescapeValue(value: string): string | undefined {
  if (!value.includes('\\')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c !== '\\') {
      bytes.push(...Buffer.from(c, 'utf8'));
      continue;
    }
    const hex = value.slice(i + 1, i + 3);
    if (/^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (i + 1 < value.length) {
      bytes.push(...Buffer.from(value[i + 1], 'utf8'));
      i += 1;
    } else return undefined;
  }
  return Buffer.from(bytes).toString('utf8');
}

function splitUnescaped(text: string, separator: string): string[] {
  const parts: string[] = [];
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i += 1;
    else if (text[i] === separator) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** The kinds of subject alternative name RFC 8705 §2.1.2 registers, with Node's labels. */
export type SanKind = 'dns' | 'uri' | 'ip' | 'email';
const SAN_LABELS: Readonly<Record<string, SanKind>> = { DNS: 'dns', URI: 'uri', 'IP Address': 'ip', email: 'email' };

/** Whether the certificate has a subject alternative name of `kind` equal to `expected` (exact; no wildcards). */
export function subjectAltNameMatches(certificate: X509Certificate, kind: SanKind, expected: string): boolean {
  const names = parseSubjectAltName(certificate.subjectAltName ?? '');
  if (kind === 'ip') {
    const wanted = normaliseIp(expected);
    return wanted !== undefined && names.some((n) => n.kind === 'ip' && normaliseIp(n.value) === wanted);
  }
  // DNS names are case-insensitive (RFC 4343); URIs and e-mail addresses are compared as registered.
  if (kind === 'dns') return names.some((n) => n.kind === 'dns' && n.value.toLowerCase() === expected.toLowerCase());
  return names.some((n) => n.kind === kind && n.value === expected);
}

// Node writes "DNS:a.example, URI:https://…, IP Address:10.0.0.1, email:x@y"; a value with a
// comma, quote or control character is written as a JSON string.
function parseSubjectAltName(text: string): Array<{ kind: SanKind; value: string }> {
  const names: Array<{ kind: SanKind; value: string }> = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon === -1) break;
    const label = text.slice(i, colon);
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      const end = closingQuote(text, colon + 2);
      if (end === -1) break;
      try {
        value = JSON.parse(text.slice(colon + 1, end + 1)) as string;
      } catch {
        break;
      }
      next = text.indexOf(', ', end);
    } else {
      next = text.indexOf(', ', colon);
      value = text.slice(colon + 1, next === -1 ? text.length : next);
    }
    const kind = SAN_LABELS[label];
    if (kind !== undefined) names.push({ kind, value });
    if (next === -1) break;
    i = next + 2;
  }
  return names;
}

function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === '\\') i += 1;
    else if (text[i] === '"') return i;
  }
  return -1;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/**
 * An IP address in one canonical text form (IPv4 dotted decimal without leading zeros, IPv6 as the
 * URL parser writes it, so "::1" equals "0:0:0:0:0:0:0:1"); undefined when it is not one.
 */
export function normaliseIp(ip: string): string | undefined {
  if (IPV4.test(ip)) return ip;
  if (!ip.includes(':')) return undefined;
  try {
    const url = new URL(`http://[${ip}]/`);
    return url.hostname.toLowerCase();
  } catch {
    return undefined;
  }
}
