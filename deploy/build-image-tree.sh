#!/bin/sh
# The build steps of the container image, in one place: deploy/Dockerfile runs them (in /app
# of its build stage), and test/container-image.test.ts runs the same steps in a clean copy
# of the repository, so what the test checks is what the image holds.
#
#   fetch   the lockfile's packages into pnpm's store and node_modules/.pnpm. Needs only
#           pnpm-lock.yaml, pnpm-workspace.yaml and patches/ (its patchedDependencies), so
#           Docker reuses this layer until the lockfile changes.
#   build   frozen install of every dependency (dev ones too: tsc), then `pnpm build`, which
#           compiles each package and service to its dist/ and bundles the web console
#           (packages/admin/console, Preact) into packages/admin/console-dist/.
#   prune   production dependencies only, and no sources: node_modules is installed afresh
#           from the store (no network) with just the dependencies of the programs, then
#           src/, tests and build leftovers go.
set -eu

case "${1:-}" in
  fetch)
    pnpm fetch --prefer-offline
    ;;
  build)
    pnpm install --frozen-lockfile --offline
    pnpm build
    ;;
  prune)
    # An in-place `pnpm install --prod` unlinks the dev dependencies but leaves them in
    # node_modules/.pnpm (where every package could still import them); a fresh install
    # leaves nothing behind.
    find . -name node_modules -type d -prune -exec rm -rf {} +
    # Only what the programs need: every service (the standalone too), the `tegami` CLI and
    # what they depend on. --filter-prod follows `dependencies` alone; a plain `--prod` would
    # still install the dependencies of @tegami/testing (a workspace project of its own, only
    # ever a devDependency): testcontainers and a Docker client among them.
    pnpm install --prod --frozen-lockfile --offline \
      --filter-prod '{services/*}...' --filter-prod '@tegami/cli...'
    rm -rf packages/testing packages/*/src services/*/src services/*/test
    # The console's TSX sources: the image serves only what they were bundled into (console-dist).
    rm -rf packages/admin/console
    find packages services -name '*.tsbuildinfo' -type f -delete
    # `tegami` on the PATH in the image is a link to this file (it starts with #!/usr/bin/env node).
    chmod 755 packages/cli/dist/main.js
    ;;
  *)
    echo "usage: $0 fetch|build|prune" >&2
    exit 2
    ;;
esac
