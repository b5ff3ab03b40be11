import * as attribution from './attribution.ts';
import * as datanets from './datanets.ts';
import * as factory from './factory.ts';
import * as inference from './inference.ts';
import * as node from './node.ts';
import type { RouteDefinition } from './route.ts';
import * as settlement from './settlement.ts';
import * as skills from './skills.ts';

/**
 * The node's HTTP API in one place: every route (its path, who may call it, what it takes and what
 * it answers) by operationId. The server registers these, the CLI and the web app call them
 * through the typed client (client.ts), and `/openapi.json` is generated from them.
 *
 * @example
 * const d = await client.call(routes.getDatanet, { params: { id: 1 } });
 */
export const routes = {
  health: node.health, getStatus: node.getStatus, listChainEvents: node.listChainEvents, relayChainRpc: node.relayChainRpc, metrics: node.metrics, devAccounts: node.devAccounts, openApiDocument: node.openApiDocument,
  createDatanet: datanets.createDatanet, listDatanets: datanets.listDatanets, getDatanet: datanets.getDatanet, contribute: datanets.contribute, uploadRecords: datanets.uploadRecords,
  getUpload: datanets.getUpload, listUploadRecords: datanets.listUploadRecords, listDatanetContributions: datanets.listDatanetContributions,
  listContributorContributions: datanets.listContributorContributions, getContribution: datanets.getContribution, getContributionProof: datanets.getContributionProof,
  decideContribution: datanets.decideContribution, anchorDatanet: datanets.anchorDatanet, createSnapshot: datanets.createSnapshot, listSnapshots: datanets.listSnapshots,
  getSnapshot: datanets.getSnapshot, listSnapshotContributions: datanets.listSnapshotContributions, getDatanetStats: datanets.getDatanetStats, getDatanetEarnings: datanets.getDatanetEarnings,
  listBaseModels: factory.listBaseModels, getBaseModel: factory.getBaseModel, addBaseModel: factory.addBaseModel, createTrainingJob: factory.createTrainingJob,
  listTrainingJobs: factory.listTrainingJobs, getTrainingJob: factory.getTrainingJob, getTrainingProgress: factory.getTrainingProgress,
  getTrainingAdapterFile: factory.getTrainingAdapterFile, cancelTrainingJob: factory.cancelTrainingJob, trainingJobEvents: factory.trainingJobEvents,
  listModels: factory.listModels, getModel: factory.getModel,
  getReceipt: attribution.getReceipt, getBlob: attribution.getBlob,
  infer: inference.infer, openAiModels: inference.openAiModels, openAiCompletions: inference.openAiCompletions, openAiChatCompletions: inference.openAiChatCompletions,
  createApiKey: inference.createApiKey, listApiKeys: inference.listApiKeys, revokeApiKey: inference.revokeApiKey,
  submitAuthorization: settlement.submitAuthorization, getFunds: settlement.getFunds, getRewards: settlement.getRewards, getRewardHistory: settlement.getRewardHistory,
  getRewardEvidence: settlement.getRewardEvidence, listEpochs: settlement.listEpochs, listWatchedEpochs: settlement.listWatchedEpochs, getEpochInputs: settlement.getEpochInputs, runEpoch: settlement.runEpoch,
  createAgent: skills.createAgent, listAgents: skills.listAgents, getAgent: skills.getAgent, getAgentCard: skills.getAgentCard, getAgentRegistration: skills.getAgentRegistration,
  listSkill: skills.listSkill, listSkills: skills.listSkills, getSkill: skills.getSkill, callSkill: skills.callSkill, getSkillCall: skills.getSkillCall, getSkillCallProof: skills.getSkillCallProof,
  x402Supported: skills.x402Supported, x402Verify: skills.x402Verify, x402Settle: skills.x402Settle,
} as const satisfies Record<string, RouteDefinition>;

export type { RouteDefinition, RouteInput, RouteOutput } from './route.ts';
export { attribution, datanets, factory, inference, node, settlement, skills };
