/**
 * Removes passwords from anything URL-shaped before it is printed or logged: settings are
 * echoed back in error messages, and a connection URL usually carries a password.
 * `postgres://tegami:s3cret@db/x` becomes `postgres://tegami:***@db/x`.
 */
export function redactCredentials(text: string): string {
  // The password runs to the last "@" of the word, so an unencoded "@", "/" or ":" in it
  // cannot leak the rest.
  if (text.includes('//')) return text.replace(/(\/\/[^\s/@:]*):\S*@/g, '$1:***@');
  // A scheme-less `user:password@host`.
  return text.replace(/^([^\s/@:]*):\S*@/, '$1:***@');
}
