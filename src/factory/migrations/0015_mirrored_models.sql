-- Models this node serves that another node trained and published: fetched by the hashes the
-- ModelRegistry holds (the metadata document its URI names, the adapter's hash of its latest
-- version) from peers' public blobs, each checked against its hash. Owner, price and active flag
-- come from the chain (models_on_chain), as for the node's own models.
create table mirrored_models (
  chain_id             bigint not null,
  model_id             numeric(78, 0) not null,
  name                 text not null,
  version              integer not null,         -- the ModelRegistry version mirrored
  base_model_id        text not null,
  adapter_hash         text not null,            -- the adapter's weights blob, = the version's adapterHash
  adapter_config_blob  text not null,
  trace_blob           text not null,
  metadata_blob        text not null,            -- the model's metadata document, named by its metadataURI
  mirrored_at          timestamptz not null default now(),
  primary key (chain_id, model_id)
);
