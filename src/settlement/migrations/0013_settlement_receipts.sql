-- Settlement's own ledger of the receipts it settles: each charged receipt's consumer and fee
-- (recorded by the meter in the receipt's own transaction) and the epoch that paid it. These were
-- columns settlement had added to attribution_receipts; they move here with their values, and
-- attribution's table is attribution's alone again.
create table settlement_receipts (
  receipt_id  text primary key,
  consumer    text,                        -- who pays (null: nobody could be charged)
  fee         numeric(78, 0) not null,     -- wei of OPEN
  created_at  timestamptz not null default now(),
  epoch       integer                      -- the settlement epoch paying it (null: not settled yet)
);
insert into settlement_receipts (receipt_id, consumer, fee, created_at, epoch)
  select id, consumer, fee, created_at, epoch from attribution_receipts;
create index settlement_receipts_unsettled on settlement_receipts (created_at, receipt_id) where epoch is null;
create index settlement_receipts_consumer on settlement_receipts (lower(consumer));

drop index attribution_receipts_unsettled;
drop index attribution_receipts_consumer;
alter table attribution_receipts drop column epoch;
alter table attribution_receipts drop column fee;
