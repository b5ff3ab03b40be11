import type { RouteOutput, routes } from '../../api.ts';

/** `GET /skills/:id`: a skill, its offer, listing and paid-call reputation. */
export type Skill = RouteOutput<typeof routes.getSkill>;

/** What a skill charges and pays out beyond its costs. */
export type Offer = Skill['offer'];

/** `GET /agents/:name`: an agent this node runs, with the skills it sells. */
export type AgentWithSkills = RouteOutput<typeof routes.getAgent>;

/** `GET /agents`: one agent. */
export type Agent = RouteOutput<typeof routes.listAgents>['agents'][number];

/** `POST /skills/:id/call`: what a call answered and what it cost. */
export type CallAnswer = RouteOutput<typeof routes.callSkill>;

/** `GET /skill-calls/:id`: a call's whole tree and the epoch that settled it. */
export type CallTree = RouteOutput<typeof routes.getSkillCall>;

/** One call of a tree with its inferences, its payouts and the calls it made. */
export type PayoutNode = CallTree['root'];

/** One payout of a call. */
export type Payout = PayoutNode['payouts'][number];

/**
 * The payee of the stakers' share of a call tree's inference fees: the epoch's stakers' pool,
 * divided by bonded stake (`STAKERS_POOL` of src/settlement/call-tree-payouts.ts, which the browser
 * does not load: it reads the node's database).
 */
export const STAKERS_POOL = '0x0000000000000000000000000000000000000001';
