// Stands in for core/model/parse-manifest.ts in a bundle that embeds every model.json with the
// normalised manifest the build validated (build/pipeline.ts checks both before using it): the
// repository never parses one there. Were it reached, the model fails to load with this reason.
export function parseManifest(_json: string, source: string): never {
  throw new Error(`${source}: this bundle carries no model.json validator (the build validates and embeds every manifest it serves); rebuild it`);
}
