// The few AWS Lambda Node.js runtime types the adapters need, declared here instead of
// pulling a types package into the runtime
// (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-context.html).

/** The context object the Node.js runtime passes to a handler (the parts we read). */
export interface LambdaContext {
  awsRequestId: string;
  functionName: string;
  functionVersion?: string;
  memoryLimitInMB?: string;
  getRemainingTimeInMillis(): number;
}

/** An async Node.js Lambda handler. A rejection becomes a function error with errorType = error.name. */
export type LambdaHandler = (event: unknown, context: LambdaContext) => Promise<unknown>;
