// Preload: counts the SQL statements this process sends, printed on SIGUSR2 (and reset).
import { createRequire } from 'node:module';

const require = createRequire(process.env.COUNT_SQL_FROM);
const pg = require('pg');
let n = 0;
const by = new Map();
const orig = pg.Client.prototype.query;
pg.Client.prototype.query = function (config, ...rest) {
  n++;
  const text = typeof config === 'string' ? config : (config?.text ?? '?');
  const key = text.replace(/\s+/g, ' ').slice(0, 60);
  by.set(key, (by.get(key) ?? 0) + 1);
  return orig.call(this, config, ...rest);
};
process.on('SIGUSR2', () => {
  process.stderr.write(`SQLCOUNT ${n} ${JSON.stringify([...by].sort((a, b) => b[1] - a[1]).slice(0, 12))}\n`);
  n = 0;
  by.clear();
});
