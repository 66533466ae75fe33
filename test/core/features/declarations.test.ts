// Declared feature views: the project's own declarations parse, references resolve, and a
// broken declaration fails naming the file, the field and what was expected.
import { describe, expect, it } from 'vitest';
import { createFeatureRepository, entityOf, parseFeatureView, viewKey } from '../../../core/features/declarations.ts';
import { loadFeatureRepository } from '../../../features/index.ts';

const base = {
  name: 'origin_airport',
  version: 2,
  entity: { name: 'airport', fields: ['origin'] },
  fields: [{ name: 'delay_rate', dtype: 'float32', default: 0.2 }],
  ttlSeconds: 60,
  source: { kind: 'flights' },
};
const parse = (patch: Record<string, unknown>) => parseFeatureView(JSON.stringify({ ...base, ...patch }), 'features/x.json');

describe('feature view declarations', () => {
  it('the repository in features/ parses: the spam sender-domain view and the flights views', () => {
    const repo = loadFeatureRepository();
    expect([...repo.views.keys()].sort()).toEqual(['airport_embedding', 'departure_hour', 'dest_airport', 'origin_airport', 'route', 'sender_domain']);
    const sender = repo.view('sender_domain');
    expect(sender.entity).toEqual({ name: 'domain', text: 'sender_domain' });
    expect(repo.field('route.log_flights_28d')).toMatchObject({ index: 1, field: { name: 'log_flights_28d', dtype: 'float32', default: 0 } });
    expect(repo.view('airport_embedding')).toMatchObject({ kind: 'embedding', dims: 8, default: new Array(8).fill(0) });
  });

  it('entities come from request fields (joined in declared order) or from the text; absent fields give none', () => {
    const repo = loadFeatureRepository();
    expect(entityOf(repo.view('route'), { destination: 'JFK', origin: 'SFO' })).toBe('SFO|JFK');
    expect(entityOf(repo.view('departure_hour'), { hour: 7 })).toBe('7');
    expect(entityOf(repo.view('route'), { origin: 'SFO' })).toBeNull();
    expect(entityOf(repo.view('route'), { origin: 'SFO', destination: '' })).toBeNull();
    expect(entityOf(repo.view('sender_domain'), {}, 'From: "Ann" <Ann@Mail.Example.COM>\n\nhello')).toBe('mail.example.com');
    expect(entityOf(repo.view('sender_domain'), {}, 'no headers')).toBeNull();
    expect(entityOf(repo.view('sender_domain'), {})).toBeNull();
    // Object.prototype names are not request fields.
    expect(entityOf(repo.view('origin_airport'), {} as Record<string, string>)).toBeNull();
    expect(viewKey(repo.view('route'), 'SFO|JFK')).toBe('f:route:1:SFO%7CJFK');
  });

  it.each([
    [{ version: 0 }, '"version" must be an integer ≥ 1'],
    [{ name: 'has space' }, '"name" must match'],
    [{ kind: 'graph' }, '"kind" must be "tabular" or "embedding"'],
    [{ entity: { name: 'a' } }, '"entity" must be {"name", "fields"'],
    [{ entity: { name: 'a', text: 'subject' } }, '"entity.text" must name an extractor: sender_domain'],
    [{ entity: { name: 'a', fields: ['x'], text: 'sender_domain' } }, 'not both'],
    [{ fields: [] }, '"fields" must be a non-empty array'],
    [{ fields: [{ name: 'a', dtype: 'float64', default: 0 }] }, 'fields[0].dtype must be one of float32, int32, int64'],
    [{ fields: [{ name: 'a', dtype: 'float32' }] }, 'fields[0].default must be a finite number'],
    [{ fields: [{ name: 'a', dtype: 'int32', default: 0.5 }] }, 'fields[0].default must be an integer'],
    [{ fields: [{ name: 'a', dtype: 'float32', default: 0 }, { name: 'a', dtype: 'float32', default: 0 }] }, 'declared twice'],
    [{ ttlSeconds: -1 }, '"ttlSeconds" must be an integer ≥ 0'],
    [{ source: {} }, '"source" must be an object with "kind"'],
    [{ kind: 'embedding' }, 'an embedding view has "dims", not "fields"'],
    [{ kind: 'embedding', fields: undefined, dims: 4, default: [1, 2] }, '"default" must be an array of 4 finite numbers'],
    [{ colour: 'red' }, 'unknown key "colour"'],
  ])('%j is refused: %s', (patch, message) => {
    expect(() => parse(patch)).toThrow(`features/x.json: `);
    expect(() => parse(patch)).toThrow(message);
  });

  it('invalid JSON, duplicate names and bad references fail with the fix', () => {
    expect(() => parseFeatureView('{', 'features/bad.json')).toThrow(/^features\/bad\.json: not valid JSON/);
    const a = parse({});
    expect(() => createFeatureRepository([a, { ...a, file: 'features/y.json' }])).toThrow('features/y.json: view "origin_airport" is also declared in features/x.json');
    const repo = createFeatureRepository([a, parseFeatureView(JSON.stringify({ ...base, name: 'emb', kind: 'embedding', fields: undefined, dims: 2 }), 'features/e.json')]);
    expect(() => repo.view('nope')).toThrow('unknown feature view "nope"; declared views: emb, origin_airport');
    expect(() => repo.field('origin_airport')).toThrow('must be "view.field"');
    expect(() => repo.field('origin_airport.rate')).toThrow('view "origin_airport" has no field "rate"; it has delay_rate');
    expect(() => repo.field('emb.x')).toThrow('is an embedding view; use an input with "source": "embedding"');
  });
});
