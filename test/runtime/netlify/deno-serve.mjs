// Runs a Netlify edge function in Deno the way Netlify calls it: `export default (request,
// context)`, with a context whose waitUntil keeps work alive. Usage:
//   deno run --allow-read --allow-net --allow-env deno-serve.mjs <function.js>
// Prints "listening <port>" once it serves on 127.0.0.1.
const mod = await import(new URL(Deno.args[0], `file://${Deno.cwd()}/`).href);
if (typeof mod.default !== 'function') throw new Error('the edge function has no default export');
const pending = new Set();
Deno.serve(
  { hostname: '127.0.0.1', port: 0, onListen: ({ port }) => console.log(`listening ${port} ${JSON.stringify(mod.config ?? null)}`) },
  (request) =>
    mod.default(request, {
      waitUntil: (promise) => {
        pending.add(promise);
        promise.finally(() => pending.delete(promise));
      },
      geo: {},
      ip: '127.0.0.1',
      requestId: crypto.randomUUID(),
    }),
);
