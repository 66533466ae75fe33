// Every provider target, by the name `npm run build:<name>` uses.
import { lambdaEdgeTarget } from './lambda-edge.ts';
import { netlifyTarget } from './netlify.ts';
import { regionalTarget } from './regional.ts';
import { vercelTarget } from './vercel.ts';

export const TARGETS = { vercel: vercelTarget, netlify: netlifyTarget, 'lambda-edge': lambdaEdgeTarget, regional: regionalTarget } as const;
