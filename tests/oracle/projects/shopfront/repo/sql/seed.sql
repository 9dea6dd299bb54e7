insert into product (sku, price_cents) values ('MUG-01', 1200), ('TEE-02', 2500);
