// Who a request counts against. The adapter reports what its platform saw (RequestContext
// `clientIp`: Vercel's x-real-ip, Netlify's context.ip, CloudFront's clientIp; the node
// server's socket peer as `peerAddress`); the core decides:
//   1. `x-api-key` naming one of the configured keys (EDGEINFER_API_KEYS) → that key's own
//      bucket. An unknown key is ignored: honouring any value would let a client mint a
//      fresh bucket per request by rotating it.
//   2. else the client IP; IPv6 by its /64 (one subscriber usually holds a whole /64).
//      X-Forwarded-For only when configured (a proxy of ours in front of the node server),
//      and then its last entry: the one our proxy appended, not one the client wrote.
//   3. else no key: not limited (a shared bucket would let one client lock everyone out).
import type { CoreRequest } from '../http/core-request.ts';
import type { RequestContext } from '../handler.ts';

/** How keys are derived. */
export interface ClientKeyOptions {
  /** Known API keys (EDGEINFER_API_KEYS): each gets its own bucket. */
  apiKeys?: ReadonlySet<string>;
  /** Use X-Forwarded-For's last entry when the platform reports no client IP (EDGEINFER_TRUST_FORWARDED_FOR=1). */
  trustForwardedFor?: boolean;
}

/** FNV-1a, hex: names an API key's bucket without writing the key itself into Redis. */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
  return (hash >>> 0).toString(16);
}

/**
 * The bucket of an address: IPv4 as it is; IPv6 parsed to its 8 groups and keyed by its /64,
 * written canonically (lower case, no leading zeros: `2001:0DB8::1` and `2001:db8::1` are one
 * client); IPv4-mapped addresses (`::ffff:a.b.c.d`, in any spelling, dotted or hex) count as
 * their IPv4. Whatever does not parse is its own bucket, lower-cased and cut
 * to 64 characters.
 */
export function addressBucket(address: string): string {
  // IPv4, the common case on the hot path: nothing to parse or allocate.
  if (!address.includes(':')) return address.length <= 64 ? address : address.slice(0, 64);
  const unbracketed = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const zone = unbracketed.indexOf('%');
  const bare = zone < 0 ? unbracketed : unbracketed.slice(0, zone);
  const groups = parseIpv6(bare);
  if (!groups) return bare.slice(0, 64).toLowerCase();
  const mapped = groups[5] === 0xffff && groups.slice(0, 5).every((g) => g === 0);
  if (mapped) return `${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`;
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}

/** The 8 groups of an IPv6 address (RFC 4291 text forms, a trailing dotted IPv4 included), or undefined. */
function parseIpv6(text: string): number[] | undefined {
  if (text.length > 45) return undefined;
  let body = text;
  const lastColon = body.lastIndexOf(':');
  if (body.includes('.', lastColon)) {
    // A trailing dotted IPv4 is the last two groups: rewrite it as them.
    const quad = body.slice(lastColon + 1).split('.');
    if (quad.length !== 4 || !quad.every((q) => /^\d{1,3}$/.test(q) && Number(q) <= 255)) return undefined;
    const [a, b, c, d] = quad.map(Number) as [number, number, number, number];
    body = `${body.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string) => (part === '' ? [] : part.split(':'));
  const head = parse(halves[0] as string);
  const rest = halves.length === 2 ? parse(halves[1] as string) : [];
  const hex = [...head, ...rest];
  if (!hex.every((h) => /^[0-9a-fA-F]{1,4}$/.test(h))) return undefined;
  const explicit = hex.length;
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return undefined;
  const zeros = 8 - explicit;
  return [...head.map((h) => parseInt(h, 16)), ...Array<number>(halves.length === 2 ? zeros : 0).fill(0), ...rest.map((h) => parseInt(h, 16))];
}

/** The rate-limit key of a request, or undefined when nothing identifies its client. */
export function clientKey(request: CoreRequest, context: RequestContext, options: ClientKeyOptions): string | undefined {
  if (options.apiKeys && options.apiKeys.size > 0) {
    const given = request.headers.get('x-api-key');
    if (given !== null && options.apiKeys.has(given)) return `k:${fingerprint(given)}`;
  }
  let ip = context.clientIp;
  if (!ip && options.trustForwardedFor) {
    const forwarded = request.headers.get('x-forwarded-for');
    if (forwarded) ip = forwarded.slice(forwarded.lastIndexOf(',') + 1).trim() || undefined;
  }
  ip ??= context.peerAddress;
  return ip ? `ip:${addressBucket(ip)}` : undefined;
}
