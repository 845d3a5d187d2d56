/**
 * js-libp2p 3 targets Node.js 22 and calls `Promise.withResolvers` (ES2024), which the Node.js 20
 * this project supports lacks (measured: libp2p's peer store throws "Promise.withResolvers is not
 * a function" on Node 20). Imported for its side effect before any libp2p module; on Node.js 22+
 * it does nothing. This is the only global the project touches, and only to add the standard
 * method with its standard behaviour.
 */
interface WithResolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const PromiseCtor = Promise as unknown as { withResolvers?: <T>() => WithResolvers<T> };
if (typeof PromiseCtor.withResolvers !== 'function') {
  PromiseCtor.withResolvers = function withResolvers<T>(): WithResolvers<T> {
    let resolve!: WithResolvers<T>['resolve'];
    let reject!: WithResolvers<T>['reject'];
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export {};
