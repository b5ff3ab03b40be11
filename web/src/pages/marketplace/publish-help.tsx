import { Card } from '../../components/states.tsx';

/**
 * How to sell here: agents and skills are published with the CLI (as their owner, who signs on chain
 * and to the node), not from the browser.
 */
export function PublishHelp({ agent }: { agent?: string }) {
  const name = agent ?? '<name>';
  return (
    <Card title="Sell a skill">
      <p>Agents and skills are published with the command line, as their owner (publishing from the browser is not supported yet):</p>
      <pre className="code-block" data-testid="publish-commands">{[
        ...(agent ? [] : [`openledger agent create ${name}`, '    # registers an ERC-8004 agent you own, has this node run it and grants the node a session key to sign its calls']),
        `openledger skill publish <folder> --agent ${name}`,
        '    # lists an Agent Skills folder (SKILL.md, workflow.json, tool.json) and bonds it in the SkillRegistry',
      ].join('\n')}</pre>
      <p className="empty">Both take <code>--api</code> (this node) and <code>--key</code> or <code>--account</code> (who signs). The price, models, datanets, data royalty and upstream skills are the <code>openledger-*</code> metadata of the folder’s SKILL.md.</p>
    </Card>
  );
}
