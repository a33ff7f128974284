// demo-app/users.ts
// The demo's users: a JSON file with plaintext passwords (demo only) and a constant-time login check.
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** One demo user. `subject` is the stable local id the token router maps to `sub`. */
export interface DemoUser {
  readonly username: string;
  readonly password: string;
  readonly subject: string;
  readonly name: string;
  readonly email: string;
}

const FIELDS = ['username', 'password', 'subject', 'name', 'email'] as const;

/** Reads and checks the users file: every field a non-empty string, usernames and subjects unique. */
export function loadUsers(file: string): DemoUser[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`Cannot read users file ${file}: ${(error as { message?: string } | null)?.message ?? String(error)}`);
  }
  if (!Array.isArray(parsed)) throw new Error(`Users file ${file} must contain a JSON array of { ${FIELDS.join(', ')} } objects.`);
  const users = parsed.map((entry: unknown, index): DemoUser => {
    const record = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    for (const field of FIELDS) {
      if (typeof record[field] !== 'string' || record[field] === '') throw new Error(`Users file ${file}: [${index}].${field} must be a non-empty string.`);
    }
    return Object.freeze({
      username: record.username as string,
      password: record.password as string,
      subject: record.subject as string,
      name: record.name as string,
      email: record.email as string,
    });
  });
  for (const field of ['username', 'subject'] as const) {
    const values = users.map((user) => user[field]);
    if (new Set(values).size !== values.length) throw new Error(`Users file ${file}: every ${field} must be unique.`);
  }
  return users;
}

/**
 * The user with these credentials, or undefined. Passwords are compared as SHA-256 digests with
 * timingSafeEqual (equal lengths, no early exit), and an unknown username still costs one compare.
 */
export function authenticateUser(users: readonly DemoUser[], username: string, password: string): DemoUser | undefined {
  const user = users.find((candidate) => candidate.username === username);
  const matches = timingSafeEqual(digest(password), digest(user?.password ?? '\0unknown-user'));
  return user && matches ? user : undefined;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}
