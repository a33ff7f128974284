// lib/grants/device-code/user-codes.ts
// User codes (RFC 8628 §6.1): drawn uniformly from the CSPRNG, shown with dashes, matched
// case-insensitively without separators, stored only as digests.
import { randomInt } from 'node:crypto';
import { sha256Base64Url } from '../../internal/digest';

/** How user codes look. */
export interface UserCodeFormat {
  /** Characters to draw from. Defaults to 20 consonants `BCDFGHJKLMNPQRSTVWXZ` (RFC 8628 §6.1). */
  readonly alphabet: string;
  /** Number of characters. Defaults to 8 (20^8 ≈ 2^34.6). */
  readonly length: number;
  /** Characters per dash-separated group when displayed (0 = no dashes). Defaults to 4: `BDFH-KLMN`. */
  readonly groupSize: number;
}

/** Built-in formats: consonants (the default, RFC 8628 §6.1) and TelenorID+'s 9 digits. */
export const USER_CODE_FORMATS: Readonly<Record<'consonants' | 'digits', UserCodeFormat>> = Object.freeze({
  consonants: { alphabet: 'BCDFGHJKLMNPQRSTVWXZ', length: 8, groupSize: 4 },
  digits: { alphabet: '0123456789', length: 9, groupSize: 0 },
});

/** Upper case, letters and digits only: "bdfh-klmn" and "BDFH KLMN" are the same code. */
export function normalizeUserCode(input: string): string {
  return input.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/** Draws a user code (uniformly, from the CSPRNG) and formats it for display. */
export function generateUserCode(format: UserCodeFormat): { display: string; normalized: string } {
  let normalized = '';
  for (let i = 0; i < format.length; i += 1) normalized += format.alphabet[randomInt(format.alphabet.length)];
  return { display: formatUserCode(normalized, format), normalized };
}

/** A normalised code as displayed: dash-separated groups of `groupSize`. */
export function formatUserCode(normalized: string, format: UserCodeFormat): string {
  return format.groupSize > 0 ? (normalized.match(new RegExp(`.{1,${format.groupSize}}`, 'g')) ?? [normalized]).join('-') : normalized;
}

/** The user-code digest the store is keyed by. */
export function hashUserCode(normalized: string): string {
  return sha256Base64Url(`user_code:${normalized}`);
}


/** Problems with a user-code format, for the grant's startup checks. */
export function checkUserCodeFormat(format: UserCodeFormat | undefined): string[] {
  if (typeof format !== 'object' || format === null) return [`userCode must be 'consonants', 'digits' or { alphabet, length, groupSize }.`];
  const problems: string[] = [];
  const alphabet = typeof format.alphabet === 'string' ? format.alphabet : '';
  if (!/^[A-Z0-9]+$/.test(alphabet) || new Set(alphabet).size !== alphabet.length || alphabet.length < 10) {
    problems.push('userCode.alphabet must be at least 10 distinct characters from A-Z and 0-9 (user codes are matched case-insensitively).');
  }
  if (!Number.isInteger(format.length) || format.length < 6 || format.length > 16) problems.push('userCode.length must be from 6 to 16.');
  else if (alphabet.length >= 2 && format.length * Math.log2(alphabet.length) < 29) {
    problems.push(`userCode has only ${(format.length * Math.log2(alphabet.length)).toFixed(1)} bits of entropy; use at least ~30 (e.g. 8 consonants or 9 digits).`);
  }
  if (!Number.isInteger(format.groupSize) || format.groupSize < 0) problems.push('userCode.groupSize must be a whole number (0 for no dashes).');
  return problems;
}
