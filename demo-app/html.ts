// demo-app/html.ts
// What the demo's HTML pages share: one inline style allowed by its hash, security headers, a page
// frame and HTML escaping. Used by the login page (/connect/authorize) and the device page (/device).
import { createHash } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

// Inline CSS allowed by its hash, so the CSP needs neither 'unsafe-inline' nor a second request.
// Readability and keyboard use (spec/browser checks the pages with axe-core and the keyboard):
// form controls and codes at the text's size (browsers shrink them to about 13px, and a device's
// user code must be easy to compare); one clear focus ring in every browser rather than each one's
// own (WCAG 2.4.7), with room around fields and buttons for it, 6:1 against the page (WCAG 1.4.11
// asks 3:1); the error red is 7.7:1 on white (WCAG 1.4.3 asks 4.5:1).
const STYLE = 'body{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}'
  + 'label{display:block;margin:.8rem 0}input{display:block;width:100%;margin-top:.3rem;padding:.4rem;box-sizing:border-box}'
  + 'input,button{font:inherit}button{padding:.5rem 1.2rem;margin-right:.6rem}'
  + ':focus-visible{outline:3px solid #1a56db;outline-offset:2px}'
  + '.error{color:#a00}code{font-family:ui-monospace,monospace;overflow-wrap:anywhere}';
const STYLE_SOURCE = `'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`;

/** Security headers for every response of a page route; pages tighten the CSP further. */
export function noStore(_req: Request, res: Response, next: NextFunction): void {
  res.set({
    // Pages and redirects carry state, codes and credentials: never cache them (RFC 6749 §5.1 spirit).
    'Cache-Control': 'no-store',
    Pragma: 'no-cache',
    // Clickjacking: login and consent forms must not be framed (X-Frame-Options for old browsers, CSP for new ones).
    'X-Frame-Options': 'DENY',
    'Content-Security-Policy': contentSecurityPolicy("'none'"),
    'X-Content-Type-Options': 'nosniff',
    // URLs carrying state, PKCE challenges or user codes must not leak to other sites as a Referer.
    // same-origin rather than no-referrer: under no-referrer browsers send `Origin: null` with
    // the pages' own form posts, and the CSRF check (csrf.ts) needs the real origin.
    'Referrer-Policy': 'same-origin',
  });
  next();
}

function contentSecurityPolicy(formAction: string): string {
  return `default-src 'none'; style-src ${STYLE_SOURCE}; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`;
}

/** A complete page around `body` (which must already be escaped HTML). */
export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} - express-token-endpoint demo</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

/** Sends a page; `formAction` is the CSP form-action source list (no form posts by default). */
export function sendHtml(res: Response, status: number, html: string, formAction = "'none'"): void {
  res.status(status).set('Content-Security-Policy', contentSecurityPolicy(formAction)).type('html').send(html);
}

/** A hidden form field. */
export function hiddenField(name: string, value: string): string {
  return `<input type="hidden" name="${escapeHtml(name)}" value="${escapeHtml(value)}">`;
}

/** Escapes text for HTML element content and double- or single-quoted attribute values. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => HTML_ESCAPES[char]);
}
const HTML_ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
