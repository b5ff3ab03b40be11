import type { RouteOutput, routes } from '../../api.ts';

export type { Rewards } from '../../../../src/settlement/reward-types.ts';
export type { RewardBreakdownRow as BreakdownRow, RewardHistoryRow as HistoryRow, RewardEvidence as Evidence } from '../../../../src/settlement/reward-types.ts';

/** `GET /settlement/epochs`: a settlement epoch this node prepared. */
export type Epoch = RouteOutput<typeof routes.listEpochs>['epochs'][number];

/** A role as people say it. */
export const roleName = (role: string): string =>
  ({ model_owner: 'model owner', datanet_owner: 'datanet owner', datanet_pool: 'datanet pool', contributor: 'contributor', staker: 'staker' })[role] ?? role;
