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

/** An IPv6 address's first four hextets (its /64); IPv4 and IPv4-mapped addresses as they are. */
export function addressBucket(address: string): string {
  if (!address.includes(':')) return address;
  if (address.startsWith('::ffff:') && address.includes('.')) return address.slice(7);
  const bare = address.split('%')[0] as string;
  const [head = '', tail] = bare.split('::');
  const left = head ? head.split(':') : [];
  if (tail === undefined) return `${left.slice(0, 4).join(':').toLowerCase()}::/64`;
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return groups.slice(0, 4).join(':').toLowerCase() + '::/64';
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
