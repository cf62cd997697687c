// The resident's tiles.
import { ICONS } from '../icons.js';

export const tiles = [
  { id: 'my_parcels', icon: ICONS.parcels, route: '/my-parcels' },
  { id: 'invites', icon: ICONS.invites, route: '/invites' },
  { id: 'goods_passes', icon: ICONS.parcels, route: '/goods-passes' },
  { id: 'notifications', icon: ICONS.notifications, route: '/notifications' },
];
