/**
 * The edge with an injected publisher (EdgeServerOptions.eventPublisher, issue 14): the
 * benchmark's "Kafka write off" baseline is the same createEdge with a publisher that
 * acknowledges without Kafka, so the app around it must be the real one and the
 * injected publisher must be the only way out.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { EventPublisher } from '../../src/producers/publisher.js';
import type { OutboundEvent } from '../../src/transforms/acme-to-event.js';
import { createIsolatedStack, type IsolatedStack } from '../helpers/isolated-stack.js';
import { addTenant, contactObject, eventId, secretsOf, sign, sizes, startEdge, tenantId, webhookEvent } from './webhooks/harness.js';

let stack: IsolatedStack;

beforeAll(async () => {
  stack = await createIsolatedStack(inject('stack'));
});
afterAll(async () => {
  await stack?.close();
});

function recordingPublisher(): EventPublisher & { published: OutboundEvent[]; closed: number } {
  const published: OutboundEvent[] = [];
  const publisher = {
    published,
    closed: 0,
    async publish(events: readonly OutboundEvent[]) {
      published.push(...events);
    },
    async close() {
      publisher.closed += 1;
    },
  };
  return publisher;
}

describe('the edge server with an injected publisher', () => {
  it('hands verified webhooks to the injected publisher instead of Kafka, answers 200, and closes it with the app', async () => {
    const publisher = recordingPublisher();
    const edge = await startEdge(stack, { eventPublisher: publisher });
    try {
      const id = tenantId();
      await addTenant(edge, { id });
      const before = await sizes(stack);
      const delivery = sign(webhookEvent(eventId(), 'contact.created', { object: contactObject('con_injected', 1) }), await secretsOf(edge, id));
      const res = await edge.app.inject({ method: 'POST', url: `/webhooks/acme/${id}`, headers: delivery.headers, payload: delivery.body });
      expect(res.statusCode).toBe(200);
      expect(publisher.published).toEqual([expect.objectContaining({ kind: 'contacts', value: expect.objectContaining({ tenant_id: id, acme_id: 'con_injected' }) })]);
      expect(await sizes(stack)).toEqual(before);
    } finally {
      await edge.app.close();
    }
    expect(publisher.closed).toBe(1);
  });
});
