// spec/seams/options-depth.spec.ts
// Issue 12: unknown option names are errors at every nesting level, of the router, of the grant
// factories and of the TelenorID+ extension; express-rate-limit's own option errors become a
// ConfigurationError naming the path; misconfigurations that can be found at startup are.
import { authorizationCode, clientCredentials, ConfigurationError, createMemoryClientRegistry, createMemoryStorage, createTokenRouter, deviceCode, refreshToken, tnuIdProfileSwitch, type TokenRouterOptions } from '../../lib';
import { rsaKey } from '../helpers/keys';

const storage = createMemoryStorage();
afterAll(() => storage.close());

function base(): TokenRouterOptions {
  return { issuer: 'https://id.example.test', signingKeys: [{ kid: 'k1', privateKey: rsaKey().pem }], clients: createMemoryClientRegistry([]), storage, grants: [clientCredentials()] };
}

function problemsOf(options: unknown): readonly string[] {
  try {
    createTokenRouter(options as TokenRouterOptions);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as ConfigurationError).problems;
  }
  throw new Error('createTokenRouter did not throw');
}

describe('unknown options at every depth', () => {
  it.each<[string, Record<string, unknown>, RegExp]>([
    ['idToken.tll', { idToken: { tll: 60 } }, /^Unknown option "idToken\.tll"\. Known options: ttl, claims\.$/],
    ['accessToken.audiences', { accessToken: { audiences: ['x'] } }, /^Unknown option "accessToken\.audiences"/],
    ['refreshTokens.defaultPolcy', { refreshTokens: { defaultPolcy: {} } }, /^Unknown option "refreshTokens\.defaultPolcy"\. Known options: policies, defaultPolicy\.$/],
    ['refreshTokens.defaultPolicy.confidental', { refreshTokens: { defaultPolicy: { confidental: { type: 'none' } } } }, /^Unknown option "refreshTokens\.defaultPolicy\.confidental"/],
    ['a policy field', { refreshTokens: { policies: { web: { type: 'sliding', lifetime: 60, maxLifetme: 120 } } } }, /^Unknown option "refreshTokens\.policies\.web\.maxLifetme"/],
    ['discovery.authorizationEndpont', { discovery: { authorizationEndpont: 'https://id.example.test/authorize' } }, /^Unknown option "discovery\.authorizationEndpont"/],
    ['signingKeys[0].stauts', { signingKeys: [{ kid: 'k1', privateKey: rsaKey().pem, stauts: 'active' }] }, /^Unknown option "signingKeys\[0\]\.stauts"\. Known options: kid, alg, privateKey, status\.$/],
    ['subjects.pairwiseSalts', { subjects: { pairwiseSalts: 'x'.repeat(40) } }, /^Unknown option "subjects\.pairwiseSalts"/],
    ['clientAuthentication.enforce', { clientAuthentication: { enforce: true } }, /^Unknown option "clientAuthentication\.enforce"/],
    ['bruteForce.grantFailures.perIP', { bruteForce: { grantFailures: { perIP: 5 } } }, /^Unknown option "bruteForce\.grantFailures\.perIP"/],
    ['rateLimit.maxx', { rateLimit: { maxx: 10 } }, /^Unknown option "rateLimit\.maxx"\. Known options: windowMs, limit, max/],
    ['resources[uri].scope', { resources: { 'https://api.example.test': { scope: ['x'] } } }, /^Unknown option "resources\["https:\/\/api\.example\.test"\]\.scope"\. Known options: scopes, accessTokenTtl\.$/],
  ])('%s is a ConfigurationError naming the path', (_label, patch, message) => {
    const problems = problemsOf({ ...base(), ...patch });
    expect(problems).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  });

  it('express-rate-limit\'s own complaints about its options become a ConfigurationError, not console output', () => {
    const logged = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      expect(problemsOf({ ...base(), rateLimit: { validate: { nope: true } } })).toEqual([expect.stringMatching(/^rateLimit: express-rate-limit refused the options: .*nope/)]);
      expect(logged).not.toHaveBeenCalled();
    } finally {
      logged.mockRestore();
    }
  });

  it('a policy name that is an Object.prototype member is unknown, not a policy', () => {
    expect(problemsOf({ ...base(), refreshTokens: { defaultPolicy: { confidential: 'constructor' } } })).toEqual(['refreshTokens.defaultPolicy.confidential names the policy "constructor", which is not in refreshTokens.policies.']);
  });

  it('express-rate-limit values are checked at startup, not left to its logged warnings', () => {
    expect(problemsOf({ ...base(), rateLimit: { windowMs: -5, limit: 'ten' } })).toEqual(expect.arrayContaining([
      'rateLimit.windowMs must be at least 1.',
      'rateLimit.limit must be a whole number of requests per window (or a function).',
    ]));
  });

  it.each<[string, () => unknown, RegExp]>([
    ['authorizationCode({ codeTTL })', () => authorizationCode({ codeTTL: 60 } as never), /grants\[0\] \(authorization_code\): unknown option "codeTTL"/],
    ['refreshToken({ retryWindow })', () => refreshToken({ retryWindow: 5 } as never), /grants\[0\] \(refresh_token\): unknown option "retryWindow"/],
    ['clientCredentials({ subjct })', () => clientCredentials({ subjct: () => 'x' } as never), /grants\[0\] \(client_credentials\): unknown option "subjct"/],
    ['deviceCode({ verificationUrl })', () => deviceCode({ verificationUri: 'https://id.example.test/device', verificationUrl: 'x' } as never), /unknown option "verificationUrl"/],
    ['deviceCode({ userCodeAttempts: { limt } })', () => deviceCode({ verificationUri: 'https://id.example.test/device', userCodeAttempts: { limt: 3 } as never }), /unknown option "userCodeAttempts\.limt"/],
    ['tnuIdProfileSwitch({ verifyProfile, deprecationLnk })', () => refreshToken({ extensions: [tnuIdProfileSwitch({ verifyProfile: () => true, deprecationLnk: 'x' } as never)] }), /extensions\[0\] \(tnuIdProfileSwitch\): unknown option "deprecationLnk"/],
  ])('a grant factory option typo is found at startup: %s', (_label, grant, message) => {
    expect(problemsOf({ ...base(), grants: [grant()] })).toEqual(expect.arrayContaining([expect.stringMatching(message)]));
  });

  it('a non-https verificationUri (outside localhost) is a startup error', () => {
    expect(problemsOf({ ...base(), grants: [deviceCode({ verificationUri: 'http://id.example.test/device' })] })).toEqual(expect.arrayContaining([
      expect.stringMatching(/verificationUri must be an https URL \(http only for localhost during development\)/),
    ]));
    expect(() => createTokenRouter({ ...base(), grants: [deviceCode({ verificationUri: 'http://localhost:3000/device' })] })).not.toThrow();
  });

  it('lists every problem at once', () => {
    const problems = problemsOf({ ...base(), idToken: { tll: 60 }, discovery: { jwks: 'x' }, rateLimit: { maxx: 1 } });
    expect(problems.length).toBeGreaterThanOrEqual(3);
  });
});
