-- Actions a caller made the node pay gas for (registering a datanet, anchoring, recording a
-- snapshot, slashing), kept for a day: each caller has a daily allowance of each.
create table caller_actions (
  caller  text not null,
  action  text not null,
  at      timestamptz not null default now()
);
create index caller_actions_by_caller on caller_actions (action, lower(caller), at);
