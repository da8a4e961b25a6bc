import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.js';

describe('FakeClock', () => {
  it('fires due callbacks in time order, ties in the order they were set', () => {
    const clock = new FakeClock(1000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('c@30'), 30);
    clock.setTimeout(() => fired.push('a@10'), 10);
    clock.setTimeout(() => fired.push('b@10'), 10);
    clock.setTimeout(() => fired.push('d@31'), 31);
    expect(clock.advance(30)).toBe(3);
    expect(fired).toEqual(['a@10', 'b@10', 'c@30']);
    expect(clock.now()).toBe(1030);
    expect(clock.pending()).toBe(1);
    clock.advance(1);
    expect(fired).toEqual(['a@10', 'b@10', 'c@30', 'd@31']);
  });

  it('shows each callback the time it fell due', () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 5);
    clock.setTimeout(() => seen.push(clock.now()), 12);
    clock.advance(100);
    expect(seen).toEqual([5, 12]);
    expect(clock.now()).toBe(100);
  });

  it('fires callbacks scheduled by callbacks when they fall due inside the window', () => {
    const clock = new FakeClock();
    const seen: number[] = [];
    const tick = () => {
      seen.push(clock.now());
      clock.setTimeout(tick, 10);
    };
    clock.setTimeout(tick, 10);
    clock.advance(35);
    expect(seen).toEqual([10, 20, 30]);
    expect(clock.pending()).toBe(1);
    clock.advance(5);
    expect(seen).toEqual([10, 20, 30, 40]);
  });

  it('a zero or negative delay fires on the next advance, even advance(0)', () => {
    const clock = new FakeClock();
    let fired = 0;
    clock.setTimeout(() => fired++, 0);
    clock.setTimeout(() => fired++, -5);
    expect(fired).toBe(0);
    clock.advance(0);
    expect(fired).toBe(2);
  });

  it('clearTimeout cancels, also from inside another callback', () => {
    const clock = new FakeClock();
    const fired: string[] = [];
    const b = clock.setTimeout(() => fired.push('b'), 20);
    clock.setTimeout(() => {
      fired.push('a');
      clock.clearTimeout(b);
    }, 10);
    clock.clearTimeout(clock.setTimeout(() => fired.push('x'), 5));
    clock.clearTimeout('not a handle');
    clock.advance(50);
    expect(fired).toEqual(['a']);
    expect(clock.pending()).toBe(0);
  });

  it('refuses to go back in time', () => {
    expect(() => new FakeClock().advance(-1)).toThrow(RangeError);
  });
});
