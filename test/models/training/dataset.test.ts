// The SpamAssassin split: deterministic, disjoint, complete and 70/15/15 within a point.
import { describe, expect, it } from 'vitest';
import { LABELS, loadSplits, splitOf, type SplitName } from '../../../models/training/dataset.ts';

const SPLITS: SplitName[] = ['train', 'calibration', 'test'];

describe('loadSplits', () => {
  const splits = loadSplits();
  const total = SPLITS.reduce((n, s) => n + splits[s].length, 0);

  it('covers the whole corpus once, with unique checksums', () => {
    expect(total).toBe(6046);
    const checksums = new Set(SPLITS.flatMap((s) => splits[s].map((m) => m.checksum)));
    expect(checksums.size).toBe(total);
  });

  it('is 70 / 15 / 15 within a point, and pinned to the committed models', () => {
    expect(Math.abs(splits.train.length / total - 0.7)).toBeLessThan(0.01);
    expect(Math.abs(splits.calibration.length / total - 0.15)).toBeLessThan(0.01);
    expect(Math.abs(splits.test.length / total - 0.15)).toBeLessThan(0.01);
    // The committed model.json files record these sizes; a change here invalidates their metrics.
    expect([splits.train.length, splits.calibration.length, splits.test.length]).toEqual([4230, 916, 900]);
  });

  it('puts each message where the hash of its checksum says, whatever the load order', () => {
    for (const s of SPLITS) for (const m of splits[s]) expect(splitOf(m.checksum)).toBe(s);
    expect(splitOf('abc')).toBe(splitOf('abc'));
  });

  it('labels spam groups 1 and ham groups 0, with both classes in every split', () => {
    expect(LABELS).toEqual(['ham', 'spam']);
    for (const s of SPLITS) {
      for (const m of splits[s]) expect(m.label).toBe(m.group.startsWith('spam') ? 1 : 0);
      const spam = splits[s].filter((m) => m.label === 1).length;
      expect(spam / splits[s].length).toBeGreaterThan(0.25);
      expect(spam / splits[s].length).toBeLessThan(0.4);
    }
  });

  it('returns the same messages in the same order on every call', () => {
    const again = loadSplits();
    expect(again.test.map((m) => m.checksum)).toEqual(splits.test.map((m) => m.checksum));
    expect(splits.test[0]?.text.length).toBeGreaterThan(0);
  });
});
