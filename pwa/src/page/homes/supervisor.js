// The supervisor's tiles (tablet, landscape).
import { ICONS } from '../icons.js';

export const tiles = [
  { id: 'live_board', icon: ICONS.live_board, route: '/board' },
  { id: 'review_queue', icon: ICONS.review_queue, route: '/review' },
  { id: 'incidents', icon: ICONS.incidents, route: '/incidents' },
  { id: 'fire_equipment', icon: ICONS.fire_checks, route: '/equipment' },
  { id: 'duty_log', icon: ICONS.duty_log, route: '/duty-log' },
  { id: 'devices', icon: ICONS.devices, route: '/devices' },
  { id: 'parcels', icon: ICONS.parcels, route: '/parcels' },
  { id: 'gate', icon: ICONS.visitors, route: '/gate' },
  { id: 'invites', icon: ICONS.invites, route: '/invites' },
  { id: 'notifications', icon: ICONS.notifications, route: '/notifications' },
  { id: 'labels', icon: ICONS.labels, href: (ctx) => `/api/sites/${ctx.membership.site.id}/labels.pdf` },
];
