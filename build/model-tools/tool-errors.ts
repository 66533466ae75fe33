// Shared bits of the model tools (model:add, model:check): the error a user can act on, and
// what the core serves (dtypes, name set), so the tools refuse what the server would refuse.

/** A problem with the user's file or flags: printed as one line, never with a stack. */
export class ModelToolError extends Error {
  override name = 'ModelToolError';
}

/** Element types the engines take (core/engine/types.ts). */
export const SERVED_DTYPES = ['bool', 'uint8', 'int8', 'int16', 'int32', 'int64', 'float16', 'float32', 'float64'] as const;

/** The documented set for model names and versions (core/model/names.ts). */
export function validModelName(name: unknown): name is string {
  return typeof name === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name);
}
