// demo-app/csrf.ts
// Cross-site request forgery protection for every form the demo's pages post (login, device code,
// approve/deny). Two independent checks, both required:
// - Origin (or Referer): a browser names the page a POST comes from, so a form on another site is
//   refused outright. This also stops login CSRF (an attacker's page signing the victim in as the
//   attacker), which a token alone cannot, because the attacker can fetch a valid form himself.
// - A signed double-submit token: an HttpOnly, SameSite=Lax cookie holds a random browser id, and
//   each form carries HMAC(secret, form name, browser id, nonce). Another site can neither read the
//   cookie nor make the browser send it with a cross-site POST (SameSite), nor forge the HMAC.
import { randomBytes } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { escapeHtml, page, sendHtml } from './html';
import type { PageSigner } from './signing';

/** The form field that carries the token. */
export const CSRF_FIELD = 'csrf_token';
const COOKIE = 'demo_csrf';
const BROWSER_ID = /^[A-Za-z0-9_-]{43}$/;

/** The forms of the demo; a token for one is refused by the others. */
export type FormName = 'login' | 'device' | 'device-decision';

export interface FormProtectionOptions {
  /** The public origin of the pages (the issuer's): the only origin forms may be posted from. */
  readonly origin: string;
  readonly signer: PageSigner;
  /** Secure cookie: set it when the pages are served over https. */
  readonly secureCookie: boolean;
  readonly writeLine: (line: string) => void;
}

export interface FormProtection {
  /** A token for `form`, to render in a hidden field; gives the browser its id cookie if it has none. */
  token(req: Request, res: Response, form: FormName): string;
  /** Middleware after the body parser: 403 unless the POST is same-origin and carries a valid token for `form`. */
  verify(form: FormName): RequestHandler;
  /** The browser id of a verified request, to bind other signed state (device confirmations) to this browser. */
  browserId(req: Request): string | undefined;
}

export function createFormProtection(options: FormProtectionOptions): FormProtection {
  const { origin, signer, writeLine } = options;
  const purpose = (form: FormName) => `csrf ${form}`;

  function browserId(req: Request): string | undefined {
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [name, value] = part.trim().split('=', 2);
      if (name === COOKIE && value !== undefined && BROWSER_ID.test(value)) return value;
    }
    return undefined;
  }

  return {
    browserId,
    token(req, res, form) {
      let id = browserId(req);
      if (!id) {
        id = randomBytes(32).toString('base64url');
        // Lax rather than Strict: the login page is opened by a cross-site link from the client,
        // and should see the cookie a tab opened earlier got. Cross-site POSTs never carry it.
        res.cookie(COOKIE, id, { httpOnly: true, sameSite: 'lax', secure: options.secureCookie, path: '/' });
      }
      // A fresh nonce per page, so the token differs on every page even for one browser.
      return signer.sign(purpose(form), randomBytes(16).toString('base64url'), id);
    },
    verify: (form) => (req: Request, res: Response, next: NextFunction) => {
      const reason = !sameOrigin(req, origin) ? 'origin' : !validToken(req, form) ? 'token' : undefined;
      if (!reason) return next();
      writeLine(JSON.stringify({ event: 'demo.csrf_refused', time: new Date().toISOString(), form, reason }));
      sendHtml(res, 403, page('Form not accepted', `<h1>Form not accepted</h1>
<p class="error" role="alert">${escapeHtml('This form was sent from another site, or it has expired. Go back, reload the page and try again.')}</p>`));
    },
  };

  function validToken(req: Request, form: FormName): boolean {
    const id = browserId(req);
    const token = (req.body as Record<string, unknown> | undefined)?.[CSRF_FIELD];
    return id !== undefined && typeof token === 'string' && signer.verify(purpose(form), token, id) !== undefined;
  }
}

/**
 * Browsers send Origin with every POST. It must be ours; "null" (sandboxed frames, privacy
 * redirects) is refused too. Without Origin, a Referer must be ours. With neither the sender is
 * not a browser (curl), and the token alone decides.
 */
function sameOrigin(req: Request, origin: string): boolean {
  const sent = req.get('origin');
  if (sent !== undefined) return sent === origin;
  const referer = req.get('referer');
  if (referer === undefined) return true;
  try {
    return new URL(referer).origin === origin;
  } catch {
    return false;
  }
}
