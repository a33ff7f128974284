// lib/extensions/telenorid/index.ts
// TelenorID+ profile pieces, opt-in: the deprecated tnuId profile switch and the client-type refresh policies.
export { tnuIdProfileSwitch, PROFILE_SCOPE, type ProfileSwitchContext, type ProfileSwitchOptions } from './profile-switch';
export { TELENORID_REFRESH_POLICIES } from './refresh-policies';
