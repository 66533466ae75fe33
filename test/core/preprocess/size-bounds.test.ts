// Issue #17 item 15: every size parameter read from model.json is bounded. Before, maxIds = 2e8
// was accepted and every request allocated 800 MB; now such a model is refused at load (503
// model_not_ready naming the parameter) and nothing is allocated per request.
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLocalService } from '../../../adapters/node/local-service.ts';
import { EMAIL_HASH_LIMITS, validateEmailHashParams } from '../../../core/preprocess/email-hash.ts';

const good = { buckets: 8192, bodyChars: 1000, wordNgrams: 2, charNgrams: 0, extraHeaders: [], maxIds: 512 };

describe('email-hash params bounds', () => {
  it('accepts the example models and refuses every unbounded size, naming it', () => {
    expect(validateEmailHashParams(good)).toBeNull();
    expect(validateEmailHashParams({ ...good, maxIds: 2e8 })).toMatch(/maxIds must be an integer 2–65536/);
    expect(validateEmailHashParams({ ...good, buckets: 2 ** 40 })).toMatch(/buckets/);
    expect(validateEmailHashParams({ ...good, bodyChars: 1e12 })).toMatch(/bodyChars/);
    expect(validateEmailHashParams({ ...good, charNgrams: 1e6 })).toMatch(/charNgrams/);
    expect(validateEmailHashParams({ ...good, extraHeaders: Array(1_000).fill('x-a') })).toMatch(/extraHeaders/);
    expect(validateEmailHashParams({ ...good, extraHeaders: ['x'.repeat(10_000)] })).toMatch(/extraHeaders/);
    expect(EMAIL_HASH_LIMITS.maxIds).toBe(65_536);
  });

  it('a model.json with maxIds 2e8 is refused at load: 503 naming maxIds, and no request allocates for it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'edgeinfer-maxids-'));
    // The served (latest) version, so the edited model.json is the one requests load.
    cpSync(join(import.meta.dirname, '../../../models/spam-edge/2'), join(root, 'spam-edge', '2'), { recursive: true });
    const path = join(root, 'spam-edge', '2', 'model.json');
    const manifest = JSON.parse(readFileSync(path, 'utf8')) as { preprocessing: { params: Record<string, unknown> } };
    manifest.preprocessing.params.maxIds = 2e8;
    writeFileSync(path, JSON.stringify(manifest));
    const service = createLocalService({ modelsRoot: root, regional: { kind: 'none' }, telemetry: false });
    try {
      await service.warm();
      const before = process.memoryUsage().rss;
      for (let i = 0; i < 3; i++) {
        const answer = await service.fetch(new Request('http://local/v1/predict', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'Subject: hi\n\nshort' }) }));
        expect(answer.status).toBe(503);
        const body = (await answer.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('model_not_ready');
        expect(body.error.message).toMatch(/maxIds/);
      }
      expect(process.memoryUsage().rss - before).toBeLessThan(200 * 1024 * 1024);
    } finally {
      await service.close();
    }
  }, 60_000);
});
