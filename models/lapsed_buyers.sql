-- Bought before, but not in the last lapsed_after_days days (win-back campaigns).
select customer_id, email, first_name, last_order_at
from {{ref 'customer_orders'}} as co
where order_count > 0
  and {{older_than_days 'last_order_at' 90}}
