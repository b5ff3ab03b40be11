-- Inference requests a consumer sent with an Idempotency-Key: a retry with the same key is
-- answered from here, with the same receipt, instead of being generated and charged again. The row
-- is written in the transaction that stores the receipt and its charge, so one key is one receipt.
-- Keys are forgotten after a day (the receipts stay).

create table answered_requests (
  consumer     text not null,               -- checksummed address
  request_key  text not null,               -- the Idempotency-Key header
  request_hash text not null,               -- keccak256 of the request (model, prompt, sampling): a key reused for another request is refused
  receipt_id   text not null,
  answer       jsonb not null,              -- output, finish reason, spans and usage, as first answered
  created_at   timestamptz not null default now(),
  primary key (consumer, request_key)
);
