// lib/internal/event-text.ts
// Request values that events repeat as sent (a claimed client id, a grant_type): bounded in
// length and with control characters escaped, so a host logging events as plain text cannot be
// flooded (a form value may be up to the 64 KiB body) or fed forged lines.

/** Values longer than this are truncated (the client id cap of client authentication). */
export const MAX_EVENT_TEXT_LENGTH = 256;
/** How much of an over-long value is kept, before the marker. */
export const TRUNCATED_EVENT_TEXT_LENGTH = 64;
/** Appended to a truncated value. */
export const TRUNCATION_MARKER = '…';

// C0 and C1 controls and DEL (\p{Cc}), the line and paragraph separators, and the bidirectional
// formatting characters (they reorder what a log viewer shows).
const UNSAFE = /[\p{Cc}\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * `value` as an event may carry it: a value over {@link MAX_EVENT_TEXT_LENGTH} characters becomes
 * its first {@link TRUNCATED_EVENT_TEXT_LENGTH} characters plus `…`, and every control character
 * is written as a `\uXXXX` escape. Ordinary values (printable, at most 256 characters) are
 * returned unchanged; anything that is not a string (absent, or an array or object a host's
 * body parser built) becomes `undefined`.
 */
export function eventText(value: unknown): string | undefined {
  // A host's own body parser may have left arrays or objects in req.body: not a value to report.
  if (typeof value !== 'string') return undefined;
  let text = value;
  let truncated = false;
  if (text.length > MAX_EVENT_TEXT_LENGTH) {
    const end = isHighSurrogate(text.charCodeAt(TRUNCATED_EVENT_TEXT_LENGTH - 1)) ? TRUNCATED_EVENT_TEXT_LENGTH - 1 : TRUNCATED_EVENT_TEXT_LENGTH;
    text = text.slice(0, end);
    truncated = true;
  }
  text = text.replace(UNSAFE, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return truncated ? `${text}${TRUNCATION_MARKER}` : text;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
