-- What a background worker could not finish (a recovery item, a datanet's anchoring): recorded on
-- the item, retried with backoff, never holding up the other items or the node's start-up.
create table worker_failures (
  item text primary key,
  attempts integer not null,
  last_error text not null,
  failed_at timestamptz not null default now(),
  next_attempt_at timestamptz not null
);
