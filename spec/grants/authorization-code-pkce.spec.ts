// spec/grants/authorization-code-pkce.spec.ts
// PKCE (RFC 7636, RFC 9700 §2.1.1) on the authorization_code grant, through HTTP (security model rules E45–E52).
import { createHash } from 'node:crypto';
import { authorizationCode, clientCredentials, createMemoryStorage, createOpaqueToken, s256Challenge, type AuthorizationCodeInput, type AuthorizationCodeRecord, type StorageAdapter } from '../../lib';
import { createCodeTestApp, SPA_REDIRECT, WEB_REDIRECT } from '../helpers/create-app';
import { CHALLENGE, codeInput, redeem, SPA, VERIFIER } from '../helpers/code-flow';

const S256 = { codeChallenge: CHALLENGE, codeChallengeMethod: 'S256' } as const;
const SPA_INPUT: Partial<AuthorizationCodeInput> = { clientId: 'spa', redirectUri: SPA_REDIRECT };

/** A code written straight into storage, as an older deployment or another minter might have left it. */
async function storeLegacyCode(storage: StorageAdapter, fields: Partial<AuthorizationCodeRecord>): Promise<string> {
  const { value, hash } = createOpaqueToken();
  const now = Date.UTC(2026, 0, 1);
  await storage.saveAuthorizationCode({
    codeHash: hash,
    clientId: 'web',
    redirectUri: WEB_REDIRECT,
    scope: ['openid'],
    subject: 'user-1',
    grantId: `legacy-${hash.slice(0, 8)}`,
    issuedAt: now,
    expiresAt: now + 60_000,
    ...fields,
  });
  return value;
}

describe('S256 (RFC 7636 §4.2, §4.6)', () => {
  const { app, tokenRouter } = createCodeTestApp();

  it('the RFC 7636 Appendix B vector: the library and node:crypto agree', () => {
    expect(s256Challenge(VERIFIER)).toBe(CHALLENGE);
    expect(createHash('sha256').update(VERIFIER, 'ascii').digest('base64url')).toBe(CHALLENGE);
  });

  it('the Appendix B verifier redeems a code minted with its challenge (confidential client)', async () => {
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput(S256));
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER });
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(VERIFIER);
  });

  it('the Appendix B verifier redeems a code minted with its challenge (public client)', async () => {
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput({ ...SPA_INPUT, ...S256 }));
    expect((await redeem(app, { code, redirect_uri: SPA_REDIRECT, code_verifier: VERIFIER }, SPA)).status).toBe(200);
  });

  it.each([43, 128])('a %i-character verifier of the whole unreserved alphabet works', async (length) => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~';
    const verifier = alphabet.repeat(2).slice(0, length);
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput({ codeChallenge: s256Challenge(verifier), codeChallengeMethod: 'S256' }));
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: verifier })).status).toBe(200);
  });

  it('challenge stored but no code_verifier → invalid_grant, and the code is still redeemable', async () => {
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput(S256));
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER })).status).toBe(200);
  });

  it.each([
    ['another valid verifier', 'A'.repeat(43)],
    ['the verifier with one character changed', `${VERIFIER.slice(0, 42)}j`],
    ['the challenge itself (plain downgrade)', CHALLENGE],
  ])('wrong verifier (%s) → invalid_grant, and the code is still redeemable', async (_name, verifier) => {
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput(S256));
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: verifier });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER })).status).toBe(200);
  });

  it('a verifier for a code minted without a challenge → invalid_grant (PKCE downgrade, RFC 9700 §4.8.2)', async () => {
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput());
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
    // The confidential client that did not use PKCE can still redeem it.
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT })).status).toBe(200);
  });

  it.each([
    ['42 characters', VERIFIER.slice(1)],
    ['129 characters', 'a'.repeat(129)],
    ['a plus sign', `${VERIFIER.slice(0, 42)}+`],
    ['a slash', `${VERIFIER.slice(0, 42)}/`],
    ['an equals sign', `${VERIFIER}=`],
    ['a space', `${VERIFIER.slice(0, 21)} ${VERIFIER.slice(21)}`],
    ['non-ASCII', `${VERIFIER.slice(0, 42)}é`],
    ['a percent sign', `${VERIFIER.slice(0, 42)}%`],
  ])('a malformed verifier (%s) → 400 invalid_request, and the code is still redeemable', async (_name, verifier) => {
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput(S256));
    const res = await redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: verifier });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
    expect(res.text).not.toContain(verifier.trim());
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER })).status).toBe(200);
  });

  it('a code_challenge_method sent to the token endpoint is ignored (RFC 7636 §4.6: the stored method counts)', async () => {
    const first = await tokenRouter.issueAuthorizationCode(codeInput(S256));
    expect((await redeem(app, { code: first.code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER, code_challenge_method: 'plain' })).status).toBe(200);
    // Asking for "plain" does not make the challenge itself a valid verifier.
    const second = await tokenRouter.issueAuthorizationCode(codeInput(S256));
    const res = await redeem(app, { code: second.code, redirect_uri: WEB_REDIRECT, code_verifier: CHALLENGE, code_challenge_method: 'plain' });
    expect(res.body.error).toBe('invalid_grant');
  });
});

describe('PKCE required', () => {
  it('public clients: a code without a challenge cannot be minted, and a stored one is refused (invalid_grant)', async () => {
    const { app, tokenRouter, storage } = createCodeTestApp();
    await expect(tokenRouter.issueAuthorizationCode(codeInput(SPA_INPUT))).rejects.toMatchObject({ error: 'invalid_request' });
    const code = await storeLegacyCode(storage, { clientId: 'spa', redirectUri: SPA_REDIRECT });
    const res = await redeem(app, { code, redirect_uri: SPA_REDIRECT }, SPA);
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
  });

  it('confidential clients without the option: PKCE is optional', async () => {
    const { app, tokenRouter } = createCodeTestApp();
    const { code } = await tokenRouter.issueAuthorizationCode(codeInput());
    expect((await redeem(app, { code, redirect_uri: WEB_REDIRECT })).status).toBe(200);
  });

  describe('requirePkceForConfidentialClients', () => {
    const storage = createMemoryStorage();
    afterAll(() => storage.close());
    const strict = createCodeTestApp({ storage, grants: [authorizationCode({ requirePkceForConfidentialClients: true }), clientCredentials()] });
    const lax = createCodeTestApp({ storage });

    it('minting without a challenge → invalid_request', async () => {
      await expect(strict.tokenRouter.issueAuthorizationCode(codeInput())).rejects.toMatchObject({ name: 'OAuthError', error: 'invalid_request' });
    });

    it('with a challenge, the code redeems with its verifier', async () => {
      const { code } = await strict.tokenRouter.issueAuthorizationCode(codeInput(S256));
      expect((await redeem(strict.app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER })).status).toBe(200);
    });

    it('a code minted without a challenge elsewhere (shared storage) → invalid_grant at the strict instance', async () => {
      const { code } = await lax.tokenRouter.issueAuthorizationCode(codeInput());
      const res = await redeem(strict.app, { code, redirect_uri: WEB_REDIRECT });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('invalid_grant');
    });
  });
});

describe('plain (RFC 7636 §4.2; off by default, RFC 9700 §2.1.1)', () => {
  const storage = createMemoryStorage();
  afterAll(() => storage.close());
  const plain = createCodeTestApp({ storage, grants: [authorizationCode({ allowPlainPkce: true }), clientCredentials()] });
  const s256Only = createCodeTestApp({ storage });

  it('without allowPlainPkce, a plain challenge cannot be minted', async () => {
    await expect(s256Only.tokenRouter.issueAuthorizationCode(codeInput({ codeChallenge: VERIFIER, codeChallengeMethod: 'plain' }))).rejects.toMatchObject({ error: 'invalid_request' });
  });

  it('with allowPlainPkce, verifier == challenge redeems', async () => {
    const { code } = await plain.tokenRouter.issueAuthorizationCode(codeInput({ codeChallenge: VERIFIER, codeChallengeMethod: 'plain' }));
    expect((await redeem(plain.app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER })).status).toBe(200);
  });

  it('with allowPlainPkce, a challenge without a method is plain (RFC 7636 §4.3)', async () => {
    const { code } = await plain.tokenRouter.issueAuthorizationCode(codeInput({ codeChallenge: VERIFIER }));
    expect((await redeem(plain.app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER })).status).toBe(200);
  });

  it('with allowPlainPkce, a different verifier → invalid_grant', async () => {
    const { code } = await plain.tokenRouter.issueAuthorizationCode(codeInput({ codeChallenge: VERIFIER, codeChallengeMethod: 'plain' }));
    expect((await redeem(plain.app, { code, redirect_uri: WEB_REDIRECT, code_verifier: 'B'.repeat(43) })).body.error).toBe('invalid_grant');
  });

  it('with allowPlainPkce, a plain challenge must itself be a valid verifier', async () => {
    await expect(plain.tokenRouter.issueAuthorizationCode(codeInput({ codeChallenge: 'short', codeChallengeMethod: 'plain' }))).rejects.toMatchObject({ error: 'invalid_request' });
  });

  it('with allowPlainPkce, S256 still works, and code_challenge_method=S256 at the token endpoint does not change a plain code', async () => {
    const s256 = await plain.tokenRouter.issueAuthorizationCode(codeInput(S256));
    expect((await redeem(plain.app, { code: s256.code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER })).status).toBe(200);
    const plainCode = await plain.tokenRouter.issueAuthorizationCode(codeInput({ codeChallenge: VERIFIER, codeChallengeMethod: 'plain' }));
    expect((await redeem(plain.app, { code: plainCode.code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER, code_challenge_method: 'S256' })).status).toBe(200);
  });

  it('a plain code is refused (invalid_grant) by an instance that does not allow plain', async () => {
    const { code } = await plain.tokenRouter.issueAuthorizationCode(codeInput({ codeChallenge: VERIFIER, codeChallengeMethod: 'plain' }));
    const res = await redeem(s256Only.app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_grant');
    // …and it was not burnt: the instance that allows plain still redeems it.
    expect((await redeem(plain.app, { code, redirect_uri: WEB_REDIRECT, code_verifier: VERIFIER })).status).toBe(200);
  });
});
