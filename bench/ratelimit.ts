// `npm run bench:ratelimit`: what the in-memory rate limiter costs per request, side by side
// in one run. Timings are per call, from batches of 1,000 calls (performance.now() is too
// coarse for one call); median and p99 are over the batches.
//   limiter      MemoryRateLimiter.limit(key): one hot key, and 10,000 keys round-robin
//   gate         what the handler adds per request: the client key from the peer address and
//                the limit (check), and three RateLimit-* headers on the answer (annotate)
//   handler      POST /v1/predict in process (L1 cache hits), a service with vs without the
//                limiter, alternating request by request (per-request times, µs)
// Last line: one JSON object.
import { createLocalService } from '../adapters/node/local-service.ts';
import { MemoryRateLimiter } from '../core/ratelimit/memory-rate-limiter.ts';
import { RateLimitGate } from '../core/ratelimit/rate-limit-gate.ts';
import { machineLine, summarize } from './stats.ts';

const BATCH = 1_000;
const BATCHES = Number(process.env.BENCH_BATCHES ?? 400);

function perCall(run: (i: number) => void): ReturnType<typeof summarize> {
  const samples: number[] = [];
  let i = 0;
  for (let b = 0; b < BATCHES + 20; b++) {
    const t = performance.now();
    for (let k = 0; k < BATCH; k++) run(i++);
    const ns = ((performance.now() - t) * 1e6) / BATCH;
    if (b >= 20) samples.push(ns); // the first batches pay JIT warm-up
  }
  return summarize(samples, 1);
}

console.log(await machineLine());
const huge = { limit: 1e9, windowMs: 60_000 };
const hot = new MemoryRateLimiter(huge);
const many = new MemoryRateLimiter(huge);
const keys = Array.from({ length: 10_000 }, (_, i) => `ip:10.0.${i >> 8}.${i & 255}`);
let sink = 0;
const limiterHot = perCall(() => (sink += hot.limit('ip:127.0.0.1').remaining));
const limiterMany = perCall((i) => (sink += many.limit(keys[i % keys.length] as string).remaining));

const gate = new RateLimitGate(new MemoryRateLimiter(huge));
const request = new Request('http://127.0.0.1/v1/predict', { method: 'POST' });
const context = { peerAddress: '127.0.0.1' };
const answer = new Response('{}', { headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' } });
let last = hot.limit('x');
const gateCheck = perCall(() => {
  last = gate.check(request, context) as ReturnType<MemoryRateLimiter['limit']>;
  sink += last.remaining;
});
// The same answer each call: the three header writes, without the cost of building a Response.
const gateAnnotate = perCall(() => (sink += gate.annotate(answer, last).status));

// The handler, in process: the same cache-hit request to two services, interleaved.
const limited = createLocalService({ regional: { kind: 'none' }, rateLimit: { EDGEINFER_RATE_LIMIT: '1000000000/60s' } });
const open = createLocalService({ regional: { kind: 'none' } });
await Promise.all([limited.warm(), open.warm()]);
const body = JSON.stringify({ text: 'Subject: lunch tomorrow?\n\nSure, noon works for me.' });
const predict = () => new Request('http://127.0.0.1/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body });
const handlerSamples = { limited: [] as number[], open: [] as number[] };
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 3_000);
// Alternating request by request, so both services see the same machine load.
for (let i = 0; i < REQUESTS + 200; i++) {
  for (const [name, service] of i % 2 ? ([['open', open], ['limited', limited]] as const) : ([['limited', limited], ['open', open]] as const)) {
    const t = performance.now();
    sink += (await service.fetch(predict(), { peerAddress: '127.0.0.1' })).status;
    if (i >= 200) handlerSamples[name].push((performance.now() - t) * 1e3);
  }
}
await Promise.all([limited.close(), open.close()]);
const handlerLimited = summarize(handlerSamples.limited, 2);
const handlerOpen = summarize(handlerSamples.open, 2);

console.log(`limiter.limit, one hot key:        p50 ${limiterHot.p50} ns, p99 ${limiterHot.p99} ns per call`);
console.log(`limiter.limit, 10,000 keys:        p50 ${limiterMany.p50} ns, p99 ${limiterMany.p99} ns per call`);
console.log(`gate.check (key + limit):          p50 ${gateCheck.p50} ns, p99 ${gateCheck.p99} ns per request`);
console.log(`gate.annotate (3 headers):         p50 ${gateAnnotate.p50} ns, p99 ${gateAnnotate.p99} ns per request`);
console.log(`POST /v1/predict in process:       p50 ${handlerOpen.p50} µs without, ${handlerLimited.p50} µs with the limiter; p99 ${handlerOpen.p99} / ${handlerLimited.p99} µs`);
if (sink === 42) console.log('');
console.log(
  JSON.stringify({
    bench: 'ratelimit',
    unit: { limiter: 'ns per call', gate: 'ns per request', handler: 'µs per request (per-request samples)' },
    limiter: { hotKey: limiterHot, keys10k: limiterMany },
    gate: { check: gateCheck, annotate: gateAnnotate },
    handler: { without: handlerOpen, with: handlerLimited, addedP50Us: Math.round((handlerLimited.p50 - handlerOpen.p50) * 100) / 100 },
  }),
);
