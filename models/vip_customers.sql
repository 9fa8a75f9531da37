-- Customers who spent at least vip_min_spend and ordered in the last year.
select customer_id, email, loyalty_tier, lifetime_value
from {{ref 'customer_orders'}} as co
where lifetime_value >= {{var 'vip_min_spend'}}
  and {{within_days 'last_order_at' 365}}
