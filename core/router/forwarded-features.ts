// A fields request escalates with what the regional model needs: the request's fields, and
// the regional model's own feature and embedding values, assembled here from the edge's
// feature views (L1 first: the edge model has just read the views the two models share;
// else one round trip, on the escalation path only). Forwarded values let the regional cache
// key cover the regional model's whole input, and the function runs on exactly those values.
// When the edge cannot assemble them (it holds no model.json of the regional model, as in
// edge bundles, or its store is slow or down), only the fields travel and the regional
// function reads its own feature source.
import type { ModelIdentity } from '../cache/model-identity.ts';
import type { FeatureAssembler } from '../features/feature-assembler.ts';
import type { FeatureInputSpec } from '../model/manifest.ts';
import type { RegionalOutcome, RegionalRequest, RegionalTier } from './regional-tier.ts';

/** Wraps `tier` (outside the prediction cache, so the regional key sees the forwarded values). */
export function withForwardedFeatures(
  tier: RegionalTier,
  identify: (model: string, version: string | undefined) => Promise<ModelIdentity | undefined>,
  features: FeatureAssembler,
): RegionalTier {
  return {
    kind: tier.kind,
    async invoke(request: RegionalRequest, signal: AbortSignal): Promise<RegionalOutcome> {
      if (!request.fields || request.features) return tier.invoke(request, signal);
      const identity = await identify(request.model, request.version).catch(() => undefined);
      const specs = identity?.inputs?.filter((i): i is FeatureInputSpec => i.source === 'features' || i.source === 'embedding');
      if (!specs?.length) return tier.invoke(request, signal);
      const found = await features.assemble(specs, request.fields, request.text).catch(() => undefined);
      // Defaults because the store was unavailable are not the regional model's input: let the function try its own.
      if (!found || found.degraded) return tier.invoke(request, signal);
      const forwarded: Record<string, number[]> = {};
      for (const spec of specs) {
        const tensor = found.tensors[spec.name];
        if (!tensor) return tier.invoke(request, signal);
        forwarded[spec.name] = Array.from(tensor.data as ArrayLike<number | bigint>, Number);
      }
      return tier.invoke({ ...request, features: forwarded }, signal);
    },
  };
}
