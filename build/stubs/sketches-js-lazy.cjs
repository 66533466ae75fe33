// Stands in for @datadog/sketches-js in edge bundles, so that the library's modules are
// evaluated when the first DDSketch is built rather than when the bundle starts (about 1 ms
// of a quiet Node cold start, several on a loaded machine; core/telemetry/sketch.ts buffers
// the first observations, so a cold isolate's first request builds none). esbuild turns the
// require below into a call of the package's CommonJS wrapper where it stands, and the ESM
// importer reads DDSketch through this getter at each use.
let sketches;
const load = () => (sketches ??= require('@datadog/sketches-js/dist/index.js'));
module.exports = {
  get DDSketch() {
    return load().DDSketch;
  },
};
