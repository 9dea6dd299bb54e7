-- postings
create table posting (id bigserial primary key, account_id bigint references account(id), amount numeric(18,4));
