import type { ManageSieveScripts } from '@tegami/protocol';
import {
  activateSieveScript,
  deleteSieveScript,
  getGlobalSieveScript,
  getSieveScript,
  listSieveScripts,
  putSieveScript,
  renameSieveScript,
  type SieveScriptLimits,
  sieveScriptSpace,
} from '@tegami/store';
import type pg from 'pg';

/** One user's Sieve scripts in Postgres, as the ManageSieve engine is lent them. */
export function postgresSieveScripts(
  pool: pg.Pool,
  accountId: string,
  limits: SieveScriptLimits,
): ManageSieveScripts {
  return {
    list: () => listSieveScripts(pool, accountId),
    get: async (name) => (await getSieveScript(pool, accountId, name))?.content,
    async haveSpace(name, bytes) {
      const space = await sieveScriptSpace(pool, accountId, name, bytes, limits);
      return space.kind === 'ok' ? 'ok' : space.limit;
    },
    async put(name, content) {
      const stored = await putSieveScript(pool, accountId, name, content, limits);
      return stored.kind === 'stored' ? 'ok' : stored.limit;
    },
    activate: (name) => activateSieveScript(pool, accountId, name),
    delete: (name) => deleteSieveScript(pool, accountId, name),
    rename: (oldName, newName) => renameSieveScript(pool, accountId, oldName, newName),
    globalExists: async (name) => (await getGlobalSieveScript(pool, name)) !== undefined,
  };
}
