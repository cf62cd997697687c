// The resident's tiles.
import { ICONS } from '../icons.js';

export const tiles = [
  { id: 'my_parcels', icon: ICONS.parcels },
  { id: 'invites', icon: ICONS.invites },
  { id: 'notifications', icon: ICONS.notifications },
];
