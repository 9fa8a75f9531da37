-- Customers who opted in to email and have not revoked it.
select c.customer_id, c.email, c.country, c.phone
from {{source 'shop' 'customers'}} as c
join {{source 'shop' 'consents'}} as k on k.customer_id = c.customer_id
where {{has_consent 'k.email_opt_in' 'k.revoked_at'}}
