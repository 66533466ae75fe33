// The bundled declarations (features/embedded.ts, what edge builds carry) are exactly the
// folder's files, parsed the same way.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EMBEDDED_FEATURE_FILES, embeddedFeatureRepository } from '../../features/embedded.ts';
import { FEATURES_DIR, loadFeatureRepository } from '../../features/index.ts';
import { featureViewLiterals } from '../../build/pipeline.ts';

describe('features/embedded.ts', () => {
  it('lists every declaration file of features/ and parses to the same views', () => {
    expect(Object.keys(EMBEDDED_FEATURE_FILES).sort()).toEqual(readdirSync(FEATURES_DIR).filter((f) => f.endsWith('.json')).sort());
    const fromFiles = loadFeatureRepository();
    const embedded = embeddedFeatureRepository();
    for (const [name, view] of fromFiles.views) expect({ ...embedded.view(name), file: '' }).toEqual({ ...view, file: '' });
  });
});

describe('feature views validated at build (build/pipeline.ts replaces features/embedded.ts in bundles)', () => {
  it('gives literals that evaluate to the views embeddedFeatureRepository() builds, in the same order', async () => {
    const literals = await featureViewLiterals();
    expect(literals).toBeDefined();
    const views = (literals as string[]).map((l) => new Function(`return (${l});`)() as unknown);
    expect(views).toEqual([...embeddedFeatureRepository().views.values()]);
  });
});
