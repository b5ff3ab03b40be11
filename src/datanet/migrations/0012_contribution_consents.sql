-- A contributor's signed consent to a set of contributions (EIP-712 Contributions(datanetId, root)
-- over the Merkle root of their content hashes): the evidence a spam slash needs on chain.
create table contribution_consents (
  id            bigserial primary key,
  datanet_id    bigint not null references datanets (id),
  contributor   text not null,
  root          text not null,
  signature     text not null,
  leaves_blob   text,               -- the signed content hashes (32 bytes each), once read and checked
  created_at    timestamptz not null default now()
);
alter table uploads add column consent_id bigint references contribution_consents (id);
alter table contributions add column consent_id bigint references contribution_consents (id);
