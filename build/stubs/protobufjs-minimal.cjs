// Stands in for protobufjs/minimal in edge bundles. @datadog/sketches-js requires it (lazily)
// only for DDSketch.toProto/fromProto, which edgeinfer never calls (core/telemetry/sketch.ts
// serialises sketches as JSON); the package does not declare protobufjs as a dependency, so
// without this alias a bundle would depend on another package happening to install it, and
// would carry ~11 KB gzip of protobuf code it never runs.
module.exports = {};
