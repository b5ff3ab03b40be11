-- What each request being served may still cost its consumer: the escrow meter reserves the most
-- a request can cost before it runs and deletes the reservation when its receipt is charged (in the
-- receipt's transaction) or the request ends. Kept in the store, under a per-consumer advisory lock,
-- so that every serving process of one operator sharing this store sees the others' reservations.
-- A process that dies leaves its reservations to expire.
create table meter_reservations (
  id          text primary key,
  consumer    text not null,            -- checksummed address
  amount      numeric(78, 0) not null,  -- wei
  expires_at  timestamptz not null
);
create index meter_reservations_consumer on meter_reservations (consumer);
