// lib/grants/device-code/settings.ts
// Options of the device grant and its settings with defaults applied.
import type { Store } from 'express-rate-limit';
import type { UserCodeFormat } from './user-codes';

/** Options for {@link deviceCode}. */
export interface DeviceCodeOptions {
  /** Absolute URL of your verification page (where the user types the code). Required. */
  verificationUri: string;
  /**
   * Builds `verification_uri_complete` (for QR codes). Defaults to
   * `${verificationUri}?user_code=<code>`.
   */
  verificationUriComplete?: (verificationUri: string, userCode: string) => string;
  /** Lifetime of device and user codes in seconds (60 to 3600). Defaults to 1800 (TelenorID+). */
  expiresIn?: number;
  /** Minimum polling interval in seconds (1 to 60). Defaults to 5 (RFC 8628 §3.2, TelenorID+). */
  interval?: number;
  /** User-code format: a built-in name or your own. Defaults to `'consonants'`. */
  userCode?: 'consonants' | 'digits' | UserCodeFormat;
  /**
   * Brute-force limit on wrong user codes at your verification page (per `context.key` of the
   * verification calls). Defaults to 10 misses per 15 minutes, in memory.
   */
  userCodeAttempts?: UserCodeAttemptOptions;
  /**
   * TelenorID+ compatibility: also accept `application/json` bodies at the device authorization
   * endpoint and for the device poll (a flat object of strings, as strict as a form: repeated keys
   * refused, same size caps). Other grants keep refusing JSON. Defaults to false.
   */
  acceptJsonBodies?: boolean;
}

/** The settings of a {@link deviceCode} grant, defaults applied. */
export type DeviceCodeSettings = Readonly<{
  /** See {@link DeviceCodeOptions.verificationUri}. */
  verificationUri: string;
  /** See {@link DeviceCodeOptions.verificationUriComplete}; the default builder when not set. */
  verificationUriComplete: (verificationUri: string, userCode: string) => string;
  /** See {@link DeviceCodeOptions.expiresIn} (seconds). */
  expiresIn: number;
  /** See {@link DeviceCodeOptions.interval} (seconds). */
  interval: number;
  /** See {@link DeviceCodeOptions.userCode}; a built-in name resolved to its format. */
  userCode: UserCodeFormat;
  /** See {@link DeviceCodeOptions.userCodeAttempts}; undefined for the defaults. */
  userCodeAttempts: UserCodeAttemptOptions | undefined;
}>;

/** Options of the user-code guessing limiter (per key, usually the user's IP). */
export interface UserCodeAttemptOptions {
  /** Wrong or expired codes allowed per key and window. Defaults to 10. */
  limit?: number;
  /** Window in ms. Defaults to 900 000 (15 minutes). */
  windowMs?: number;
  /** An express-rate-limit store to share counters across instances (e.g. rate-limit-redis). */
  store?: Store;
}
