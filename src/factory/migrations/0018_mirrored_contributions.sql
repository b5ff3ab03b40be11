-- Who contributed each example a mirrored model was trained on: from the model's contributions
-- document (named by hash in its metadata), each id checked as keccak256(abi.encode(contentHash,
-- contributor)), so a mirroring node settles its receipts to the same contributors as the node that
-- trained it, without the datanet's records.
create table mirrored_contributions (
  chain_id         bigint not null,
  model_id         numeric(78, 0) not null,
  contribution_id  text not null,
  content_hash     text not null,
  contributor      text not null,
  primary key (chain_id, model_id, contribution_id)
);
create index mirrored_contributions_id on mirrored_contributions (contribution_id);
