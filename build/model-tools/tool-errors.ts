// Shared bits of the model tools (model:add, model:check): the error a user can act on, and
// what the core serves (dtypes, name set), so the tools refuse what the server would refuse.

/** A problem with the user's file or flags: printed as one line, never with a stack. */
export class ModelToolError extends Error {
  override name = 'ModelToolError';
}

/** Element types a model.json may declare (the engines' dtypes). */
export { MANIFEST_DTYPES as SERVED_DTYPES } from '../../core/model/manifest.ts';

/** The documented set for model names and versions. */
export { isValidModelName as validModelName } from '../../core/model/names.ts';
