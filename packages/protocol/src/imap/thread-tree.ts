// The tree both THREAD algorithms build (RFC 5256 §4) and its wire form:
//
//   thread-data    = "THREAD" [SP 1*thread-list]
//   thread-list    = "(" (thread-members / thread-nested) ")"
//   thread-members = nz-number *(SP nz-number) [SP thread-nested]
//   thread-nested  = 2*thread-list
//
// A chain of single replies is one list ("(1 2 3)"); where a message has several children
// each child starts a nested list ("(1 (2)(3))"); a dummy (a message that is only
// referenced) has no number, so its children follow its parent's number or stand alone.
// Trees may be thousands deep (a long References chain), so nothing here recurses.

export interface ThreadNode<M> {
  /** Undefined: a dummy, a message known only from other messages' references. */
  message: M | undefined;
  children: ThreadNode<M>[];
}

/** `* THREAD …` with each message as `numberOf` gives it (sequence number or UID). */
export function formatThreadResponse<M>(roots: readonly ThreadNode<M>[], numberOf: (m: M) => number): string {
  const out: string[] = ['* THREAD'];
  if (roots.length > 0) out.push(' ');
  // Work items: a node to write (inside its own parentheses or not), or text.
  const stack: (string | { node: ThreadNode<M>; wrapped: boolean })[] = [];
  for (let i = roots.length - 1; i >= 0; i--) stack.push({ node: roots[i]!, wrapped: true });
  while (stack.length > 0) {
    const item = stack.pop()!;
    if (typeof item === 'string') {
      out.push(item);
      continue;
    }
    const { node, wrapped } = item;
    if (wrapped) {
      out.push('(');
      stack.push(')');
    }
    const children = node.children;
    if (node.message !== undefined) {
      out.push(String(numberOf(node.message)));
      if (children.length > 0) out.push(' ');
    }
    // One child continues the list; several each open their own.
    const nested = children.length > 1;
    for (let i = children.length - 1; i >= 0; i--) stack.push({ node: children[i]!, wrapped: nested });
  }
  out.push('\r\n');
  return out.join('');
}

/** Every node under the roots, parents before their children (for bottom-up passes, reversed). */
export function preorder<M>(roots: readonly ThreadNode<M>[]): ThreadNode<M>[] {
  const all: ThreadNode<M>[] = [];
  const stack = [...roots].reverse();
  while (stack.length > 0) {
    const node = stack.pop()!;
    all.push(node);
    for (let i = node.children.length - 1; i >= 0; i--) stack.push(node.children[i]!);
  }
  return all;
}
