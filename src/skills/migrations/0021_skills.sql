-- The agents this node runs and the skills they sell (skills/agents.ts, skills/skill-store.ts).
-- An agent is an ERC-8004 identity (its token in the AgentRegistry) whose ERC-6551 account is its
-- treasury; the node signs its calls with a session key the owner grants on that account.
create table agents (
  name         text primary key,
  agent_id     numeric(78, 0) not null unique, -- the token in the AgentRegistry
  account      text not null unique,           -- checksummed ERC-6551 account: signed for, and paid
  owner        text not null,                  -- the token's owner when the node took it on
  session_key  text not null,                  -- the key's address
  signing_key  text not null,                  -- its private key, never served
  created_at   timestamptz not null default now()
);

-- A skill as listed here: the folder's files (what its id hashes), re-read on load.
create table skills (
  skill_id    text primary key,                -- keccak256 of the folder's canonical file list
  name        text not null,
  agent       text not null references agents (account),
  files       jsonb not null,                  -- [{ path, base64 }]
  created_at  timestamptz not null default now()
);
create index skills_agent on skills (agent);
