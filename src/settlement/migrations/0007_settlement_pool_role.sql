-- Attribution v2: a receipt whose evidence is under the governance threshold credits no
-- contribution; the contributors' share goes to the datanets' pools (held by each datanet's owner).
alter table epoch_credits drop constraint epoch_credits_role_check;
alter table epoch_credits add constraint epoch_credits_role_check check (role in ('model_owner', 'datanet_owner', 'datanet_pool', 'contributor', 'staker'));
