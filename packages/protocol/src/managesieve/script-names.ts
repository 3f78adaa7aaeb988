// Script names (RFC 5804 §1.6): UTF-8, and none of the characters a name must not hold —
// the C0 and C1 controls, DELETE, LINE SEPARATOR and PARAGRAPH SEPARATOR — so a name is
// always one line wherever it is shown. The store keeps at most 512 characters of it.

export const MAX_SCRIPT_NAME_CHARACTERS = 512;

/** The code points §1.6 forbids in a name. */
function forbidden(name: string): boolean {
  for (const char of name) {
    const code = char.codePointAt(0)!;
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029) return true;
  }
  return false;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Octets as UTF-8 text; undefined when they are not UTF-8. */
export function decodeUtf8(octets: Uint8Array): string | undefined {
  try {
    return utf8.decode(octets);
  } catch {
    return undefined;
  }
}

/** The name a client sent, or why it cannot be one. */
export function sieveScriptName(
  octets: Uint8Array,
): { readonly ok: true; readonly name: string } | { readonly ok: false; readonly problem: string } {
  const name = decodeUtf8(octets);
  if (name === undefined) return { ok: false, problem: 'the script name is not UTF-8' };
  if (name === '') return { ok: false, problem: 'the script name is empty' };
  if (forbidden(name)) return { ok: false, problem: 'the script name holds a control character' };
  if ([...name].length > MAX_SCRIPT_NAME_CHARACTERS)
    return { ok: false, problem: `the script name is longer than ${MAX_SCRIPT_NAME_CHARACTERS} characters` };
  return { ok: true, name };
}
