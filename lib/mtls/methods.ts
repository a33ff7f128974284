// lib/mtls/methods.ts
// Mutual-TLS client authentication (RFC 8705 §2) as methods of the client-authentication seam:
// `tls_client_auth` (a CA-issued certificate with a registered subject) and
// `self_signed_tls_client_auth` (a registered self-signed certificate or key).
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { ClientAuthenticationMethod } from '../contracts/client-auth';
import type { RegisteredClient } from '../contracts/clients';
import { normaliseIp, parseRfc4514, subjectAltNameMatches, subjectMatches, type SanKind } from './certificate';

/** The RFC 8705 §2.1.2 client metadata, one of which names the certificate's subject. */
const SUBJECT_FIELDS = ['tls_client_auth_subject_dn', 'tls_client_auth_san_dns', 'tls_client_auth_san_uri', 'tls_client_auth_san_ip', 'tls_client_auth_san_email'] as const;
const SAN_KIND: Readonly<Record<(typeof SUBJECT_FIELDS)[number], SanKind | undefined>> = {
  tls_client_auth_subject_dn: undefined,
  tls_client_auth_san_dns: 'dns',
  tls_client_auth_san_uri: 'uri',
  tls_client_auth_san_ip: 'ip',
  tls_client_auth_san_email: 'email',
};

/**
 * `tls_client_auth` (RFC 8705 §2.1): the client authenticates with a certificate that chains to a
 * CA the TLS server trusts (`chainVerified`) and whose subject is the one registered in exactly one
 * of `tls_client_auth_subject_dn` (RFC 4514 string) or `tls_client_auth_san_dns` / `_san_uri` /
 * `_san_ip` / `_san_email` (compared exactly; no wildcards). Add it to
 * `clientAuthentication.methods`; serve the router over `https` with `requestCert: true` and your
 * client CA in `ca` (or read the certificate from your proxy: `clientAuthentication.clientCertificate`).
 */
export function tlsClientAuth(): ClientAuthenticationMethod {
  return {
    name: 'tls_client_auth',
    credential: 'client_id',
    usesClientCertificates: true,
    checkClient(client) {
      const present = SUBJECT_FIELDS.filter((field) => client[field] !== undefined);
      if (present.length !== 1) return [`token_endpoint_auth_method is "tls_client_auth": register exactly one of ${SUBJECT_FIELDS.join(', ')} (RFC 8705 §2.1.2)${present.length > 1 ? `; the record has ${present.join(', ')}` : ''}`];
      const field = present[0];
      const value = client[field];
      if (typeof value !== 'string' || value.length === 0 || value.length > 1024) return [`${field} must be a string of 1 to 1024 characters`];
      if (field === 'tls_client_auth_subject_dn' && parseRfc4514(value) === undefined) return ['tls_client_auth_subject_dn must be a distinguished name in RFC 4514 form, e.g. "CN=client,O=Example,C=NO" (string values; a hex "#…" value is not supported)'];
      if (field === 'tls_client_auth_san_ip' && normaliseIp(value) === undefined) return ['tls_client_auth_san_ip must be an IPv4 address (dotted decimal, no leading zeros) or an IPv6 address'];
      return [];
    },
    async authenticate(client, request) {
      const presented = request.clientCertificate();
      if (presented === undefined || !presented.chainVerified) return { authenticated: false, reason: 'invalid_client_certificate' };
      const field = SUBJECT_FIELDS.find((name) => client[name] !== undefined);
      const expected = field === undefined ? undefined : client[field];
      if (field === undefined || typeof expected !== 'string') return { authenticated: false, reason: 'invalid_client_certificate' };
      const kind = SAN_KIND[field];
      const matches = kind === undefined ? subjectMatches(presented.certificate, expected) : subjectAltNameMatches(presented.certificate, kind, expected);
      return matches ? { authenticated: true } : { authenticated: false, reason: 'invalid_client_certificate' };
    },
  };
}

// Public keys parsed once per (frozen, cached) client record.
const keysByClient = new WeakMap<RegisteredClient, readonly KeyObject[]>();

function registeredKeys(client: RegisteredClient): readonly KeyObject[] {
  let keys = keysByClient.get(client);
  if (keys === undefined) {
    keys = (client.jwks?.keys ?? []).map((jwk) => createPublicKey({ key: { ...jwk }, format: 'jwk' }));
    keysByClient.set(client, keys);
  }
  return keys;
}

/**
 * `self_signed_tls_client_auth` (RFC 8705 §2.2): the client authenticates with a certificate whose
 * public key is one of the keys in its registered `jwks` (a self-signed certificate needs no CA;
 * `chainVerified` is not required). `jwks_uri` is not supported for this method: register `jwks`.
 */
export function selfSignedTlsClientAuth(): ClientAuthenticationMethod {
  return {
    name: 'self_signed_tls_client_auth',
    credential: 'client_id',
    usesClientCertificates: true,
    checkClient(client) {
      if (client.jwks === undefined) return ['token_endpoint_auth_method is "self_signed_tls_client_auth" but the record has no jwks (the public keys of its certificates; RFC 8705 §2.2.2)'];
      // Imported now, so a key Node cannot read is a startup problem, not a 500 on every request.
      const problems: string[] = [];
      client.jwks.keys.forEach((jwk, i) => {
        try {
          createPublicKey({ key: { ...jwk }, format: 'jwk' });
        } catch {
          problems.push(`jwks.keys[${i}] is not a public key Node can import (check kty, crv, x, y, n, e)`);
        }
      });
      return problems;
    },
    async authenticate(client, request) {
      const presented = request.clientCertificate();
      if (presented === undefined) return { authenticated: false, reason: 'invalid_client_certificate' };
      const key = presented.certificate.publicKey;
      return registeredKeys(client).some((registered) => registered.equals(key)) ? { authenticated: true } : { authenticated: false, reason: 'invalid_client_certificate' };
    },
  };
}
