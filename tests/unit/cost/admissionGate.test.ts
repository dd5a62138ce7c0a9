import { describe, expect, it } from 'vitest';
import { AdmissionGate } from '../../../src/cost/admissionGate.js';
import { CancelledError } from '../../../src/errors.js';

const signal = () => new AbortController().signal;

describe('AdmissionGate (slow start for a model whose real cost is unknown)', () => {
  it('admits one call of an unobserved model, then 2, 4 …; an overrun narrows it to one again', async () => {
    const gate = new AdmissionGate({ observed: () => false });
    const first = gate.admit('m', true, signal());
    expect(typeof first).toBe('function');
    const waiting = gate.admit('m', true, signal());
    expect(waiting).toBeInstanceOf(Promise);
    gate.observe('m', false); // the first call settled within its reservation: window 2
    const second = await waiting;
    expect(gate.windowOf('m')).toBe(2);
    const third = gate.admit('m', true, signal());
    expect(third).toBeInstanceOf(Promise); // first and second are in flight
    (first as () => void)();
    const t = await third;
    gate.observe('m', true);
    expect(gate.windowOf('m')).toBe(1);
    const fourth = gate.admit('m', true, signal());
    second();
    expect(await Promise.race([fourth, Promise.resolve('still waiting')])).toBe('still waiting'); // third still in flight
    t();
    expect(typeof (await fourth)).toBe('function');
  });

  it('an observed model, or a call no budget applies to, never waits', () => {
    const gate = new AdmissionGate({ observed: (k) => k === 'seen' });
    const places = Array.from({ length: 100 }, () => gate.admit('seen', true, signal()));
    expect(places.every((p) => typeof p === 'function')).toBe(true);
    const free = Array.from({ length: 10 }, () => gate.admit('new', false, signal()));
    expect(free.every((p) => typeof p === 'function')).toBe(true);
  });

  it('a call cancelled while it waits rejects with CancelledError and takes no place', async () => {
    const gate = new AdmissionGate({ observed: () => false });
    const first = gate.admit('m', true, signal()) as () => void;
    const controller = new AbortController();
    const cancelled = gate.admit('m', true, controller.signal);
    const next = gate.admit('m', true, signal());
    controller.abort();
    await expect(cancelled).rejects.toBeInstanceOf(CancelledError);
    first();
    expect(typeof (await next)).toBe('function');
  });

  it('the window opens fully after enough clean calls', () => {
    const gate = new AdmissionGate({ observed: () => false });
    (gate.admit('m', true, signal()) as () => void)();
    for (let i = 0; i < 6; i++) gate.observe('m', false);
    expect(gate.windowOf('m')).toBe(Infinity);
  });
});
