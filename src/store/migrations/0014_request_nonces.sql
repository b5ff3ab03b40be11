-- The nonces of signed API requests (store/request-nonces.ts): the store's table, first created by
-- the datanet migration (0002) when signed requests were the datanet routes' alone. A database
-- from before has it already; a new one gets it here.
create table if not exists request_nonces (
  address     text not null,
  nonce       text not null,
  expires_at  timestamptz not null,
  primary key (address, nonce)
);
create index if not exists request_nonces_expiry on request_nonces (expires_at);
