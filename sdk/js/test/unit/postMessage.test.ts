import { afterEach, describe, expect, it } from 'vitest';
import { createEnvelope, parseEnvelope, postEnvelope, waitForMessage, type WaitOptions } from '../../src/communication/postMessage';
import { SDKError } from '../../src/errors';

const APP = 'https://app.example';

function frameWindow(): Window {
  const frame = document.createElement('iframe');
  document.body.appendChild(frame);
  return frame.contentWindow!;
}

function deliver(data: unknown, origin: string, source: Window | null): void {
  window.dispatchEvent(new MessageEvent('message', { data, origin, source }));
}

afterEach(() => {
  document.body.innerHTML = '';
});

describe('the envelope', () => {
  it('is versioned and typed, with a correlation id', () => {
    const envelope = createEnvelope('cas:login:result', { code: 'c' }, 'p.s1');
    expect(envelope).toMatchObject({ v: 1, type: 'cas:login:result', state: 'p.s1', payload: { code: 'c' } });
    expect(envelope.id).toMatch(/^[0-9a-f]{16}$/);
    expect(createEnvelope('x', null).id).not.toBe(envelope.id);
    expect(parseEnvelope(envelope)).toEqual(envelope);
  });

  it.each([null, 'text', {}, { v: 2, type: 't', id: 'i', payload: 1 }, { v: 1, type: 't', id: 'i' }, { v: 1, type: 1, id: 'i', payload: 1 }, { v: 1, type: 't', id: 'i', state: 5, payload: 1 }])(
    'refuses %j as an envelope',
    (data) => {
      expect(parseEnvelope(data)).toBeNull();
    },
  );

  it('is never posted to "*"', () => {
    expect(() => postEnvelope(window, createEnvelope('t', {}), '*')).toThrow(SDKError);
    expect(() => postEnvelope(window, createEnvelope('t', {}), '')).toThrow(/explicit target origin/);
  });
});

describe('waiting for a popup message', () => {
  const options = (popup: Window, extra: Partial<WaitOptions> = {}): WaitOptions => ({
    window,
    origins: [APP],
    source: () => popup,
    types: ['cas:login:result'],
    state: 'p.right',
    timeoutMs: 2000,
    ...extra,
  });

  it('accepts the message whose origin, source, type and state all match', async () => {
    const popup = frameWindow();
    const waiting = waitForMessage(options(popup));
    deliver(createEnvelope('cas:login:result', { code: 'c1' }, 'p.right'), APP, popup);
    expect((await waiting).payload).toEqual({ code: 'c1' });
  });

  it('ignores a foreign origin, a wrong source, a stale state, another type and a non-envelope', async () => {
    const popup = frameWindow();
    const stranger = frameWindow();
    const waiting = waitForMessage(options(popup));
    deliver(createEnvelope('cas:login:result', { code: 'evil' }, 'p.right'), 'https://evil.example', popup);
    deliver(createEnvelope('cas:login:result', { code: 'evil' }, 'p.right'), APP, stranger);
    deliver(createEnvelope('cas:login:result', { code: 'old' }, 'p.stale'), APP, popup);
    deliver(createEnvelope('cas:purchase:result', { code: 'other' }, 'p.right'), APP, popup);
    deliver({ code: 'bare' }, APP, popup);
    deliver(createEnvelope('cas:login:result', { code: 'good' }, 'p.right'), APP, popup);
    expect((await waiting).payload).toEqual({ code: 'good' });
  });

  it('also accepts the BroadcastChannel named after the state (COOP severed the opener)', async () => {
    const popup = frameWindow();
    const waiting = waitForMessage(options(popup, { channel: 'cas:popup:p.right' }));
    const channel = new BroadcastChannel('cas:popup:p.right');
    channel.postMessage(createEnvelope('cas:login:result', { code: 'stale' }, 'p.other'));
    channel.postMessage(createEnvelope('cas:login:result', { code: 'via-channel' }, 'p.right'));
    expect((await waiting).payload).toEqual({ code: 'via-channel' });
    channel.close();
  });

  it('times out', async () => {
    const error = await waitForMessage(options(frameWindow(), { timeoutMs: 30 })).catch((e) => e);
    expect(error).toBeInstanceOf(SDKError);
    expect(error.code).toBe('timeout');
  });

  it('settles with aborted on the signal, also when already aborted', async () => {
    const controller = new AbortController();
    const waiting = waitForMessage(options(frameWindow(), { signal: controller.signal }));
    controller.abort();
    expect((await waiting.catch((e) => e)).code).toBe('aborted');
    const again = await waitForMessage(options(frameWindow(), { signal: controller.signal })).catch((e) => e);
    expect(again.code).toBe('aborted');
  });

  it('settles with popup_closed once the popup has been closed past the grace period', async () => {
    let closed = false;
    const waiting = waitForMessage(options(frameWindow(), { closed: () => closed, pollMs: 5, closedGraceMs: 20 }));
    closed = true;
    expect((await waiting.catch((e) => e)).code).toBe('popup_closed');
  });

  it('still takes a message posted just before the popup closed', async () => {
    const popup = frameWindow();
    let closed = false;
    const waiting = waitForMessage(options(popup, { closed: () => closed, pollMs: 5, closedGraceMs: 200 }));
    closed = true;
    setTimeout(() => deliver(createEnvelope('cas:login:result', { code: 'late' }, 'p.right'), APP, popup), 30);
    expect((await waiting).payload).toEqual({ code: 'late' });
  });
});
