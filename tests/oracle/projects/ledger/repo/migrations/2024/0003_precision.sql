-- 2024 currency precision
alter table posting alter column amount type numeric(20,6);
