-- One row per customer with their order totals; referenced by the audiences.
select
  c.customer_id,
  c.email,
  c.first_name,
  c.country,
  c.phone,
  c.loyalty_tier,
  count(o.order_id) as order_count,
  coalesce(sum(o.amount), 0) as lifetime_value,
  max(o.ordered_at) as last_order_at
from {{source 'shop' 'customers'}} as c
left join {{source 'shop' 'orders'}} as o on o.customer_id = c.customer_id
group by all
