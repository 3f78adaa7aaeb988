import { spawnSync } from 'node:child_process';
import { helmBinary } from './helm-binary.js';

// `pnpm helm lint helm/tegami`, `pnpm helm template t helm/tegami`: the bundled helm binary.
const result = spawnSync(helmBinary(), process.argv.slice(2), { stdio: 'inherit' });
process.exit(result.status ?? 1);
