-- The ModelRegistry's view of each registered model, projected from its events by the indexer:
-- who owns it now, its price and whether it is still active. The node serves and pays by these,
-- whoever changed them on chain.
create table models_on_chain (
  chain_id     bigint not null,
  model_id     numeric(78, 0) not null,
  owner        text not null,
  price_per_1k numeric(78, 0) not null,
  active       boolean not null,
  primary key (chain_id, model_id)
);
