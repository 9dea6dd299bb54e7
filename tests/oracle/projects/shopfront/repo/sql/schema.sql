create table product (id serial primary key, sku text not null unique, price_cents integer not null);
create table cart_item (cart_id uuid not null, product_id integer references product(id), qty integer not null);
