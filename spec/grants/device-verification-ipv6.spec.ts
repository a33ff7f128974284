// spec/grants/device-verification-ipv6.spec.ts
// Issue 13 item 4: user-code guessing at the verification API is limited per caller key, and a
// key that is an IP address is grouped like the token endpoint's limiters group addresses: IPv6
// by prefix (one host owns a whole /64 or more), so 1,000 addresses of one /64 are one attacker.
import { deviceCode } from '../../lib';
import { createDeviceTestApp, VERIFICATION_URI } from '../helpers/device-flow';

describe('user-code guessing over IPv6', () => {
  it('1,000 addresses of one /64 share one budget (10 misses, then rate_limited)', async () => {
    const harness = createDeviceTestApp({}, { grants: [deviceCode({ verificationUri: VERIFICATION_URI })] });
    const results: string[] = [];
    for (let i = 0; i < 1000; i += 1) {
      const key = `2001:db8:1:2:${(i >> 8).toString(16)}:${(i & 0xff).toString(16)}:0:1`;
      results.push((await harness.tokenRouter.deviceVerification.lookup('BBBB-BBBB', { key })).status);
    }
    expect(results.filter((status) => status === 'invalid')).toHaveLength(10);
    expect(results.filter((status) => status === 'rate_limited')).toHaveLength(990);
  });

  it('addresses of different prefixes, and IPv4 addresses, keep their own budgets', async () => {
    const harness = createDeviceTestApp({}, { grants: [deviceCode({ verificationUri: VERIFICATION_URI })] });
    for (const key of ['2001:db8:1:2::1', '2001:db8:9:9::1', '192.0.2.1', '192.0.2.2']) {
      for (let i = 0; i < 10; i += 1) expect((await harness.tokenRouter.deviceVerification.lookup('BBBB-BBBB', { key })).status).toBe('invalid');
      expect((await harness.tokenRouter.deviceVerification.lookup('BBBB-BBBB', { key })).status).toBe('rate_limited');
    }
  });
});
