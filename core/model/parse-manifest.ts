// The model.json validator as the repository reaches it (parseManifest, ~16 KB minified). Its
// own module so that a bundle whose every model.json the build validated and embedded with its
// normalised manifest (build/pipeline.ts, embeddedManifest) can leave the validator out: there
// it is unreachable, and Node and Deno compile a bundle in time that grows with its code (#18).
export { parseManifest } from './manifest.ts';
