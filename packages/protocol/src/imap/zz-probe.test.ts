import { it } from 'vitest';
import { credentials, loggedIn, MemoryMailStore } from './test-account.js';

it('probe', async () => {
  await credentials();
  const store = MemoryMailStore.withMessages();
  const a = await loggedIn({ maxCommandSize: 64 * 1024 }, store, 'INBOX');
  const log = (s: string) => console.log(JSON.stringify(s));
  log(await a.say("a8 SELECT !#$'+,-.0123456789:;<=>?@^_`|}"));
  log(await a.say("a8 SELECT !#$'+,-.0123456789:;<=>?@^_`|}~"));
  log(await a.say('a9 SELECT foo}'));
  log(await a.say('a9 SELECT foo]'));
  log(await a.say('a10 SELECT INBOX'));
  log(await a.say('a11 SEARCH 1000'));
  log(await a.say('a12 UID SEARCH RETURN () 1000'));
  log(await a.say('a13 SEARCH RETURN (MIN) 2:1000'));
  log(await a.say('a14 FETCH 1000 FLAGS'));
  log(await a.say('a15 CREATE p/c'));
  log(await a.say('a16 SUBSCRIBE p/c'));
  log(await a.say('a17 DELETE p'));
  log(await a.say('a17 LIST "" *'));
  log(await a.say('a18 LSUB "" *'));
  log(await a.say('a19 LSUB "" p'));
  log(await a.say('a19 LSUB "" %'));
  log(await a.say('a20 SUBSCRIBE gone'));
  log(await a.say('a21 LSUB "" *'));
  log(await a.say('a22 LIST (SUBSCRIBED) "" *'));
});
