-- Chain layer: deployment progress and indexed protocol events.

create table deployment_steps (
  chain_id    bigint not null,
  name        text not null,
  status      text not null check (status in ('pending', 'done')),
  address     text,
  tx_hash     text,
  updated_at  timestamptz not null default now(),
  primary key (chain_id, name)
);

create table chain_events (
  id            bigserial primary key,
  chain_id      bigint not null,
  block_number  bigint not null,
  block_hash    text not null,
  tx_hash       text not null,
  log_index     integer not null,
  contract      text not null,
  address       text not null,
  event         text not null,
  args          jsonb not null,
  unique (chain_id, tx_hash, log_index)
);
create index chain_events_by_event on chain_events (chain_id, contract, event, block_number);
create index chain_events_by_block on chain_events (chain_id, block_number);

create table indexer_cursors (
  chain_id      bigint not null,
  name          text not null,
  block_number  bigint not null,
  block_hash    text not null,
  updated_at    timestamptz not null default now(),
  primary key (chain_id, name)
);
