// lib/options/checks.ts
// The one mechanism every option (and every storage factory option) is checked with: small
// checks that push messages naming the option path, so one ConfigurationError lists them all.

/** A plain object (not null, not an array). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks that `value` is undefined or a plain object with only `known` keys. Returns the object
 * (or undefined). `shape` describes the expected object in the message.
 */
export function checkObject(value: unknown, path: string, known: readonly string[], shape: string, problems: string[]): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value)) {
    problems.push(`${path} must be an object ${shape}.`);
    return undefined;
  }
  checkKeys(value, path, known, problems);
  return value;
}

/** Unknown keys are errors at every level: a typo must not fall back to a default silently. */
export function checkKeys(value: Record<string, unknown>, path: string, known: readonly string[], problems: string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) problems.push(`Unknown option "${path ? `${path}.` : ''}${key}". Known options: ${known.join(', ')}.`);
  }
}

/** `value` undefined or a whole number from `min` to `max`; `unit` names it ("seconds"), `why` explains the limit. */
export function checkInt(value: unknown, path: string, min: number, max: number, unit: string, problems: string[], why = '', orElse = ''): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value)) problems.push(`${path} must be a whole number of ${unit}${orElse ? ` ${orElse}` : ''}.`);
  else if (value < min) problems.push(`${path} must be at least ${min}${orElse ? ` ${orElse}` : ''}.`);
  else if (value > max) problems.push(`${path} must be at most ${max}${why ? `: ${why}` : ''}.`);
}

/** `value` undefined or a function. */
export function checkFunction(value: unknown, path: string, what: string, problems: string[]): void {
  if (value !== undefined && typeof value !== 'function') problems.push(`${path} must be ${what}.`);
}

/** `value` undefined or true/false. */
export function checkBoolean(value: unknown, path: string, problems: string[], note = ''): void {
  if (value !== undefined && typeof value !== 'boolean') problems.push(`${path} must be true or false${note}.`);
}

/** `value` has every method in `names`. */
export function hasMethods(value: unknown, names: readonly string[]): boolean {
  return typeof value === 'object' && value !== null && names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function');
}

/** An absolute URL, https unless the host is loopback (development). Returns a problem or undefined. */
export function httpsUrlProblem(value: unknown): string | undefined {
  let url: URL;
  try {
    url = new URL(String(value));
  } catch {
    return 'must be an absolute URL';
  }
  const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
  if (url.protocol === 'https:' || (url.protocol === 'http:' && loopback)) return undefined;
  return 'must use https (http is accepted only for localhost during development)';
}

/** Unknown keys of a grant factory's options (reported by the grant's validateSetup, prefixed with its position). */
export function checkOptionKeys(options: object | undefined, known: readonly string[], problems: string[], prefix = ''): void {
  if (!isPlainObject(options)) return;
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) problems.push(`unknown option "${prefix}${key}". Known options: ${known.join(', ')}.`);
  }
}
