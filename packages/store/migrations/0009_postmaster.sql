-- RFC 5321 §4.5.1: every local domain must take mail for postmaster. From now on the
-- first user added to a domain becomes its postmaster, through the alias
-- postmaster@<domain> (so `tegami alias` shows and changes it). Domains that already have
-- users but no postmaster account or alias get one to their first user.
INSERT INTO aliases (domain_id, address, destination)
SELECT d.id, 'postmaster@' || d.name, first_user.address
  FROM domains d
  JOIN LATERAL (SELECT a.address FROM accounts a
                 WHERE a.domain_id = d.id AND NOT a.disabled
                 ORDER BY a.id LIMIT 1) first_user ON true
 WHERE NOT EXISTS (SELECT 1 FROM accounts a WHERE a.address = 'postmaster@' || d.name)
   AND NOT EXISTS (SELECT 1 FROM aliases x WHERE x.address = 'postmaster@' || d.name);
