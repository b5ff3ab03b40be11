-- Skill calls (settlement/skill-calls.ts): every paid call of a skill as its agent signed it, with
-- the terms its price was split by, in trees under the consumer's call that paid them all. The
-- consumer's call is charged like a receipt (a `call` row in settlement_receipts, its price drawn
-- from the consumer's escrow); the calls under it and the inferences they ran are paid from its
-- price. An inference is paid by one call only: its receipt id is the key of skill_call_inferences.
alter table settlement_receipts add column kind text not null default 'receipt' check (kind in ('receipt', 'call'));

create table skill_calls (
  call_id             text primary key,
  parent_call_id      text not null,            -- zero for the consumer's call
  skill               text not null,
  agent               text not null,            -- checksummed; signs the call, is paid its margin
  payer               text not null,
  price               numeric(78, 0) not null,  -- wei of OPEN
  input_hash          text not null,
  output_hash         text not null,
  inference_receipts  jsonb not null,           -- receipt ids, in the signed order
  children            jsonb not null,           -- call ids, in the signed order
  signature           text not null,            -- EIP-712 SkillCall for the agent (its key, or its account's session key)
  block               numeric(78, 0) not null,  -- the block the signature was checked at
  terms               jsonb not null,           -- data royalty and upstream skills' royalties
  input               text not null,            -- what the call was given (input_hash is its keccak256)
  output              text not null,            -- what it answered (output_hash): validators re-run calls from these
  created_at          timestamptz not null default now()
);
create index skill_calls_parent on skill_calls (parent_call_id);  -- a tree is found down its parent links

-- which call paid each inference run for a call (the meter refuses a second)
create table skill_call_inferences (
  receipt_id  text primary key,
  call_id     text not null,
  fee         numeric(78, 0) not null,
  created_at  timestamptz not null default now()
);
create index skill_call_inferences_call on skill_call_inferences (call_id);

-- what a call's price pays besides the inference fees it carries
alter table epoch_credits drop constraint epoch_credits_role_check;
alter table epoch_credits add constraint epoch_credits_role_check check (role in (
  'model_owner', 'datanet_owner', 'datanet_pool', 'contributor', 'staker', 'protocol', 'skill_agent', 'skill_upstream', 'data_royalty'));

-- x402 payments of the escrow scheme (settlement/x402-facilitator.ts): one authorisation pays one
-- request (a replay, for the same resource or another, finds its nonce taken); what it charged.
create table x402_payments (
  consumer    text not null,
  nonce       numeric(78, 0) not null,
  resource    text not null,
  max_amount  numeric(78, 0) not null,
  charge_id   text,                         -- the receipt or consumer's call charged for it
  amount      numeric(78, 0),               -- what it charged (wei)
  created_at  timestamptz not null default now(),
  primary key (consumer, nonce)
);

-- the root of the skill calls an epoch settled, posted to SkillCallRoots after the epoch (once, across crashes)
alter table settlement_epochs add column call_root text;
alter table settlement_epochs add column call_root_sent_from_block numeric(78, 0);
alter table settlement_epochs add column call_root_tx text;
