// spec/internal/random.spec.ts
// The random pool behind codes, refresh tokens and IVs: fresh bytes on every draw, across refills.
import { randomSlice } from '../../lib/internal/random';
import { createOpaqueToken } from '../../lib';

describe('randomSlice (CSPRNG pool)', () => {
  it('never hands out the same bytes twice, across many pool refills', () => {
    const seen = new Set<string>();
    // 3 000 × 32 bytes ≈ 23 refills of the 4 KiB pool; odd sizes make draws straddle refill points.
    for (let i = 0; i < 3000; i += 1) {
      const size = i % 7 === 0 ? 12 : 32;
      const draw = randomSlice(size).toString('hex');
      expect(draw).toHaveLength(size * 2);
      seen.add(draw);
    }
    expect(seen.size).toBe(3000);
  });

  it('a later draw does not change an earlier one that was copied out (tokens are strings)', () => {
    const token = createOpaqueToken();
    for (let i = 0; i < 300; i += 1) randomSlice(32);
    expect(token.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(createOpaqueToken().value).not.toBe(token.value);
  });

  it('refuses sizes outside 1…4096', () => {
    expect(() => randomSlice(0)).toThrow(RangeError);
    expect(() => randomSlice(4097)).toThrow(RangeError);
    expect(() => randomSlice(1.5)).toThrow(RangeError);
    expect(randomSlice(4096)).toHaveLength(4096);
  });
});
