/**
 * HTTP basic auth for the dashboard: one user and password, compared in constant time (both
 * sides hashed first, so neither the length nor the first differing byte shows in the timing).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { CliError } from '../errors.ts';

export interface Credentials {
  user: string;
  password: string;
}

/** `USER:PASS` (the password may hold ':'); E_BAD_OPTION names the option, never the password. */
export function parseCredentials(spec: string, what = '--basic-auth'): Credentials {
  const at = spec.indexOf(':');
  if (at <= 0 || at === spec.length - 1) throw new CliError(`${what}: expected USER:PASSWORD, both non-empty`, 'E_BAD_OPTION');
  return { user: spec.slice(0, at), password: spec.slice(at + 1) };
}

const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Whether the request's Authorization header carries these credentials. */
export function authorized(req: IncomingMessage, expected: Credentials): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
  const given = m ? Buffer.from(m[1], 'base64').toString('utf8') : '';
  const at = given.indexOf(':');
  const user = at < 0 ? '' : given.slice(0, at);
  const password = at < 0 ? '' : given.slice(at + 1);
  // Both compared always: no early exit on a wrong user.
  const userOk = timingSafeEqual(digest(user), digest(expected.user));
  const passwordOk = timingSafeEqual(digest(password), digest(expected.password));
  return m !== null && userOk && passwordOk;
}

/** Express middleware: 401 with a Basic challenge unless authorized. */
export function basicAuth(expected: Credentials) {
  return (req: IncomingMessage, res: ServerResponse, next: () => void): void => {
    if (authorized(req, expected)) return next();
    res.writeHead(401, { 'www-authenticate': 'Basic realm="pmamba dashboard", charset="UTF-8"', 'content-type': 'text/plain' }).end('authentication required\n');
  };
}
