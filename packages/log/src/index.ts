export { createLogger, requestIdOf, silentLogger, type CreateLoggerOptions, type LogFields, type LogFn, type Logger, type RootLogger } from './logger.ts';
export { MAX_REQUEST_ID_LENGTH, REQUEST_ID_HEADER, usableRequestId } from './requestId.ts';
