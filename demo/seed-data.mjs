// Sample shop data for the demo, in the embedded DuckDB file. The first call
// creates it; every later call moves time on a little (new customers and
// orders, a few unsubscribes and tier changes), so each demo run has a delta.
import { DuckDBInstance } from '@duckdb/node-api';

const CUSTOMERS = 20_000;

export async function seed(file) {
  const db = await DuckDBInstance.create(file);
  const c = await db.connect();
  try {
    await c.run('create schema if not exists shop');
    const exists = (await c.runAndReadAll(`select count(*)::int n from information_schema.tables where table_schema = 'shop' and table_name = 'customers'`)).getRowObjectsJson()[0].n > 0;
    if (!exists) {
      await c.run(`create table shop.customers as
        select i as customer_id,
          'Customer.' || i || '@Example.com ' as email,
          (['Ada','Grace','Linus','Margaret','Alan','Barbara','Edsger','Frances'])[1 + i % 8] as first_name,
          (['US','DE','FR','GB','BR','JP'])[1 + i % 6] as country,
          '+1 (555) ' || lpad(cast(i % 10000 as varchar), 4, '0') as phone,
          (['bronze','silver','gold'])[1 + (hash(i) % 3)::int] as loyalty_tier
        from range(1, ${CUSTOMERS} + 1) t(i)`);
      await c.run(`create table shop.orders as
        select row_number() over () as order_id, customer_id,
          round(20 + (hash(customer_id * 31 + n) % 400), 2) as amount,
          now() - to_days(cast(hash(customer_id * 7 + n) % 500 as integer)) as ordered_at
        from shop.customers, range(0, 1 + (customer_id % 7)) r(n)`);
      await c.run(`create table shop.consents as
        select customer_id, (hash(customer_id) % 10) < 7 as email_opt_in, cast(null as timestamptz) as revoked_at
        from shop.customers`);
      await c.run(`create table shop.demo_clock as select 0 as tick`);
      return 'created';
    }
    await c.run('update shop.demo_clock set tick = tick + 1');
    const tick = (await c.runAndReadAll('select tick from shop.demo_clock')).getRowObjectsJson()[0].tick;
    const base = CUSTOMERS + Number(tick) * 200;
    // New customers with big first orders, fresh orders, tier changes and unsubscribes.
    await c.run(`insert into shop.customers select i, 'new.' || i || '@example.com', 'Nova', 'US', '+1 555 ' || i, 'silver' from range(${base + 1}, ${base + 201}) t(i)`);
    await c.run(`insert into shop.orders select (select max(order_id) from shop.orders) + i - ${base}, i, 1500, now() from range(${base + 1}, ${base + 201}) t(i)`);
    await c.run(`insert into shop.consents select i, true, null from range(${base + 1}, ${base + 201}) t(i)`);
    await c.run(`update shop.customers set loyalty_tier = 'gold' where customer_id % 97 = ${Number(tick) % 97}`);
    await c.run(`update shop.consents set revoked_at = now() where customer_id % 89 = ${Number(tick) % 89} and revoked_at is null`);
    await c.run(`delete from shop.orders where customer_id % 113 = ${Number(tick) % 113}`);
    return `advanced to tick ${tick}`;
  } finally {
    c.closeSync();
    db.closeSync();
  }
}
