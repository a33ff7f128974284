// lib/extensions/telenorid/refresh-policies.ts
// TelenorID+'s client types as named refresh policies (an example configuration).
import type { RefreshPolicy } from '../../contracts/refresh-policy';

const DAY = 24 * 3600;

/** The TelenorID+ client-type policies, by their TelenorID+ names (an example configuration). */
export const TELENORID_REFRESH_POLICIES: Readonly<Record<'NoRefresh' | 'Confidential' | 'Mobile' | 'PublicWeb' | 'Web', RefreshPolicy>> = Object.freeze({
  NoRefresh: { type: 'none' },
  Confidential: { type: 'absolute', lifetime: 14 * DAY },
  Mobile: { type: 'sliding', lifetime: 90 * DAY },
  PublicWeb: { type: 'sliding', lifetime: 600 },
  Web: { type: 'sliding', lifetime: 600 },
});
