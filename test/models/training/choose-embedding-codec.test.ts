// The adaptive embedding codec on the real regional model: its head is rebuilt from the
// ONNX initializers (checked against the model's own answers on every message), every
// codec is measured on the calibration split, and the recorded choice is bound to the sha.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { measureModelCodecs } from '../../../models/training/choose-embedding-codec.ts';

const dir = fileURLToPath(new URL('../../../models/spam-regional/1/', import.meta.url));

describe('embedding codec choice for spam-regional', () => {
  it('measures every codec and picks the smallest meeting 99.5 % agreement', async () => {
    const result = await measureModelCodecs(dir, 0.995);
    expect(result.embeddings).toBeGreaterThan(800);
    const by = Object.fromEntries(result.measurements.map((m) => [m.codec, m]));
    expect(by.fp32?.agreement).toBe(1);
    expect(by.fp32?.maxAbsError).toBe(0);
    expect(by.fp16?.agreement).toBeGreaterThanOrEqual(0.995);
    expect(by.fp32!.textBytes).toBeGreaterThan(by.fp16!.textBytes);
    expect(by.fp16!.textBytes).toBeGreaterThan(by.int8!.textBytes);
    expect(by.int8!.textBytes).toBeGreaterThan(by.binary!.textBytes);
    const smallest = result.measurements.filter((m) => m.agreement >= 0.995).sort((a, b) => a.textBytes - b.textBytes)[0];
    expect(result.chosen).toBe(smallest?.codec);

    const recorded = JSON.parse(readFileSync(`${dir}embedding-codec.json`, 'utf8'));
    const manifest = JSON.parse(readFileSync(`${dir}model.json`, 'utf8'));
    expect(recorded.modelSha256, 'embedding-codec.json is stale: rerun `npm run embeddings:codec` after `npm run models`').toBe(manifest.sha256);
    expect(recorded.chosen).toBe(result.chosen);
  });
});
