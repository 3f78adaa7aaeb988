import { randomBytes } from 'node:crypto';
import { testServices } from './services.js';

export interface TestNats {
  readonly url: string;
  /**
   * A prefix unique to this test file, for every subject and stream name the code under
   * test creates, so parallel files never see each other's messages.
   */
  readonly prefix: string;
}

export async function testNats(): Promise<TestNats> {
  const { natsUrl } = await testServices();
  return { url: natsUrl, prefix: `t${randomBytes(5).toString('hex')}` };
}
