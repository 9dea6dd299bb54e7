-- initial schema
create table account (id bigserial primary key, iban text not null);
