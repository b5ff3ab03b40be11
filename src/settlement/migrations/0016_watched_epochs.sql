-- What this node's watchtower checked: other operators' posted epochs, recomputed from the inputs
-- each serves at the URI it posted, and what it found (and disputed).
create table watched_epochs (
  chain_id    bigint not null,
  operator    text not null,
  epoch       integer not null,
  verdict     text not null check (verdict in ('ok', 'problems', 'disputed')),
  problems    jsonb not null default '[]',
  bond        numeric(78, 0),               -- OPEN bonded on a dispute
  checked_at  timestamptz not null default now(),
  primary key (chain_id, operator, epoch)
);
