// The soak's traffic, shared by bench:soak and bench/heap-cap.ts: 300 test-split messages
// (≤ 1,500 chars) for /v1/predict, 90 % repeated (cache hits) and every tenth made unique
// (a miss that L1 must make room for); and the fill traffic that brings L1 and the cache
// policy's ghost lists to their bounds before anything is measured.
import { loadSplits } from '../models/training/dataset.ts';

const HEADERS = { 'content-type': 'application/json' };
const texts = loadSplits()
  .test.slice(0, 300)
  .map((m) => m.text.slice(0, 1500));

/** autocannon requests: 90 % repeated messages, 10 % unique (prefixed with `uniquePrefix` and a counter). */
export function soakRequests(uniquePrefix: string) {
  let counter = 0;
  return [
    {
      method: 'POST',
      path: '/v1/predict',
      headers: HEADERS,
      setupRequest: (request: { body?: string }) => {
        const i = counter++;
        const text = texts[i % texts.length] as string;
        return { ...request, body: JSON.stringify({ text: i % 10 === 0 ? `${uniquePrefix}${i} ${text}` : text }) };
      },
    },
  ];
}

/** autocannon requests where every message is new: fills L1 and the ghost lists. */
export function fillRequests() {
  let filled = 0;
  return [{ method: 'POST', path: '/v1/predict', headers: HEADERS, setupRequest: (request: { body?: string }) => ({ ...request, body: JSON.stringify({ text: `fill${filled++} ${texts[filled % texts.length]}` }) }) }];
}
