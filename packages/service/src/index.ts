export * from './config.ts';
export * from './logger.ts';
export * from './http-errors.ts';
export * from './error-docs.ts';
export * from './backoff.ts';
export * from './keyfile.ts';
export * from './safe-path.ts';
export * from './service-loop.ts';
