// What an interrupted chaos run must not leave behind: nine detached Tegami processes, a
// Postgres cluster and a NATS server. The run's own cleanup handles a normal end; these
// run synchronously on the process's 'exit' (run.ts turns SIGINT and SIGTERM into one).

const actions = new Set<() => void>();
let installed = false;

/** Registers a synchronous last-resort cleanup; the returned function unregisters it. */
export function onLastResort(action: () => void): () => void {
  if (!installed) {
    installed = true;
    process.on('exit', () => {
      for (const a of actions) {
        try {
          a();
        } catch {}
      }
    });
  }
  actions.add(action);
  return () => actions.delete(action);
}

/** SIGKILL to a detached child's whole process group, if it is still there. */
export function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {}
}
