export { createLogger, requestIdOf, silentLogger, type CreateLoggerOptions, type LogFields, type LogFn, type Logger, type RootLogger } from './logger.ts';
