-- REQUIRETLS (RFC 8689). `require_tls`: the message came with the REQUIRETLS MAIL FROM
-- parameter (§4.1), so it leaves only over TLS to an authenticated MX host that offers
-- REQUIRETLS, or not at all (§4.2.1); its delivery status notifications carry the tag too
-- and return headers only (§5). `tls_required_no`: its header said "TLS-Required: No"
-- (§3, ignored when REQUIRETLS was given), so MTA-STS and DANE failures do not stop it.
ALTER TABLE queue ADD COLUMN require_tls boolean NOT NULL DEFAULT false;
ALTER TABLE queue ADD COLUMN tls_required_no boolean NOT NULL DEFAULT false;
ALTER TABLE queue ADD CONSTRAINT queue_requiretls_or_tls_optional CHECK (NOT (require_tls AND tls_required_no));
