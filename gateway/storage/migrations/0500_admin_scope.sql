-- The admin scope is what makes an admin key (POST/PATCH /admin/keys): keys made admin without it (by the
-- CLI's --admin before it added the scope) get it, so that a later PATCH of their scopes keeps them admin.
UPDATE api_keys SET scopes = array_append(scopes, 'admin'), updated_at = clock_timestamp()
WHERE is_admin AND NOT ('admin' = ANY (scopes));
