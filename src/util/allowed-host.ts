import { isIP } from 'node:net';

/**
 * Whether a request's Host may be answered (DNS rebinding: a page on an attacker's domain that
 * resolves to 127.0.0.1 reaches the node with that domain as its Host). IP literals are always
 * answered — rebinding needs a name — and names only when listed (`'*'` allows any); the port is
 * ignored, case too.
 *
 * @example
 * isAllowedHost('localhost:8080', ['localhost']) // true
 * isAllowedHost('evil.example:8080', ['localhost']) // false
 */
export function isAllowedHost(host: string | undefined, allowed: readonly string[]): boolean {
  if (!host) return false;
  if (allowed.includes('*')) return true;
  const name = hostname(host);
  return isIP(name) !== 0 || allowed.some((a) => a.toLowerCase() === name);
}

/** The host part of a Host header, lower-case, without its port or IPv6 brackets. */
function hostname(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  return colon > 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/** The names a node answers to by default: this machine's. */
export const DEFAULT_ALLOWED_HOSTS = ['localhost'];

/**
 * Whether a caller's address is this machine's (IPv4, IPv6, or IPv4 mapped into IPv6).
 *
 * @example
 * isLoopback(request.ip) // true for 127.0.0.1, ::1, ::ffff:127.0.0.1
 */
export function isLoopback(ip: string): boolean {
  return ip === '127.0.0.1' || ip === '::1' || ip === '::ffff:127.0.0.1';
}
