// The IMAP command table: every command the server knows, one module each (or one per
// small family: SELECT/EXAMINE, LIST/LSUB, COPY/MOVE, CLOSE/UNSELECT). The dispatcher
// derives from it the known-command list, CAPABILITY and the metric labels; adding a
// command is adding its module and a row here (docs/architecture/imap-commands.md).
//
// The order is CAPABILITY's order: atoms every state offers come first, in table order,
// then the atoms of the state asked about, in table order.

import { deleteacl, getacl, listrights, myrights, setacl } from './acl.js';
import { append } from './append.js';
import { authenticate } from './authenticate.js';
import { capability } from './capability.js';
import { close, unselect } from './close.js';
import type { ImapCommandEntry } from './command-spec.js';
import { compress } from './compress.js';
import { copy, move } from './copy.js';
import { create } from './create.js';
import { deleteCommand } from './delete.js';
import { enable } from './enable.js';
import { expunge } from './expunge.js';
import { fetch } from './fetch.js';
import { id } from './id.js';
import { idle } from './idle.js';
import { listMailboxes, lsub } from './list.js';
import { login } from './login.js';
import { logout } from './logout.js';
import { getmetadata, setmetadata } from './metadata.js';
import { namespace } from './namespace.js';
import { check, noop } from './noop.js';
import { notify } from './notify.js';
import { getquota, getquotaroot, setquota } from './quota.js';
import { rename } from './rename.js';
import { replace } from './replace.js';
import { search } from './search.js';
import { examine, select } from './select.js';
import { sort } from './sort.js';
import { starttls } from './starttls.js';
import { status } from './status.js';
import { store } from './store.js';
import { subscribe, unsubscribe } from './subscribe.js';
import { thread } from './thread.js';
import { unauthenticate } from './unauthenticate.js';

export const IMAP_COMMANDS: readonly ImapCommandEntry[] = [
  capability,
  noop,
  logout,
  starttls,
  login,
  authenticate,
  id,
  namespace,
  select,
  examine,
  create,
  deleteCommand,
  rename,
  subscribe,
  unsubscribe,
  status,
  check,
  close,
  unselect,
  expunge,
  copy,
  move,
  listMailboxes,
  lsub,
  search,
  sort,
  thread,
  fetch,
  store,
  append,
  replace,
  enable,
  idle,
  notify,
  getquota,
  getquotaroot,
  setquota,
  getmetadata,
  setmetadata,
  setacl,
  deleteacl,
  getacl,
  listrights,
  myrights,
  unauthenticate,
  compress,
];
