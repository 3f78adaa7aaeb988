-- Delivery: what the delivery-worker and `tegami queue` / `tegami trace` need.

-- Mail is mostly base64 or already compressed: pglz spends CPU on every accepted message
-- for little gain. Store blobs out of line without compression.
ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;
