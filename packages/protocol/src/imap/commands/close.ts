// CLOSE (RFC 3501 §6.4.2: expunges silently) and UNSELECT (RFC 3691: does not).

import { defineCommand, ok, SELECTED } from './command-spec.js';

function closeCommand(name: 'CLOSE' | 'UNSELECT') {
  const expunge = name === 'CLOSE';
  return defineCommand({
    name,
    states: SELECTED,
    ...(!expunge && {
      capabilities: (view) => ({ now: view.state === 'not-authenticated' ? [] : ['UNSELECT'] }),
    }),
    parse: () => undefined,
    async handle(_request, context) {
      const selected = context.selected!;
      // Without the `e` right (RFC 4314 §4) CLOSE only closes.
      if (
        expunge &&
        !selected.readOnly &&
        selected.exists > 0 &&
        (selected.box.rights?.includes('e') ?? true)
      )
        await selected.box.expunge([...selected.allUids()]);
      context.select(undefined);
      return ok(`${name} completed`);
    },
  });
}

export const close = closeCommand('CLOSE');
export const unselect = closeCommand('UNSELECT');
