// The bundled declarations (features/embedded.ts, what edge builds carry) are exactly the
// folder's files, parsed the same way.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EMBEDDED_FEATURE_FILES, embeddedFeatureRepository } from '../../features/embedded.ts';
import { FEATURES_DIR, loadFeatureRepository } from '../../features/index.ts';

describe('features/embedded.ts', () => {
  it('lists every declaration file of features/ and parses to the same views', () => {
    expect(Object.keys(EMBEDDED_FEATURE_FILES).sort()).toEqual(readdirSync(FEATURES_DIR).filter((f) => f.endsWith('.json')).sort());
    const fromFiles = loadFeatureRepository();
    const embedded = embeddedFeatureRepository();
    for (const [name, view] of fromFiles.views) expect({ ...embedded.view(name), file: '' }).toEqual({ ...view, file: '' });
  });
});
