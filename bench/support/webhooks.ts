/**
 * Signed Acme webhooks as Acme's contract sends them (full payload appointment
 * events, Standard Webhooks signatures with the tenant's secret), one new appointment
 * per request so the edge's recent-delivery check never short-circuits.
 */
import { Webhook } from 'standardwebhooks';

export interface LoadTenant {
  id: string;
  accountId: string;
  secret: string;
  users: string[];
  contacts: string[];
}

export interface SignedWebhook {
  path: string;
  headers: Record<string, string>;
  body: string;
  appointmentId: string;
}

export function createWebhookFactory(tenants: readonly LoadTenant[], runId: string): () => SignedWebhook {
  const signers = tenants.map((t) => new Webhook(t.secret));
  let n = 0;
  return () => {
    const i = n++;
    const tenant = tenants[i % tenants.length]!;
    const now = new Date();
    const appointmentId = `apt_${runId}${i.toString(36).padStart(8, '0')}`;
    const eventId = `evt_${runId}${i.toString(36).padStart(8, '0')}`;
    const startsAt = new Date(now.getTime() + 86_400_000 + (i % 500) * 1_800_000);
    const body = JSON.stringify({
      id: eventId,
      type: 'appointment.created',
      account_id: tenant.accountId,
      occurred_at: now.toISOString(),
      data: {
        object: {
          id: appointmentId, version: 1, created_at: now.toISOString(), updated_at: now.toISOString(), deleted_at: null,
          owner_user_id: tenant.users[i % tenant.users.length], contact_id: tenant.contacts[i % tenant.contacts.length],
          title: 'Quarterly business review and renewal', starts_at: startsAt.toISOString(), ends_at: new Date(startsAt.getTime() + 3_600_000).toISOString(),
          time_zone: 'Europe/Berlin', location: '42 Market Street, meeting room 3', status: 'scheduled',
        },
      },
    });
    const signature = signers[i % signers.length]!.sign(eventId, now, body);
    return {
      path: `/webhooks/acme/${tenant.id}`,
      appointmentId,
      body,
      headers: { 'content-type': 'application/json', 'webhook-id': eventId, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signature },
    };
  };
}
