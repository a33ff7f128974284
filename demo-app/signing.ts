// demo-app/signing.ts
// Signed values for the demo's pages: CSRF tokens and device confirmations. Signed with a secret
// that every demo instance reads from the same file, so a form served by one instance is accepted
// by another (two instances behind a round-robin proxy).
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface PageSigner {
  /**
   * `data.mac`: readable by anyone, unforgeable without the secret. `purpose` keeps a value signed
   * for one use from being accepted for another; `bind` ties it to another value (the browser's
   * CSRF cookie) without putting that value in the page. `data` must not contain '.'.
   */
  sign(purpose: string, data: string, bind?: string): string;
  /** The data of a value signed for this purpose and binding, or undefined. */
  verify(purpose: string, signed: string, bind?: string): string | undefined;
}

export function createPageSigner(secret: string): PageSigner {
  // Purposes are constants and bindings base64url, so newlines keep the three parts apart.
  const mac = (purpose: string, data: string, bind = '') => createHmac('sha256', secret).update(`${purpose}\n${bind}\n${data}`).digest();
  return {
    sign: (purpose, data, bind) => `${data}.${mac(purpose, data, bind).toString('base64url')}`,
    verify(purpose, signed, bind) {
      const dot = signed.lastIndexOf('.');
      if (dot === -1) return undefined;
      const data = signed.slice(0, dot);
      // Compared as issued text, not decoded bytes: Node's base64url decoder ignores the unused bits
      // of the last character, so decoding would accept four spellings of one MAC. timingSafeEqual
      // needs equal lengths; the length of a MAC is no secret.
      const given = Buffer.from(signed.slice(dot + 1));
      const expected = Buffer.from(mac(purpose, data, bind).toString('base64url'));
      return given.length === expected.length && timingSafeEqual(given, expected) ? data : undefined;
    },
  };
}
