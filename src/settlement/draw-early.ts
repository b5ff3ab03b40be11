import { formatEther } from 'viem';
import { latestAuthorization, SERVE_MARGIN_SECONDS } from './authorizations.ts';
import { consumersOwing, consumerSpend } from './charges.ts';
import type { SettlementNode } from './epoch.ts';
import { drawRefusal } from './simulate-draw.ts';

/**
 * Draws now what consumers have used but the node has not drawn yet (`AttributionSettlement.fund`)
 * where waiting for the next epoch could lose it: a pending escrow withdrawal (it could unlock
 * first and take back money for answers already served), or an authorisation within
 * {@link SERVE_MARGIN_SECONDS} of its expiry (the node no longer serves against it; after expiry it
 * could not be drawn). The receipts are settled by a later epoch as usual (their draw is then
 * already done). Returns the OPEN drawn.
 *
 * @example
 * await drawEarly(node, console.log);
 */
export async function drawEarly(node: SettlementNode, log: (line: string) => void = () => {}): Promise<bigint> {
  const operator = node.clients.account.address;
  const escrow = node.contracts.inferenceEscrow.read;
  const now = (await node.clients.publicClient.getBlock({ blockTag: 'latest' })).timestamp;
  const draws = [];
  for (const consumer of await consumersOwing(node.db)) {
    const [withdrawal, auth] = await Promise.all([escrow.withdrawalOf([consumer]), latestAuthorization(node.db, consumer)]);
    if (!auth || auth.auth.expiry <= now + 60n) continue;
    if (withdrawal.amount === 0n && auth.auth.expiry > now + SERVE_MARGIN_SECONDS) continue;
    const [spent, drawn, balance] = await Promise.all([consumerSpend(node.db, consumer), escrow.drawn([consumer, operator]), escrow.balanceOf([consumer])]);
    let drawTo = spent < auth.auth.cumulativeAmount ? spent : auth.auth.cumulativeAmount;
    if (drawTo - drawn > balance) drawTo = drawn + balance;
    if (drawTo <= drawn) continue;
    const refusal = await drawRefusal(node, { auth: auth.auth, signature: auth.signature, drawTo });
    if (refusal) {
      log(`settlement: drawing ${consumer}'s served usage early would revert (${refusal}); left for the epoch`);
      continue;
    }
    draws.push({ auth: auth.auth, signature: auth.signature, drawTo, amount: drawTo - drawn });
  }
  if (draws.length === 0) return 0n;
  const hash = await node.contracts.attributionSettlement.write.fund([draws.map(({ auth, signature, drawTo }) => ({ auth, signature, drawTo }))]);
  await node.clients.publicClient.waitForTransactionReceipt({ hash });
  const total = draws.reduce((n, d) => n + d.amount, 0n);
  log(`settlement: drew ${formatEther(total)} OPEN of served usage from ${draws.length} consumer${draws.length === 1 ? '' : 's'} before a withdrawal or an expiry`);
  return total;
}
