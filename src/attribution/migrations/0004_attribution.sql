-- Proof of Attribution: one signed receipt per inference, stored before the answer is returned,
-- and the contributions it credits (what settlement aggregates).

create table attribution_receipts (
  id              text primary key,          -- keccak256 of the canonical receipt body
  model_id        numeric(78, 0),            -- ModelRegistry id
  model_name      text not null,
  consumer        text,                      -- who asked (address)
  prompt          text not null,             -- kept so the receipt can be recomputed
  output          text not null,
  body            jsonb not null,            -- the signed receipt body
  signature       text not null,             -- the node's EIP-191 signature of the id
  created_at      timestamptz not null default now()
);
create index attribution_receipts_model on attribution_receipts (model_name, created_at);

create table receipt_contributions (
  receipt_id       text not null references attribution_receipts (id),
  contribution_id  text not null,
  datanet_id       bigint not null,
  share_ppm        integer not null check (share_ppm > 0 and share_ppm <= 1000000),
  primary key (receipt_id, contribution_id)
);
create index receipt_contributions_contribution on receipt_contributions (contribution_id);
