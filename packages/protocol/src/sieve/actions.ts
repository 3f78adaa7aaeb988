// The actions a run collects (RFC 5228 §4, §2.10.2-§2.10.4): duplicates merged (two
// fileinto of one mailbox are one delivery, with the flags of the last, as Pigeonhole
// stores it; keep and fileinto "INBOX" too), the implicit
// keep cancelled by the actions that deliver elsewhere or refuse, the conflicts Pigeonhole
// refuses (reject with anything that delivers, RFC 5429 §2.3; two rejects; two vacations;
// vacation with reject) and the limits on redirects and actions.

import {
  type SieveAction,
  SieveError,
  type SieveFlags,
  type SourcePosition,
  type VacationAction,
} from './types.js';

type Action = SieveAction;

/** IMAP INBOX is case-insensitive (RFC 3501 §5.1); other names compare exactly. */
function sameMailbox(a: string, b: string): boolean {
  return a === b || (a.toUpperCase() === 'INBOX' && b.toUpperCase() === 'INBOX');
}

/** Local parts are case-sensitive, domains not (RFC 5321 §2.4), as Pigeonhole compares redirects. */
function sameAddress(a: string, b: string): boolean {
  const split = (address: string): [string, string] => {
    const at = address.lastIndexOf('@');
    return at < 0 ? [address, ''] : [address.slice(0, at), address.slice(at + 1).toLowerCase()];
  };
  const [la, da] = split(a);
  const [lb, db] = split(b);
  return la === lb && da === db;
}

/** The union of two flag lists: system flags (`\Seen`) case-insensitively, as written first. */
export function mergeFlags(a: SieveFlags, b: SieveFlags): SieveFlags {
  if (a === null) return b;
  if (b === null) return a;
  const out = [...a];
  for (const flag of b) if (!out.some((have) => have.toLowerCase() === flag.toLowerCase())) out.push(flag);
  return out;
}

interface Entry {
  action: Action;
  readonly position: SourcePosition | null;
}

function describe(action: Action): string {
  switch (action.type) {
    case 'keep':
    case 'fileinto':
      return 'store';
    default:
      return action.type;
  }
}

function deliversMessage(action: Action): boolean {
  return action.type === 'keep' || action.type === 'fileinto' || action.type === 'redirect';
}

export class ActionList {
  private readonly entries: Entry[] = [];
  private redirects = 0;
  /** RFC 5228 §2.10.2: the implicit keep stands until an action cancels it. */
  implicitKeep = true;

  constructor(
    private readonly maxActions: number,
    private readonly maxRedirects: number,
  ) {}

  private find(predicate: (action: Action) => boolean): Entry | undefined {
    return this.entries.find((entry) => predicate(entry.action));
  }

  private push(action: Action, position: SourcePosition | null): void {
    if (this.entries.length >= this.maxActions) {
      throw new SieveError(`total number of actions exceeds policy limit (${this.maxActions})`, position);
    }
    const reject = this.find((other) => other.type === 'reject');
    if (reject !== undefined && deliversMessage(action)) {
      throw new SieveError(
        `reject/ereject action conflicts with other action: the ${describe(action)} action tries to deliver the message`,
        position,
      );
    }
    this.entries.push({ action, position });
  }

  /**
   * keep, or fileinto: one delivery per mailbox. A second store into a mailbox replaces the
   * first one's flags with its own (RFC 5232 §5 gives each store its flags and leaves the
   * merge open; Pigeonhole keeps the last), the internal variable when it has no :flags.
   */
  store(
    mailbox: string | null,
    flags: SieveFlags,
    options: { copy: boolean; create: boolean },
    position: SourcePosition | null,
  ): void {
    if (!options.copy) this.implicitKeep = false;
    const target = mailbox ?? 'INBOX';
    const existing = this.find(
      (action) =>
        (action.type === 'keep' && sameMailbox('INBOX', target)) ||
        (action.type === 'fileinto' && sameMailbox(action.mailbox, target)),
    );
    if (existing !== undefined) {
      const action = existing.action;
      if (action.type === 'keep') existing.action = { ...action, flags };
      else if (action.type === 'fileinto') {
        existing.action = {
          ...action,
          flags,
          create: action.create || options.create,
          copy: action.copy && options.copy,
        };
      }
      return;
    }
    if (mailbox === null) this.push({ type: 'keep', flags, implicit: false }, position);
    else
      this.push({ type: 'fileinto', mailbox, flags, create: options.create, copy: options.copy }, position);
  }

  redirect(address: string, copy: boolean, position: SourcePosition | null): void {
    if (!copy) this.implicitKeep = false;
    const existing = this.find(
      (action) => action.type === 'redirect' && sameAddress(action.address, address),
    );
    if (existing !== undefined) return;
    if (++this.redirects > this.maxRedirects) {
      throw new SieveError(
        `number of redirect actions exceeds policy limit (${this.redirects} > ${this.maxRedirects})`,
        position,
      );
    }
    this.push({ type: 'redirect', address, copy }, position);
  }

  discard(position: SourcePosition | null): void {
    this.implicitKeep = false;
    if (this.find((action) => action.type === 'discard') === undefined)
      this.push({ type: 'discard' }, position);
  }

  reject(reason: string, extended: boolean, position: SourcePosition | null): void {
    if (this.find((action) => action.type === 'reject') !== undefined) {
      throw new SieveError('duplicate reject/ereject action not allowed', position);
    }
    if (this.find((action) => action.type === 'vacation') !== undefined) {
      throw new SieveError(
        'reject/ereject action conflicts with other action: the vacation action also sends a response back to the sender',
        position,
      );
    }
    const delivering = this.find(deliversMessage);
    if (delivering !== undefined) {
      throw new SieveError(
        `reject/ereject action conflicts with other action: the ${describe(delivering.action)} action tries to deliver the message`,
        position,
      );
    }
    this.implicitKeep = false;
    this.push({ type: 'reject', reason, extended }, position);
  }

  /** Whether a vacation is already there (RFC 5230: one per run). */
  vacation(action: VacationAction | null, position: SourcePosition | null): void {
    if (this.find((other) => other.type === 'vacation') !== undefined || this.vacationSeen) {
      throw new SieveError('duplicate vacation action not allowed', position);
    }
    if (this.find((other) => other.type === 'reject') !== undefined) {
      throw new SieveError(
        'vacation action conflicts with other action: the reject action also sends a response back to the sender',
        position,
      );
    }
    this.vacationSeen = true;
    if (action !== null) this.push(action, position);
  }

  private vacationSeen = false;

  notify(action: Extract<SieveAction, { type: 'notify' }>, position: SourcePosition | null): void {
    const same = this.find((other) => other.type === 'notify' && other.method === action.method);
    if (same !== undefined) return;
    this.push(action, position);
  }

  /** The final list: script order, the implicit keep last when it stands (RFC 5228 §2.10.2). */
  finish(implicitFlags: SieveFlags): SieveAction[] {
    const actions = this.entries.map((entry) => entry.action);
    if (!this.implicitKeep) return actions;
    const inbox = this.entries.find(
      (entry) =>
        entry.action.type === 'keep' ||
        (entry.action.type === 'fileinto' && sameMailbox(entry.action.mailbox, 'INBOX')),
    );
    if (inbox !== undefined) {
      // fileinto :copy "INBOX" and the implicit keep are one delivery.
      const action = inbox.action;
      if (action.type === 'keep' || action.type === 'fileinto') {
        const merged = { ...action, flags: mergeFlags(action.flags, implicitFlags) };
        return actions.map((a) => (a === action ? merged : a));
      }
    }
    actions.push({ type: 'keep', flags: implicitFlags, implicit: true });
    return actions;
  }
}
