-- Settlement: consumers' standing spend authorisations, the fee of each receipt and the epoch that
-- paid it, the epochs this node posted (with their inputs, so anyone can recompute them) and the
-- credits each payee earned in each epoch (for per-datanet / per-model reward views).

create table spend_authorizations (
  consumer           text primary key,          -- checksummed address
  operator           text not null,
  cumulative_amount  numeric(78, 0) not null,   -- cap on the consumer's cumulative spend (wei)
  nonce              numeric(78, 0) not null,
  expiry             numeric(78, 0) not null,   -- unix seconds
  signature          text not null,             -- EIP-712, checked on arrival
  received_at        timestamptz not null default now()
);

alter table attribution_receipts add column fee numeric(78, 0) not null default 0;
update attribution_receipts set fee = (body -> 'fee' ->> 'amount')::numeric;
alter table attribution_receipts add column epoch integer;  -- the settlement epoch paying it
create index attribution_receipts_unsettled on attribution_receipts (created_at) where epoch is null;
create index attribution_receipts_consumer on attribution_receipts (consumer);

create table settlement_epochs (
  epoch             integer primary key,        -- AttributionSettlement epoch number
  status            text not null check (status in ('prepared', 'posted', 'reverted')),
  root              text not null,
  cumulative_total  numeric(78, 0) not null,
  inputs_hash       text not null,              -- keccak256 of the canonical inputs
  inputs            jsonb not null,             -- receipt ids, stakers, draws
  leaves            jsonb not null,             -- [[payee, cumulative amount], …]
  sent_from_block   numeric(78, 0),             -- chain head before posting (send-once)
  tx_hash           text,
  created_at        timestamptz not null default now(),
  posted_at         timestamptz
);

create table epoch_credits (
  epoch       integer not null references settlement_epochs (epoch),
  payee       text not null,
  role        text not null check (role in ('model_owner', 'datanet_owner', 'contributor', 'staker')),
  model_name  text not null default '',         -- '' for stakers
  datanet_id  bigint not null default 0,        -- 0 where no datanet is concerned
  amount      numeric(78, 0) not null,
  primary key (epoch, payee, role, model_name, datanet_id)
);
create index epoch_credits_payee on epoch_credits (payee);
