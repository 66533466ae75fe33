// One Upstash client, built on first use rather than when its store is configured: building
// one initialises a few hundred command fields (~2 ms for the first in an isolate), which an
// isolate then pays only if it calls Redis (the fleet store, for one, only after a response).
// The module stays a static import: a dynamic import() would keep it from being evaluated at
// all, but esbuild's lazy wrapper costs ~400 B gzip that the Lambda@Edge viewer budget lacks.
import { Redis, type RedisConfigCloudflare } from '@upstash/redis/cloudflare';

/** The client, constructed on the first call. */
export type LazyRedis = () => Redis;

export function lazyRedis(config: RedisConfigCloudflare): LazyRedis {
  let client: Redis | undefined;
  return () => (client ??= new Redis(config));
}
