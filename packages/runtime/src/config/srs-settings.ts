import { optional, path } from './read.js';

/** TEGAMI_SRS_SECRET_FILE, read alike by smtp-ingress, the delivery-worker and the standalone. */
export function srsSettings() {
  return {
    srsSecretFile: optional(path('TEGAMI_SRS_SECRET_FILE', { mustExist: 'file' })),
  };
}
