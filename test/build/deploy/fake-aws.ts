// A local stand-in for the two AWS APIs `deploy:lambda-edge|regional --yes` calls, spoken to
// by the real AWS SDK clients through their `endpoint` option: S3 (REST, path style: HeadBucket
// answers the bucket's region in x-amz-bucket-region as S3 does, HeadObject, PutObject) and
// CloudFormation (the awsQuery protocol: form-encoded Action=..., XML answers and errors in
// CloudFormation's <ErrorResponse> shape). Stacks keep a status a test sets, and an update whose
// template and parameters equal the last one answers CloudFormation's own ValidationError
// "No updates are to be performed.".
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeStack {
  status: string;
  template: string;
  parameters: string;
  outputs: Record<string, string>;
}

export interface FakeAws {
  url: string;
  /** bucket → region */
  buckets: Map<string, string>;
  /** "bucket/key" → bytes */
  objects: Map<string, Buffer>;
  stacks: Map<string, FakeStack>;
  /** Every call, as "S3 PUT /bucket/key" or "CFN UpdateStack". */
  calls: string[];
  close(): Promise<void>;
}

const NS = 'http://cloudformation.amazonaws.com/doc/2010-05-15/';
const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function body(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c)).on('end', () => resolve(Buffer.concat(chunks))).on('error', reject);
  });
}

export async function startFakeAws(): Promise<FakeAws> {
  const state: Omit<FakeAws, 'url' | 'close'> = { buckets: new Map(), objects: new Map(), stacks: new Map(), calls: [] };
  const server = createServer(async (req, res) => {
    const raw = await body(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const form = new URLSearchParams(raw.toString('utf8'));
    if (req.method === 'POST' && form.get('Action')) {
      const action = form.get('Action')!;
      state.calls.push(`CFN ${action}`);
      const name = form.get('StackName') ?? '';
      const stack = state.stacks.get(name);
      const reply = (xml: string) => {
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(`<${action}Response xmlns="${NS}"><${action}Result>${xml}</${action}Result><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></${action}Response>`);
      };
      const fail = (code: string, message: string) => {
        res.writeHead(400, { 'content-type': 'text/xml' });
        res.end(`<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${xmlEscape(message)}</Message></Error><RequestId>r-2</RequestId></ErrorResponse>`);
      };
      const parameters = [...form.entries()].filter(([k]) => k.startsWith('Parameters.member.')).map(([k, v]) => `${k}=${v}`).sort().join('&');
      if (action === 'DescribeStacks') {
        if (!stack) return fail('ValidationError', `Stack with id ${name} does not exist`);
        const outputs = Object.entries(stack.outputs).map(([k, v]) => `<member><OutputKey>${k}</OutputKey><OutputValue>${v}</OutputValue></member>`).join('');
        return reply(`<Stacks><member><StackName>${name}</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/1</StackId><CreationTime>2026-12-01T00:00:00Z</CreationTime><StackStatus>${stack.status}</StackStatus><Outputs>${outputs}</Outputs></member></Stacks>`);
      }
      if (action === 'CreateStack') {
        if (stack) return fail('AlreadyExistsException', `Stack [${name}] already exists`);
        state.stacks.set(name, { status: 'CREATE_COMPLETE', template: form.get('TemplateBody') ?? '', parameters, outputs: { DistributionDomainName: 'd111111abcdef8.cloudfront.net' } });
        return reply(`<StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/1</StackId>`);
      }
      if (action === 'UpdateStack') {
        if (!stack) return fail('ValidationError', `Stack [${name}] does not exist`);
        if (stack.template === form.get('TemplateBody') && stack.parameters === parameters) return fail('ValidationError', 'No updates are to be performed.');
        Object.assign(stack, { status: 'UPDATE_COMPLETE', template: form.get('TemplateBody') ?? '', parameters });
        return reply(`<StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/${name}/1</StackId>`);
      }
      if (action === 'DescribeStackEvents') return reply('<StackEvents></StackEvents>');
      return fail('InvalidAction', action);
    }
    // S3, path style: /bucket[/key]
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    state.calls.push(`S3 ${req.method} /${bucket}${key ? `/${key}` : ''}`);
    const region = state.buckets.get(bucket);
    if (!region) {
      res.writeHead(404, { 'content-type': 'application/xml' });
      return res.end(req.method === 'HEAD' ? undefined : '<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>');
    }
    if (!key && req.method === 'HEAD') {
      res.writeHead(200, { 'x-amz-bucket-region': region });
      return res.end();
    }
    if (req.method === 'HEAD') {
      const object = state.objects.get(`${bucket}/${key}`);
      res.writeHead(object ? 200 : 404, object ? { 'content-length': String(object.length), etag: '"e"' } : {});
      return res.end();
    }
    if (req.method === 'PUT') {
      state.objects.set(`${bucket}/${key}`, raw);
      res.writeHead(200, { etag: '"e"' });
      return res.end();
    }
    res.writeHead(405);
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    ...state,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
