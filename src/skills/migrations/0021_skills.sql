-- The agents this node runs and the skills they sell (skills/agents.ts, skills/skill-store.ts).
-- An agent signs its calls with a key the node holds for it (`signing_key`): the key its owner's
-- account accepts (the account itself for now; a session key of its ERC-6551 treasury next).
create table agents (
  address      text primary key,            -- checksummed: signs and is paid
  name         text not null unique,
  owner        text not null,               -- who created it (checksummed)
  signing_key  text not null,               -- hex private key, never served
  created_at   timestamptz not null default now()
);

-- A skill as listed here: the folder's files (what its id hashes), re-read on load.
create table skills (
  skill_id    text primary key,             -- keccak256 of the folder's canonical file list
  name        text not null,
  agent       text not null references agents (address),
  files       jsonb not null,               -- [{ path, base64 }]
  created_at  timestamptz not null default now()
);
create index skills_agent on skills (agent);
