// Stands in for protobufjs/minimal and for @datadog/sketches-js's proto/compiled (its generated
// protobuf code) in edge bundles. @datadog/sketches-js requires them (lazily)
// only for DDSketch.toProto/fromProto, which edgeinfer never calls (core/telemetry/sketch.ts
// serialises sketches as JSON); the package does not declare protobufjs as a dependency, so
// without this alias a bundle would depend on another package happening to install it, and
// would carry ~11 KB gzip of protobuf code it never runs.
module.exports = {};
