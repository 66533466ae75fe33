// The model of a request that names none: no model is special. The configured default, else
// the repository's only model, else the only non-regional model that takes what the request
// sends; anything else is a 400 naming the candidates.
import { describe, expect, it } from 'vitest';
import { EngineRegistry } from '../../core/engine/registry.ts';
import { HttpError } from '../../core/http/errors.ts';
import { EmbeddedModelSource } from '../../core/model/embedded-source.ts';
import { Cascade, DEFAULT_CASCADE_CONFIG } from '../../core/router/cascade.ts';
import { createServiceContext, DEFAULT_SERVICE_CONFIG, type ServiceConfig } from '../../core/service-context.ts';
import { ModelStore } from '../../core/serving/model-store.ts';

const sha = 'a'.repeat(64);
const text = (name: string, role = 'edge') => ({
  name, version: '1', sha256: sha, role,
  inputs: [{ name: 'ids', dtype: 'int32', shape: [1, -1], source: 'text', text: 'ids' }],
  outputs: [{ name: 'p', dtype: 'float32', shape: [1, 2] }],
  preprocessing: { id: 'email-hash', version: 1, params: {} },
  output: { kind: 'classification', tensor: 'p', labels: ['a', 'b'], activation: 'none' },
});
const tabular = (name: string) => ({
  name, version: '1', sha256: sha, role: 'edge',
  inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2], source: 'fields', fields: ['u', 'v'] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1] }],
  output: { kind: 'regression', tensor: 'y' },
});
const tensors = (name: string) => ({
  name, version: '1', sha256: sha, role: 'any',
  inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4], source: 'request' }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [1, 1] }],
  output: { kind: 'raw' },
});

function context(models: object[], config: Partial<ServiceConfig> = {}) {
  const files = Object.fromEntries(models.map((m) => [`${(m as { name: string }).name}/1/model.json`, new TextEncoder().encode(JSON.stringify(m))]));
  const store = new ModelStore({ source: new EmbeddedModelSource(files), engines: new EngineRegistry(), ortPreference: [] });
  return createServiceContext({ ...DEFAULT_SERVICE_CONFIG, ...config }, store, new Cascade(DEFAULT_CASCADE_CONFIG, undefined));
}

async function refusal(promise: Promise<unknown>): Promise<HttpError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(HttpError);
  return error as HttpError;
}

describe('default model', () => {
  it('is the only model of the repository, whatever its name or role', async () => {
    expect(await context([tensors('wakeword')]).defaultModel('inputs')).toBe('wakeword');
    expect(await context([text('big', 'regional')]).defaultModel('text')).toBe('big');
  });

  it('is the only non-regional model taking what the request sends', async () => {
    const service = context([text('small'), text('large', 'regional'), tabular('delays'), tensors('vad')]);
    expect(await service.defaultModel('text')).toBe('small');
    expect(await service.defaultModel('fields')).toBe('delays');
    expect(await service.defaultModel('inputs')).toBe('vad');
  });

  it('is the configured one when set (EDGEINFER_DEFAULT_MODEL)', async () => {
    expect(await context([text('one'), text('two')], { defaultModel: 'two' }).defaultModel('text')).toBe('two');
  });

  it('is refused with a 400 naming the candidates when several could answer, or none', async () => {
    const ambiguous = await refusal(context([text('one'), text('two'), tabular('t')]).defaultModel('text'));
    expect(ambiguous.status).toBe(400);
    expect(ambiguous.message).toMatch(/send "model" \(the models that take "text" are one, two\).*EDGEINFER_DEFAULT_MODEL/);
    const none = await refusal(context([tabular('t'), tensors('r')]).defaultModel('text'));
    expect(none.message).toMatch(/no model that takes "text"; this server has r, t/);
  });
});
