import { srsReverse } from '@tegami/protocol';
import { addAlias } from '@tegami/store';
import { type ScriptedPeer, startScriptedPeer } from '@tegami/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFakeResolver, type TestResolver } from './fake-resolver.js';
import { DOMAIN, startTestWorker, type TestWorker } from './test-worker.js';

// Mail an alias forwards to another domain leaves from an SRS address of the alias's domain
// (so the receiver's SPF check is of our domain, which allows us); everything else keeps its
// envelope sender.

const srs = { secrets: ['forwarding-test-secret'] };
let t: TestWorker;
let resolver: TestResolver;
const peers: ScriptedPeer[] = [];
let nextAddress = 60;

async function peerFor(domain: string): Promise<ScriptedPeer> {
  const address = `127.0.0.${nextAddress++}`;
  const peer = await startScriptedPeer({}, address, t.smtpPort);
  peers.push(peer);
  resolver.setMx(domain, { hosts: [`mx.${domain}`] });
  resolver.setAddresses(`mx.${domain}`, [address]);
  return peer;
}

beforeAll(async () => {
  resolver = createFakeResolver();
  t = await startTestWorker(resolver, {}, { srs });
});

afterAll(async () => {
  await t?.stop();
  for (const peer of peers) await peer.stop();
});

describe('forwarding through an alias', () => {
  it('sends from an SRS address of the alias’s domain that decodes to the original sender', async () => {
    const peer = await peerFor('away.test');
    await addAlias(t.store.pool, `carol@${DOMAIN}`, ['carol@away.test']);
    const queueId = await t.submit({ from: 'Dave@Origin.test', to: [`carol@${DOMAIN}`] });
    const trace = await t.settled(queueId);
    const [sent] = peer.transactions;
    expect(sent?.rcpts.map((r) => r.address)).toEqual(['carol@away.test']);
    expect(sent?.mailFrom).toMatch(new RegExp(`^SRS0=[^=]{4}=[A-Z2-7]{2}=Origin\\.test=Dave@${DOMAIN}$`));
    expect(srsReverse(sent!.mailFrom, srs, new Date())).toEqual({
      kind: 'decoded',
      address: 'Dave@Origin.test',
    });
    // The trace says how it went out.
    const forwarded = trace.recipients.find((r) => r.recipient === 'carol@away.test');
    expect(forwarded?.expandedFrom).toBe(`carol@${DOMAIN}`);
    expect(forwarded?.attempts.at(-1)?.reply).toContain(
      `(forwarded from <${sent!.mailFrom}>, not ARC-sealed (no rsa key))`,
    );
  });

  it('keeps the sender of a local domain, and the null sender', async () => {
    const peer = await peerFor('keep.test');
    await addAlias(t.store.pool, `keep@${DOMAIN}`, ['k@keep.test']);
    await t.settled(await t.submit({ from: `alice@${DOMAIN}`, to: [`keep@${DOMAIN}`] }));
    await t.settled(await t.submit({ from: '', to: [`keep@${DOMAIN}`] }));
    expect(peer.transactions.map((x) => x.mailFrom)).toEqual([`alice@${DOMAIN}`, '']);
  });

  it('keeps the sender for a recipient that came through no alias, in a transaction of its own', async () => {
    const peer = await peerFor('mixed.test');
    await addAlias(t.store.pool, `team@${DOMAIN}`, ['one@mixed.test']);
    const queueId = await t.submit({ from: 'erin@origin.test', to: [`team@${DOMAIN}`, 'two@mixed.test'] });
    await t.settled(queueId);
    const byRecipient = new Map(
      peer.transactions.flatMap((x) => x.rcpts.map((r) => [r.address, x.mailFrom])),
    );
    expect(byRecipient.get('two@mixed.test')).toBe('erin@origin.test');
    expect(byRecipient.get('one@mixed.test')).toMatch(/^SRS0=.*=origin\.test=erin@example\.test$/);
    expect(peer.transactions).toHaveLength(2);
  });

  it('sends one copy to every destination of the alias, from one SRS address', async () => {
    const peer = await peerFor('many.test');
    await addAlias(t.store.pool, `all@${DOMAIN}`, ['a@many.test', 'b@many.test']);
    await t.settled(await t.submit({ from: 'frank@origin.test', to: [`all@${DOMAIN}`] }));
    expect(peer.transactions).toHaveLength(1);
    expect(peer.transactions[0]!.rcpts.map((r) => r.address).sort()).toEqual(['a@many.test', 'b@many.test']);
  });

  it('rewrites another forwarder’s SRS0 sender as SRS1', async () => {
    const peer = await peerFor('hop.test');
    await addAlias(t.store.pool, `hop@${DOMAIN}`, ['h@hop.test']);
    const hop1 = 'SRS0=abcd=XY=origin.test=grace@hop1.test';
    await t.settled(await t.submit({ from: hop1, to: [`hop@${DOMAIN}`] }));
    const sender = peer.transactions[0]!.mailFrom;
    expect(sender).toMatch(/^SRS1=[^=]{4}=hop1\.test==abcd=XY=origin\.test=grace@example\.test$/);
    expect(srsReverse(sender, srs, new Date())).toEqual({ kind: 'decoded', address: hop1 });
  });
});
