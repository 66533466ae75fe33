// `npm run redis:rest`: the local Upstash-compatible REST server over a real Redis.
// PORT (default 8079), UPSTASH_REDIS_REST_TOKEN, REDIS_URL (default redis://127.0.0.1:6379), HOST.
import { startUpstashRestServer } from './server.ts';

const DEV_TOKEN = 'edgeinfer-local-token';

const token = process.env.UPSTASH_REDIS_REST_TOKEN || DEV_TOKEN;
if (!process.env.UPSTASH_REDIS_REST_TOKEN) {
  console.warn(`UPSTASH_REDIS_REST_TOKEN is not set: using the development token "${DEV_TOKEN}"`);
}
const port = Number(process.env.PORT ?? 8079);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`PORT must be an integer in [0, 65535], got "${process.env.PORT}"`);
  process.exit(2);
}
const redisUrl = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const server = await startUpstashRestServer({ port, token, redisUrl, host: process.env.HOST || '127.0.0.1' });
console.log(`Upstash REST (local) on ${server.url} → ${redisUrl}`);
console.log(`  export UPSTASH_REDIS_REST_URL=${server.url} UPSTASH_REDIS_REST_TOKEN=${token}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(() => process.exit(0));
  });
}
