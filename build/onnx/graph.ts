// Small helpers over the decoded ONNX protobuf graph (onnx-proto), shared by the graph
// pre-pass (graph-prepass.ts) and the model tools that rewrite graphs (quantize, prune).
import onnxProto from 'onnx-proto';

type Graph = onnxProto.onnx.IGraphProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;

const FLOAT = 1;

/** A protobuf integer (number or Long) as a number. */
export const num = (v: unknown): number => (typeof v === 'object' && v !== null && 'toNumber' in v ? (v as { toNumber(): number }).toNumber() : Number(v));

export function isDefaultDomain(node: Node): boolean {
  return !node.domain || node.domain === 'ai.onnx';
}

/** The subgraphs of a node (If branches, Loop/Scan bodies). */
export function subgraphsOf(node: Node): Graph[] {
  const out: Graph[] = [];
  for (const a of node.attribute ?? []) {
    if (a.g) out.push(a.g);
    for (const g of a.graphs ?? []) out.push(g);
  }
  return out;
}

export interface Use {
  node: Node;
  index: number;
}

/** Every place `name` is read in `graph` and in the bodies nested in it. */
export function usesOf(graph: Graph, name: string, out: Use[] = []): Use[] {
  for (const node of graph.node ?? []) {
    (node.input ?? []).forEach((input, index) => {
      if (input === name) out.push({ node, index });
    });
    for (const g of subgraphsOf(node)) usesOf(g, name, out);
  }
  return out;
}

/** Names used anywhere in the model, so new ones never collide. */
export function allNames(graph: Graph, into = new Set<string>()): Set<string> {
  for (const t of graph.initializer ?? []) into.add(t.name ?? '');
  for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) into.add(v.name ?? '');
  for (const node of graph.node ?? []) {
    for (const n of [...(node.input ?? []), ...(node.output ?? [])]) into.add(n);
    into.add(node.name ?? '');
    for (const g of subgraphsOf(node)) allNames(g, into);
  }
  return into;
}

export class Names {
  constructor(private readonly taken: Set<string>) {}
  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.taken.has(name); i++) name = `${base}_${i}`;
    this.taken.add(name);
    return name;
  }
}

/** The tensor of a Constant node that holds one (`value`), or undefined. */
export function constantNodeValue(node: Node): Tensor | undefined {
  return node.opType === 'Constant' && isDefaultDomain(node) && node.attribute?.length === 1 && node.attribute[0]!.name === 'value' && node.output?.length === 1 ? (node.attribute[0]!.t ?? undefined) : undefined;
}

export function tensor(name: string, dataType: number, dims: number[], raw: Uint8Array): Tensor {
  return { name, dataType, dims, rawData: raw };
}
export const f32 = (name: string, dims: number[], values: Float32Array): Tensor => tensor(name, FLOAT, dims, new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)));
