/**
 * A Logger that keeps its lines in memory, for tests that assert what a component logs
 * (`recorder.messages('warn')`). Children share the parent's lines and add their bindings.
 */
import type { LogFields, Logger } from '../logger.ts';

export interface LogLine extends LogFields {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly msg: string;
}

export class RecordingLogger implements Logger {
  readonly lines: LogLine[];
  readonly #bindings: LogFields;

  constructor(bindings: LogFields = {}, lines: LogLine[] = []) {
    this.#bindings = bindings;
    this.lines = lines;
  }

  #write(level: LogLine['level'], fieldsOrMessage: LogFields | string, message?: string): void {
    const fields = typeof fieldsOrMessage === 'string' ? {} : fieldsOrMessage;
    const msg = typeof fieldsOrMessage === 'string' ? fieldsOrMessage : (message ?? '');
    this.lines.push({ ...this.#bindings, ...fields, level, msg });
  }

  debug = (fieldsOrMessage: LogFields | string, message?: string): void => this.#write('debug', fieldsOrMessage, message);
  info = (fieldsOrMessage: LogFields | string, message?: string): void => this.#write('info', fieldsOrMessage, message);
  warn = (fieldsOrMessage: LogFields | string, message?: string): void => this.#write('warn', fieldsOrMessage, message);
  error = (fieldsOrMessage: LogFields | string, message?: string): void => this.#write('error', fieldsOrMessage, message);

  child(bindings: LogFields): RecordingLogger {
    return new RecordingLogger({ ...this.#bindings, ...bindings }, this.lines);
  }

  bindings(): LogFields {
    return { ...this.#bindings };
  }

  /** The messages logged at `level`, in order. */
  messages(level: LogLine['level']): string[] {
    return this.lines.filter((line) => line.level === level).map((line) => line.msg);
  }
}
