import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, silentLogger, type Logger } from './index.ts';

function capture(): { stream: Writable; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, lines: () => chunks.join('').trim().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes one JSON line per event with a label level, an ISO time, the message and the fields', () => {
    const out = capture();
    const log: Logger = createLogger({ stream: out.stream, service: 'kbs' });
    log.info('started');
    log.warn({ code: 'x', size: 3 }, 'refused');
    const [first, second] = out.lines();
    expect(first).toMatchObject({ level: 'info', service: 'kbs', msg: 'started' });
    expect(new Date(String(first?.['time'])).toISOString()).toBe(first?.['time']);
    expect(second).toMatchObject({ level: 'warn', code: 'x', size: 3, msg: 'refused' });
  });

  it('children carry their bindings (the request id) on every line', () => {
    const out = capture();
    const request = createLogger({ stream: out.stream }).child({ reqId: 'abc-1' });
    request.error('failed');
    request.child({ operation: 'query' }).info('done');
    expect(out.lines().map((line) => [line['reqId'], line['operation'], line['msg']])).toEqual([
      ['abc-1', undefined, 'failed'],
      ['abc-1', 'query', 'done'],
    ]);
  });

  it('honours the level and treats an unknown level as info', () => {
    const out = capture();
    createLogger({ stream: out.stream, level: 'warn' }).info('hidden');
    createLogger({ stream: out.stream, level: 'loud' }).debug('hidden too');
    createLogger({ stream: out.stream, level: 'loud' }).info('shown');
    expect(out.lines().map((line) => line['msg'])).toEqual(['shown']);
    expect(() => silentLogger.error('nothing')).not.toThrow();
  });
});
