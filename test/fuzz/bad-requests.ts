// A seeded generator of bad HTTP requests for the edgeinfer API, and the checks every answer
// must pass (status < 500, JSON error with a code). Runtime-neutral: a case becomes a web
// Request (`toRequest`) for any invoke(Request) → Response (edge artifacts), or is sent over
// a real socket by test/fuzz/socket-sender.ts (the node server).
import { seededRandom } from '../../models/training/prng.ts';
import { binaryCase, dtypeCase, multiInputCase, SPAM_SIGNATURES, type FuzzModelSignature } from './kserve-cases.ts';

/** One generated request. `body` is raw bytes so invalid UTF-8 survives. */
export interface FuzzCase {
  index: number;
  /** Generator family, e.g. "truncated-json" (the summary groups by it). */
  kind: string;
  method: string;
  /** Request target: path plus optional query, already percent-encoded as sent. */
  path: string;
  headers: Array<[string, string]>;
  body: Uint8Array | null;
  /** Send the body chunked (no content-length), in pieces of about this many bytes. */
  chunkBytes?: number;
  /** The body is over the limit and says so up front (content-length); it is still sent whole. */
  declaredLength?: number;
}

/** The outcome of one case, as the runner saw it. */
export interface FuzzOutcome {
  status: number;
  /** error.code of a JSON error body, "ok" for a 2xx, or a failure label. */
  code: string;
  /** Why this answer breaks the rules; undefined when it is acceptable. */
  violation?: string;
}

/** Counts by status and by code, and every violation (capped). */
export interface FuzzSummary {
  seed: number;
  sent: number;
  answered: number;
  byStatus: Record<string, number>;
  byCode: Record<string, number>;
  byKind: Record<string, number>;
  violations: Array<{ index: number; kind: string; status: number; violation: string }>;
  violationCount: number;
  ms: number;
}

const encoder = new TextEncoder();
const JSON_TYPE: Array<[string, string]> = [['content-type', 'application/json']];

interface Gen {
  rand: () => number;
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
  maxBody: number;
  /** Signatures of the models the target serves (KServe families aim at their inputs). */
  models: readonly FuzzModelSignature[];
}

type Family = (g: Gen) => Omit<FuzzCase, 'index' | 'kind'>;

const MODELS = ['spam-edge', 'spam-regional'];
const SAMPLE_TEXTS = [
  'Subject: You won! Claim your FREE prize now, click here',
  'Subject: meeting notes\nFrom: alice@example.com\n\nSee you at 10.',
  'hi',
];

function post(path: string, body: string | Uint8Array, headers = JSON_TYPE): Omit<FuzzCase, 'index' | 'kind'> {
  return { method: 'POST', path, headers, body: typeof body === 'string' ? encoder.encode(body) : body };
}

function randomString(g: Gen, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += String.fromCharCode(g.int(32, 126));
  return out;
}

const predictPath = (g: Gen) => g.pick(['/v1/predict', '/v1/predict/', '/v1/predict?x=1', '/v1//predict']);
const inferPath = (g: Gen) =>
  g.pick([`/v2/models/${g.pick(MODELS)}/infer`, `/v2/models/${g.pick(MODELS)}/versions/1/infer`, '/v2/models/nope/infer', `/v2/models/${g.pick(MODELS)}/versions/99/infer`]);

/** Values of every JSON type, including awkward ones. */
function wrongValue(g: Gen): unknown {
  return g.pick<() => unknown>([
    () => null,
    () => true,
    () => g.int(-1e9, 1e9),
    () => 1e308,
    () => -0,
    () => 0.5,
    () => '',
    () => '   \n\t ',
    () => [],
    () => [1, 'a', null],
    () => ({}),
    () => ({ text: 'nested' }),
    () => randomString(g, g.int(1, 40)),
    () => Array.from({ length: g.int(1, 50) }, () => g.int(-5, 70000)),
  ])();
}

const UNICODE_EDGES = [
  '\u0000',
  '\ufeff',
  '\u200b\u200c\u200d',
  '\u202e\u202d RTL override',
  '\ud83d\ude00\ud83d\udc69\u200d\ud83d\udc69\u200d\ud83d\udc67',
  'e\u0301\u0301\u0301\u0301\u0301\u0301\u0301',
  '\uffff\ufffe\ufffd',
  '\u{10ffff}',
  'ＳＵＢＪＥＣＴ: ｆｒｅｅ',
  'İıß ǅ ﬁ',
  '\r\n\r\n\r\n',
  '\u2028\u2029',
];

const FAMILIES: Record<string, Family> = {
  'malformed-json': (g) =>
    post(
      predictPath(g),
      g.pick([
        '{',
        '}',
        '{"text": }',
        "{'text': 'single quotes'}",
        '{"text": "a",}',
        '{"text": "a" "model": "b"}',
        '{text: "unquoted"}',
        '{"text": NaN}',
        '{"text": "a"} trailing',
        '/* comment */ {"text": "a"}',
        '[1, 2,, 3]',
        '{"text": "\\x41"}',
        '{"text": "\\ud800"',
        'null',
        'undefined',
        '"just a string"',
        '123',
        'true',
        randomString(g, g.int(1, 200)),
      ]),
    ),
  'truncated-json': (g) => {
    const full = JSON.stringify(g.rand() < 0.5 ? { text: g.pick(SAMPLE_TEXTS), model: g.pick(MODELS) } : inferBody('text', 'BYTES', [1], [g.pick(SAMPLE_TEXTS)]));
    const cut = g.int(0, full.length - 1);
    return post(g.rand() < 0.7 ? predictPath(g) : inferPath(g), full.slice(0, cut));
  },
  'wrong-types': (g) => {
    const field = g.pick(['text', 'model', 'ids', 'preprocessing', 'extra']);
    const body: Record<string, unknown> = field === 'ids' ? { ids: wrongValue(g), preprocessing: { id: 'email-hash', version: 1 } } : { text: g.pick(SAMPLE_TEXTS) };
    if (field === 'preprocessing') Object.assign(body, { text: undefined, ids: [1, 2, 3], preprocessing: g.pick([wrongValue(g), { id: 'other', version: 9 }, { id: 'email-hash', version: '1' }]) });
    else if (field === 'extra') body[g.pick(['txt', 'Text', '__proto__', 'constructor', randomString(g, 8)])] = wrongValue(g);
    else body[field] = wrongValue(g);
    if (g.rand() < 0.2) return post(predictPath(g), JSON.stringify(g.pick([[body], wrongValue(g)])));
    return post(predictPath(g), JSON.stringify(body));
  },
  'huge-strings': (g) => {
    // Around the body limit: just under (must be answered normally), just over (413).
    const size = g.pick([g.maxBody - 64, g.maxBody + 1, Math.floor(g.maxBody / 2), g.int(1000, g.maxBody * 2)]);
    const filler = g.pick(['a', ' ', 'é', '\ud83d\ude00', 'spam ']).repeat(Math.max(1, Math.floor(size / 4)));
    const where = g.pick(['text', 'model', 'key']);
    const body = where === 'text' ? { text: filler } : where === 'model' ? { text: 'x', model: filler } : { text: 'x', [filler.slice(0, 5000)]: 1 };
    return post(predictPath(g), encoder.encode(JSON.stringify(body)).slice(0, size));
  },
  'deep-nesting': (g) => {
    const depth = g.pick([100, 1000, 10_000, Math.floor(g.maxBody / 2) - 20]);
    const open = g.pick(['[', '{"a":']);
    const close = open === '[' ? ']' : '}';
    const core = `${open.repeat(depth)}1${close.repeat(g.rand() < 0.8 ? depth : g.int(0, depth))}`;
    const wrapped = g.pick([core, `{"text": ${core}}`, `{"text": "x", "model": ${core}}`, inferBodyRaw(core)]);
    return post(g.rand() < 0.5 ? predictPath(g) : inferPath(g), wrapped);
  },
  'invalid-utf8': (g) => {
    const bad = g.pick([
      [0xff],
      [0xc0, 0xaf],
      [0xe0, 0x80, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xc3],
      [0x80, 0x80],
      [0xfe, 0xfe, 0xff, 0xff],
    ]);
    const prefix = encoder.encode('{"text": "abc');
    const suffix = encoder.encode('def"}');
    const raw = g.rand() < 0.8 ? new Uint8Array([...prefix, ...bad, ...suffix]) : Uint8Array.from({ length: g.int(1, 300) }, () => g.int(0, 255));
    return post(g.rand() < 0.8 ? predictPath(g) : inferPath(g), raw);
  },
  'unicode-edges': (g) => {
    const parts = Array.from({ length: g.int(1, 6) }, () => g.pick(UNICODE_EDGES));
    const text = parts.join(g.pick(['', ' ', 'x']));
    const variant = g.int(0, 3);
    if (variant === 0) return post(predictPath(g), JSON.stringify({ text }));
    if (variant === 1) return post(predictPath(g), `\ufeff${JSON.stringify({ text })}`);
    // Lone surrogates written as JSON escapes: valid JSON, not valid Unicode.
    if (variant === 2) return post(predictPath(g), `{"text": "${g.pick(['\\ud800', '\\udfff', '\\ud83d x', 'a\\u0000b'])}"}`);
    return post(inferPath(g), JSON.stringify(inferBody('text', 'BYTES', [1], [text])));
  },
  'oversized-declared': (g) => {
    const size = g.int(g.maxBody + 1, g.maxBody * 3);
    const request = post(predictPath(g), JSON.stringify({ text: 'a'.repeat(size) }));
    return { ...request, declaredLength: (request.body as Uint8Array).byteLength };
  },
  'oversized-chunked': (g) => {
    const size = g.int(g.maxBody + 1, g.maxBody * 3);
    return { ...post(predictPath(g), JSON.stringify({ text: 'b'.repeat(size) })), chunkBytes: g.pick([1024, 8192, 65536]) };
  },
  'chunked-small': (g) => ({ ...post(g.rand() < 0.5 ? predictPath(g) : inferPath(g), g.pick(['{"text": "chunked hello"}', '{"text": ', '{"ids": [1,2'])), chunkBytes: g.int(1, 8) }),
  'content-types': (g) => {
    const type = g.pick([
      null,
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/jsonx',
      'application/json; charset=utf-16',
      'APPLICATION/JSON',
      'application/problem+json',
      'application/json;;;;',
      '*/*',
      '',
      'a'.repeat(2000),
    ]);
    const body = g.rand() < 0.5 ? JSON.stringify({ text: g.pick(SAMPLE_TEXTS) }) : 'text=hello';
    return post(g.rand() < 0.7 ? predictPath(g) : inferPath(g), body, type === null ? [] : [['content-type', type]]);
  },
  methods: (g) => {
    const method = g.pick(['GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'POST']);
    const path = g.pick(['/v1/predict', '/healthz', '/v2', '/v2/health/ready', '/v2/health/live', '/v1/cache', `/v2/models/${g.pick(MODELS)}`, `/v2/models/${g.pick(MODELS)}/ready`, inferPath(g)]);
    const body = method === 'GET' || method === 'HEAD' ? null : encoder.encode(JSON.stringify({ text: 'x' }));
    return { method, path, headers: JSON_TYPE, body };
  },
  'odd-paths': (g) => {
    const path = g.pick([
      '/v2/models/%ZZ/infer',
      '/v2/models/%E0%A4%A/infer',
      '/v2/models/%00/ready',
      '/v2/models/%2F%2E%2E%2Fetc/infer',
      '/v2/models/..%2F..%2Fpasswd',
      '/v2/models/spam-edge/versions/%FF',
      '/v2/models/spam-edge/versions/-1/infer',
      '/v2/models/spam-edge/versions/1.0',
      `/v2/models/${'a'.repeat(g.int(100, 6000))}`,
      '//v1/predict',
      '/v1/predict%20',
      '/V1/PREDICT',
      '/v1/predict;jsessionid=1',
      '/%76%31/predict',
      '/v2/models/sp%61m-edge',
      `/v2/models/${encodeURIComponent(g.pick(UNICODE_EDGES))}`,
      '/?' + 'q='.repeat(g.int(1, 500)),
      '/does/not/exist',
      '/.env',
      '/v2/models//infer',
      '/v2/models/spam-edge/versions//infer',
    ]);
    const method = g.pick(['GET', 'POST']);
    return { method, path, headers: JSON_TYPE, body: method === 'POST' ? encoder.encode(JSON.stringify({ text: 'x' })) : null };
  },
  'kserve-tensors': (g) => {
    const variant = g.int(0, 11);
    let body: unknown;
    if (variant === 0) body = { inputs: wrongValue(g) };
    else if (variant === 1) body = { inputs: [] };
    else if (variant === 2) body = inferBody('text', g.pick(['INT32', 'FP32', 'bytes', 'STRING', '']), [1], [g.pick(SAMPLE_TEXTS)]);
    else if (variant === 3) body = inferBody('text', 'BYTES', g.pick([[2], [1, 1], [], [-1], [1e12], 'one']), [g.pick(SAMPLE_TEXTS)]);
    else if (variant === 4) body = inferBody('text', 'BYTES', [1], g.pick([[], ['a', 'b'], [1], [null], 'x', [['nested']], [''], ['   ']]));
    else if (variant === 5) {
      const n = g.int(0, 40);
      body = inferBody('ids', g.pick(['INT32', 'INT64', 'FP32']), g.pick([[1, n], [n], [1, n + 1], [n, 1], [1, -1]]), Array.from({ length: n }, () => g.pick([g.int(0, 8191), g.int(-100, 100000), 0.5, '7', null])));
    } else if (variant === 6) body = inferBody('ids', 'INT32', [1, 3], [[[1]], [[2]], [[3]]]);
    else if (variant === 7) body = inferBody(g.pick(['', 'input', 'TEXT', 'probabilities', randomString(g, 12)]), 'BYTES', [1], ['x']);
    else if (variant === 8) body = { ...inferBody('text', 'BYTES', [1], ['hello']) as object, outputs: g.pick([[{ name: 'nope' }], 'all', [{}], [{ name: 1 }], null]) };
    else if (variant === 9) body = { ...inferBody('text', 'BYTES', [1], ['hello']) as object, id: wrongValue(g) };
    else if (variant === 10) body = { inputs: [{ name: 'text', datatype: 'BYTES', shape: [1], data: ['x'], extra: true }] };
    else body = inferBody('ids', 'INT32', [1, 5000], Array.from({ length: 5000 }, (_, i) => i % 8000));
    return post(inferPath(g), JSON.stringify(body));
  },
  'kserve-multi-input': multiInputCase,
  'kserve-dtypes': dtypeCase,
  'kserve-binary': binaryCase,
};

function inferBody(name: string, datatype: string, shape: unknown, data: unknown): unknown {
  return { inputs: [{ name, datatype, shape, data }] };
}

function inferBodyRaw(dataJson: string): string {
  return `{"inputs": [{"name": "ids", "datatype": "INT32", "shape": [1, 1], "data": ${dataJson}}]}`;
}

/** Names of the generator families, in the order they rotate. */
export const FUZZ_FAMILIES = Object.keys(FAMILIES);

/** Generates `count` cases from `seed`; families rotate so every family appears evenly. */
export function* generateBadRequests(seed: number, count: number, maxBodyBytes = 65_536, models: readonly FuzzModelSignature[] = SPAM_SIGNATURES): Generator<FuzzCase> {
  const rand = seededRandom(seed); // the same seed gives the same cases everywhere
  const g: Gen = {
    rand,
    int: (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1)),
    pick: (items) => items[Math.floor(rand() * items.length)] as (typeof items)[number],
    maxBody: maxBodyBytes,
    models,
  };
  for (let index = 0; index < count; index++) {
    const kind = FUZZ_FAMILIES[index % FUZZ_FAMILIES.length] as string;
    yield { index, kind, ...(FAMILIES[kind] as Family)(g) };
  }
}

/** The case as a web Request against `base` (for edge artifacts' invoke functions). */
export function toRequest(fuzzCase: FuzzCase, base = 'http://fuzz.local'): Request {
  const headers = new Headers();
  for (const [name, value] of fuzzCase.headers) headers.append(name, value);
  let body: BodyInit | null = fuzzCase.body as BodyInit | null;
  if (fuzzCase.body && fuzzCase.chunkBytes) {
    const bytes = fuzzCase.body;
    const step = fuzzCase.chunkBytes;
    let offset = 0;
    body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (offset >= bytes.byteLength) return controller.close();
        controller.enqueue(bytes.slice(offset, offset + step));
        offset += step;
      },
    });
  }
  return new Request(base + fuzzCase.path, { method: fuzzCase.method, headers, body, duplex: 'half' } as RequestInit);
}

/** Judges one answer: < 500, and JSON {error: {code, message}} for every error (bodies of HEAD aside). */
export function judgeResponse(fuzzCase: FuzzCase, status: number, contentType: string | null, bodyText: string): FuzzOutcome {
  if (status >= 500) return { status, code: codeOf(bodyText) ?? 'no_code', violation: `status ${status}: ${bodyText.slice(0, 200)}` };
  if (fuzzCase.method === 'HEAD') return { status, code: status < 400 ? 'ok' : 'head' };
  if (status < 400) return { status, code: 'ok' };
  if (!contentType?.includes('application/json')) return { status, code: 'not_json', violation: `error with content-type ${contentType}` };
  const code = codeOf(bodyText);
  if (code === undefined) return { status, code: 'no_code', violation: `error body without error.code/message: ${bodyText.slice(0, 200)}` };
  return { status, code };
}

function codeOf(bodyText: string): string | undefined {
  try {
    const parsed = JSON.parse(bodyText) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed.error?.code === 'string' && typeof parsed.error.message === 'string' && parsed.error.message.length > 0) return parsed.error.code;
  } catch {
    // Not JSON: the caller reports it.
  }
  return undefined;
}

/** Sends one case and returns the outcome; a thrown error is a lost request. */
export type FuzzSender = (fuzzCase: FuzzCase) => Promise<FuzzOutcome>;

/** Adapts an invoke(Request) → Response (an edge artifact, or the handler itself) to a sender. */
export function invokeSender(invoke: (request: Request) => Promise<Response>, base?: string): FuzzSender {
  return async (fuzzCase) => {
    const response = await invoke(toRequest(fuzzCase, base));
    return judgeResponse(fuzzCase, response.status, response.headers.get('content-type'), await response.text());
  };
}

/** Runs `count` cases from `seed` through `send`, `concurrency` at a time, and summarizes. */
export async function runFuzz(send: FuzzSender, options: { seed: number; count: number; concurrency?: number; maxBodyBytes?: number; models?: readonly FuzzModelSignature[] }): Promise<FuzzSummary> {
  const started = performance.now();
  const summary: FuzzSummary = { seed: options.seed, sent: 0, answered: 0, byStatus: {}, byCode: {}, byKind: {}, violations: [], violationCount: 0, ms: 0 };
  const cases = generateBadRequests(options.seed, options.count, options.maxBodyBytes, options.models);
  const bump = (record: Record<string, number>, key: string) => (record[key] = (record[key] ?? 0) + 1);
  const worker = async () => {
    for (;;) {
      const next = cases.next();
      if (next.done) return;
      const fuzzCase = next.value;
      summary.sent++;
      bump(summary.byKind, fuzzCase.kind);
      let outcome: FuzzOutcome;
      try {
        outcome = await send(fuzzCase);
        summary.answered++;
      } catch (error) {
        outcome = { status: 0, code: 'lost', violation: `no answer: ${(error as Error).message}` };
      }
      bump(summary.byStatus, String(outcome.status));
      bump(summary.byCode, outcome.code);
      if (outcome.violation) {
        summary.violationCount++;
        if (summary.violations.length < 20) summary.violations.push({ index: fuzzCase.index, kind: fuzzCase.kind, status: outcome.status, violation: outcome.violation });
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, worker));
  summary.ms = Math.round(performance.now() - started);
  return summary;
}
